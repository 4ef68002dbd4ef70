"""Reliability: how many times the reconciler started an incident again (a flow run that died, an
event Prefect made no run of), and why the last time, so that it gives up and escalates.

Revision ID: 0006
Revises: 0003 (the lead re-chains it after 0004 and 0005 at merge)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("recoveries", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("last_recovery", sa.Text()))


def downgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("last_recovery")
        batch.drop_column("recoveries")
