"""The first tables: incidents, remediation attempts, rejected payloads, ignored alerts.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("fingerprint", sa.String(512), nullable=False),
        sa.Column("lineage", sa.String(512)),
        sa.Column("service", sa.String(16), nullable=False),
        sa.Column("resource", sa.String(512), nullable=False),
        sa.Column("run_id", sa.String(256)),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("error_code", sa.String(256)),
        sa.Column("message", sa.Text()),
        sa.Column("error_type", sa.String(64)),
        sa.Column("remediable", sa.Boolean()),
        sa.Column("classifier", sa.String(32)),
        sa.Column("rule", sa.String(64)),
        sa.Column("confidence", sa.Float()),
        sa.Column("decision", sa.String(16)),
        sa.Column("decision_reason", sa.Text()),
        sa.Column("playbook", sa.String(64)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("duplicates", sa.Integer(), nullable=False),
        sa.Column("failed_at", sa.DateTime(timezone=True)),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True)),
        sa.Column("mttr_seconds", sa.Float()),
        sa.Column("flow_run_id", sa.String(64)),
        sa.Column("outcome", sa.Text()),
        sa.Column("alert_json", sa.Text(), nullable=False),
        sa.Column("raw_payload", sa.Text()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("fingerprint", name="uq_incidents_fingerprint"),
    )
    op.create_index("ix_incidents_lineage", "incidents", ["lineage"])
    op.create_index("ix_incidents_status", "incidents", ["status"])
    op.create_table(
        "remediation_attempts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("incident_id", sa.Integer(), sa.ForeignKey("incidents.id"), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("playbook", sa.String(64), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True)),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("created_ids", sa.Text()),
        sa.Column("detail", sa.Text()),
        sa.Column("flow_run_id", sa.String(64)),
        sa.Column("task_run_id", sa.String(64)),
        sa.Column("requested_by", sa.String(128)),
        sa.UniqueConstraint("incident_id", "number", name="uq_attempts_incident_number"),
    )
    op.create_index("ix_remediation_attempts_incident_id", "remediation_attempts", ["incident_id"])
    op.create_table(
        "rejected_payloads",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("field", sa.String(256)),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
    )
    op.create_table(
        "ignored_alerts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("shape", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("alert_json", sa.Text(), nullable=False),
        sa.Column("raw_payload", sa.Text()),
    )


def downgrade() -> None:
    op.drop_table("ignored_alerts")
    op.drop_table("rejected_payloads")
    op.drop_index("ix_remediation_attempts_incident_id", "remediation_attempts")
    op.drop_table("remediation_attempts")
    op.drop_index("ix_incidents_status", "incidents")
    op.drop_index("ix_incidents_lineage", "incidents")
    op.drop_table("incidents")
