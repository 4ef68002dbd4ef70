"""Root-cause analysis: the model's analysis of an incident (redacted JSON), and which of the rules
and the model decided.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("analysis", sa.Text()))
        batch.add_column(sa.Column("decided_by", sa.String(length=16)))


def downgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("decided_by")
        batch.drop_column("analysis")
