"""Throw-away PostgreSQL databases and a clean environment, for the end-to-end tests and the
benchmarks: each run gets fresh databases for Prefect and the store, dropped when it ends."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text

from autoheal import services
from autoheal.settings import get_settings

ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
CLOUD_AND_APP_VARIABLES = ("DATABRICKS_", "ARM_", "AZURE_", "AUTOHEAL_", "PREFECT_")


@contextmanager
def scratch_databases(prefix: str, admin_url: str = ADMIN_URL) -> Iterator[tuple[str, str]]:
    """(Prefect's database URL, the store's) on two new databases ``<prefix>_prefect_<id>`` and
    ``<prefix>_store_<id>``; both are dropped on exit, even with connections still open."""
    suffix = uuid.uuid4().hex[:8]
    names = [f"{prefix}_prefect_{suffix}", f"{prefix}_store_{suffix}"]
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    base = admin_url.rsplit("/", 1)[0].split("://", 1)[1]
    try:
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield f"postgresql+asyncpg://{base}/{names[0]}", f"postgresql://{base}/{names[1]}"
    finally:
        services.reset()  # the store's pool points at the database about to go
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def clean_environment() -> Iterator[None]:
    """No cloud, autoheal or Prefect variable of the caller's leaks in; all are restored on exit."""
    saved = dict(os.environ)
    for key in list(os.environ):
        if key.startswith(CLOUD_AND_APP_VARIABLES):
            del os.environ[key]
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
        get_settings.cache_clear()
        services.reset()
