"""The normalized alert: one failed (or resolved, or succeeded) ADF pipeline run, Databricks job
run or cluster, whatever shape it arrived in."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

Service = Literal["adf", "databricks"]
Kind = Literal["failure", "resolved", "success"]


class PayloadError(ValueError):
    """A payload we cannot use. ``field`` names what is missing or wrong; the payload is kept."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class Alert(BaseModel):
    """What failed, where, and what the sender already told us about why."""

    source: Literal["azure-monitor", "databricks", "manual", "sweep"]
    service: Service
    kind: Kind = "failure"
    # ADF
    subscription_id: str | None = None
    resource_group: str | None = None
    factory: str | None = None
    pipeline: str | None = None
    activity: str | None = None
    # Databricks
    workspace_id: str | None = None
    job_id: str | None = None
    job_name: str | None = None
    task_key: str | None = None
    cluster_id: str | None = None
    # Both
    run_id: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    failure_type: str | None = None
    failed_at: datetime | None = None
    fired_at: datetime | None = None
    alert_rule: str | None = None
    alert_id: str | None = None
    needs_lookup: bool = Field(False, description="a metric alert: the failed runs must be looked up")
    window_start: datetime | None = None
    window_end: datetime | None = None

    @property
    def resource(self) -> str:
        """What failed, as a path: ``factory/pipeline``, ``jobs/<id>`` or ``clusters/<id>``."""
        if self.service == "adf":
            return f"{self.factory or '-'}/{self.pipeline or '-'}"
        if self.job_id:
            return f"jobs/{self.job_id}"
        return f"clusters/{self.cluster_id or '-'}"

    @property
    def run_key(self) -> str:
        if self.run_id:
            return self.run_id
        if self.needs_lookup:
            return f"lookup:{self.alert_id or ''}:{self.window_end.isoformat() if self.window_end else ''}"
        if self.failed_at:
            return f"at:{self.failed_at.isoformat()}"
        return f"alert:{self.alert_id or ''}"

    @property
    def fingerprint(self) -> str:
        """(service, resource, run): the same failure reported twice, by any sender, has one fingerprint."""
        return f"{self.service}:{self.resource.lower()}:{self.run_key.lower()}"

    @property
    def event_id(self) -> str:
        """A UUID derived from the fingerprint, so a re-sent alert makes the same Prefect event."""
        digest = hashlib.sha256(self.fingerprint.encode()).hexdigest()
        return f"{digest[:8]}-{digest[8:12]}-5{digest[13:16]}-8{digest[17:20]}-{digest[20:32]}"

    def label(self) -> str:
        """A short human name: for flow run names and tables."""
        return f"{self.service}-{self.resource.replace('/', '-')}-{self.run_id or 'lookup'}"[:120]


class Parsed(BaseModel):
    """What a payload held: alerts to act on, and anything recorded but not acted on, with why."""

    shape: str
    alerts: list[Alert] = Field(default_factory=list)
    ignored: str | None = None
    raw: dict[str, Any] = Field(default_factory=dict, exclude=True)
