"""Outbox and re-runs: when an incident's event reached Prefect, and who asked for a manual re-run.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("event_sent_at", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("event_attempts", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("last_event_error", sa.Text()))
    op.create_index("ix_incidents_outbox", "incidents", ["status", "event_sent_at"])


def downgrade() -> None:
    op.drop_index("ix_incidents_outbox", "incidents")
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("last_event_error")
        batch.drop_column("event_attempts")
        batch.drop_column("event_sent_at")
