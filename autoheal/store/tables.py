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
    status: str = Field(default=IncidentStatus.OPEN, max_length=16)
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
    resolved_at: datetime | None = None
    mttr_seconds: float | None = None
    outcome: str | None = None


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
