"""Alembic environment: autoheal's store runs migrations itself (Store.migrate), with its own connection."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import autoheal.store.tables  # noqa: F401  (registers the tables on SQLModel.metadata)

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through autoheal.store.store.Store.migrate(), which passes a connection")
context.configure(connection=connection, target_metadata=SQLModel.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
