"""The audit trail's tables. Schema changes go through Alembic (autoheal/store/migrations)."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import ConfigDict
from sqlalchemy import Column, DateTime, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from autoheal.domain.values import IncidentStatus


def utcnow() -> datetime:
    return datetime.now(UTC)


class Incident(SQLModel, table=True):
    """One failure, however many times it was reported."""

    __tablename__ = "incidents"
    __table_args__ = (
        UniqueConstraint("fingerprint", name="uq_incidents_fingerprint"),
        Index("ix_incidents_lineage", "lineage"),
        Index("ix_incidents_status", "status"),
        Index("ix_incidents_outbox", "status", "event_sent_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    fingerprint: str = Field(max_length=512)
    lineage: str | None = Field(default=None, max_length=512, description="the run and its reruns share it")
    service: str = Field(max_length=16)
    resource: str = Field(max_length=512)
    run_id: str | None = Field(default=None, max_length=256)
    source: str = Field(max_length=32)
    error_code: str | None = Field(default=None, max_length=256)
    message: str | None = Field(default=None, sa_column=Column(Text))
    error_type: str | None = Field(default=None, max_length=64)
    remediable: bool | None = None
    classifier: str | None = Field(default=None, max_length=32)
    rule: str | None = Field(default=None, max_length=64)
    confidence: float | None = None
    decision: str | None = Field(default=None, max_length=16)
    decision_reason: str | None = Field(default=None, sa_column=Column(Text))
    playbook: str | None = Field(default=None, max_length=64)
    status: str = Field(default=IncidentStatus.OPEN, max_length=32)
    attempts: int = 0
    duplicates: int = 0
    failed_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    received_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    resolved_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    mttr_seconds: float | None = None
    flow_run_id: str | None = Field(default=None, max_length=64)
    outcome: str | None = Field(default=None, sa_column=Column(Text))
    analysis: str | None = Field(default=None, sa_column=Column(Text), description="the model's RCA, redacted JSON")
    decided_by: str | None = Field(default=None, max_length=16, description="rules, or model (a suggestion)")
    alert_json: str = Field(sa_column=Column(Text, nullable=False))
    raw_payload: str | None = Field(default=None, sa_column=Column(Text))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    # The outbox: a received alert's event is sent to Prefect until it gets there.
    event_sent_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    event_attempts: int = 0
    last_event_error: str | None = Field(default=None, sa_column=Column(Text))
    # The rails (autoheal/domain/policy.py): the approval's deadline, and whether a verified fix held.
    approval_deadline: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    fix_held: bool | None = Field(default=None, description="False: the resource failed again the same way soon after")
    recurrence_of: int | None = Field(default=None, description="the earlier incident whose fix did not hold")
    # The Jira ticket of an escalated incident (tasks/ticket.py).
    ticket_key: str | None = Field(default=None, max_length=64)
    ticket_error: str | None = Field(default=None, sa_column=Column(Text))
    ticket_duplicates: int = Field(default=0, description="duplicates the ticket has been told about")
    # The reconciler (flows/reconcile.py): times it started this incident again, and why the last time.
    recoveries: int = 0
    last_recovery: str | None = Field(default=None, sa_column=Column(Text))


class IncidentChange(SQLModel):
    """The fields a step may change on an incident; only those it sets are written (Store.update)."""

    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]  # a misspelt field is an error

    lineage: str | None = None
    error_code: str | None = None
    message: str | None = None
    failed_at: datetime | None = None
    error_type: str | None = None
    remediable: bool | None = None
    classifier: str | None = None
    rule: str | None = None
    confidence: float | None = None
    decision: str | None = None
    decision_reason: str | None = None
    playbook: str | None = None
    decided_by: str | None = None
    analysis: str | None = None
    status: IncidentStatus | None = None
    approval_deadline: datetime | None = None
    fix_held: bool | None = None
    recurrence_of: int | None = None
    resolved_at: datetime | None = None
    mttr_seconds: float | None = None
    outcome: str | None = None
    ticket_key: str | None = None
    ticket_error: str | None = None
    ticket_duplicates: int | None = None


class RemediationAttempt(SQLModel, table=True):
    """One attempt of a playbook: the audit trail an auditor reads."""

    __tablename__ = "remediation_attempts"
    __table_args__ = (UniqueConstraint("incident_id", "number", name="uq_attempts_incident_number"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incidents.id", index=True)
    number: int
    playbook: str = Field(max_length=64)
    started_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    ended_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    outcome: str = Field(default="running", max_length=16)
    verified: bool = False
    created_ids: str | None = Field(default=None, sa_column=Column(Text))
    detail: str | None = Field(default=None, sa_column=Column(Text))
    flow_run_id: str | None = Field(default=None, max_length=64)
    task_run_id: str | None = Field(default=None, max_length=64)
    requested_by: str | None = Field(default=None, max_length=128)
    approved_by: str | None = Field(default=None, max_length=128)
    approval_comment: str | None = Field(default=None, sa_column=Column(Text))


class RejectedPayload(SQLModel, table=True):
    """A payload we could not use, kept whole (secrets redacted) with the reason."""

    __tablename__ = "rejected_payloads"

    id: int | None = Field(default=None, primary_key=True)
    received_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    source: str = Field(max_length=64)
    field: str | None = Field(default=None, max_length=256)
    reason: str = Field(sa_column=Column(Text, nullable=False))
    body: str = Field(sa_column=Column(Text, nullable=False))


class IgnoredAlert(SQLModel, table=True):
    """An alert recorded but not acted on: Resolved, on_success, a cluster that stopped normally."""

    __tablename__ = "ignored_alerts"

    id: int | None = Field(default=None, primary_key=True)
    received_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    shape: str = Field(max_length=64)
    reason: str = Field(sa_column=Column(Text, nullable=False))
    alert_json: str = Field(sa_column=Column(Text, nullable=False))
    raw_payload: str | None = Field(default=None, sa_column=Column(Text))


class ActionGrant(SQLModel, table=True):
    """One remediation allowed to act, counted against the resource's budget and the breaker."""

    __tablename__ = "action_grants"
    __table_args__ = (Index("ix_grants_resource_time", "resource", "granted_at"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incidents.id", index=True)
    resource: str = Field(max_length=512)
    playbook: str = Field(max_length=64)
    granted_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class Breaker(SQLModel, table=True):
    """The global circuit breaker: one row. Open while ``tripped_at`` is set and not reset."""

    __tablename__ = "breaker"

    id: int = Field(default=1, primary_key=True)
    tripped_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    reason: str | None = Field(default=None, sa_column=Column(Text))
    reset_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    reset_by: str | None = Field(default=None, max_length=128)
    checked_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class Approval(SQLModel, table=True):
    """The approval trail: requested, approved, rejected, refused (not an approver) or expired."""

    __tablename__ = "approvals"

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incidents.id", index=True)
    decision: str = Field(max_length=16)
    by: str | None = Field(default=None, max_length=128)
    comment: str | None = Field(default=None, sa_column=Column(Text))
    via: str | None = Field(default=None, max_length=16)
    at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class Notification(SQLModel, table=True):
    """One message to one channel about one thing (an incident's escalation or heal, a breaker trip,
    an approval waiting, a summary of held messages): sent, failed (with the error), or held by the
    channel's rate limit until a summary carries it."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("key", "channel", "kind", name="uq_notifications_key_channel_kind"),
        Index("ix_notifications_channel_created", "channel", "created_at"),
        Index("ix_notifications_incident", "incident_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=128, description="incident-<id>, breaker-<name>-<when>, summary-<id>")
    incident_id: int | None = Field(default=None, foreign_key="incidents.id")
    channel: str = Field(max_length=128)
    kind: str = Field(max_length=16)
    status: str = Field(default="pending", max_length=16)  # pending, sent, failed, held, summarized
    subject: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    sent_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    error: str | None = Field(default=None, sa_column=Column(Text))
    summary_id: int | None = None
