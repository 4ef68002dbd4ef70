"""The safety rails: approvals, action grants (budgets), the breaker, and whether a fix held.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.alter_column("status", type_=sa.String(length=32), existing_type=sa.String(length=16))
        batch.add_column(sa.Column("approval_deadline", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("fix_held", sa.Boolean()))
        batch.add_column(sa.Column("recurrence_of", sa.Integer()))
    with op.batch_alter_table("remediation_attempts") as batch:
        batch.add_column(sa.Column("approved_by", sa.String(length=128)))
        batch.add_column(sa.Column("approval_comment", sa.Text()))
    op.create_table(
        "action_grants",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("incident_id", sa.Integer(), sa.ForeignKey("incidents.id"), nullable=False),
        sa.Column("resource", sa.String(length=512), nullable=False),
        sa.Column("playbook", sa.String(length=64), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_action_grants_incident_id", "action_grants", ["incident_id"])
    op.create_index("ix_grants_resource_time", "action_grants", ["resource", "granted_at"])
    op.create_table(
        "breaker",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("tripped_at", sa.DateTime(timezone=True)),
        sa.Column("reason", sa.Text()),
        sa.Column("reset_at", sa.DateTime(timezone=True)),
        sa.Column("reset_by", sa.String(length=128)),
        sa.Column("checked_at", sa.DateTime(timezone=True)),
    )
    op.execute("INSERT INTO breaker (id) VALUES (1)")
    op.create_table(
        "approvals",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("incident_id", sa.Integer(), sa.ForeignKey("incidents.id"), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("by", sa.String(length=128)),
        sa.Column("comment", sa.Text()),
        sa.Column("via", sa.String(length=16)),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_approvals_incident_id", "approvals", ["incident_id"])


def downgrade() -> None:
    op.drop_table("approvals")
    op.drop_table("breaker")
    op.drop_table("action_grants")
    with op.batch_alter_table("remediation_attempts") as batch:
        batch.drop_column("approval_comment")
        batch.drop_column("approved_by")
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("recurrence_of")
        batch.drop_column("fix_held")
        batch.drop_column("approval_deadline")
        batch.alter_column("status", type_=sa.String(length=16), existing_type=sa.String(length=32))
