"""People: the Jira ticket of an incident (its key, the last error, the duplicates it was told about)
and the notifications sent, held or failed per channel (one message per incident and kind; the
per-channel rate limit counts them).

Revision ID: 0005
Revises: 0003 (the lead re-chains it at merge)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("ticket_key", sa.String(length=64)))
        batch.add_column(sa.Column("ticket_error", sa.Text()))
        batch.add_column(sa.Column("ticket_duplicates", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("incident_id", sa.Integer(), sa.ForeignKey("incidents.id"), nullable=True),
        sa.Column("channel", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
        sa.Column("error", sa.Text()),
        sa.Column("summary_id", sa.Integer()),
        sa.UniqueConstraint("key", "channel", "kind", name="uq_notifications_key_channel_kind"),
    )
    op.create_index("ix_notifications_channel_created", "notifications", ["channel", "created_at"])
    op.create_index("ix_notifications_incident", "notifications", ["incident_id"])


def downgrade() -> None:
    op.drop_index("ix_notifications_incident", "notifications")
    op.drop_index("ix_notifications_channel_created", "notifications")
    op.drop_table("notifications")
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("ticket_duplicates")
        batch.drop_column("ticket_error")
        batch.drop_column("ticket_key")
