"""The normalized alert: one failed (or resolved, or succeeded) ADF pipeline run, Databricks job
run or cluster, whatever shape it arrived in."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

Service = Literal["adf", "databricks"]

# The longest id or name an alert may carry, in characters, whatever the database (the store's
# columns are varchar(256) for run ids and varchar(512) for fingerprints and resources; a 200,000-
# character run id once got 202 on SQLite and 500 on PostgreSQL). Azure's own limits: a factory
# name 63, a pipeline or activity name 260, a resource group 90; Databricks ids are 64-bit integers
# or short strings. A parser refuses a longer value naming the field (autoheal/domain/parsers.py).
FIELD_LIMITS: dict[str, int] = {
    "factory": 63,
    "factoryname": 63,
    "datafactoryname": 63,
    "resource_group": 90,
    "resourcegroup": 90,
    "resourcegroupname": 90,
    "pipeline": 260,
    "pipelinename": 260,
    "name": 260,
    "activity": 260,
    "activityname": 260,
    "error_code": 128,
    "errorcode": 128,
    "error_message": 16 * 1024 * 1024,  # bounded by the body limit; cut only where it travels (events)
    "errormessage": 16 * 1024 * 1024,
    "*": 128,
}
FREE_TEXT = frozenset({"error_message", "errormessage"})  # fields that are prose, not ids or names
_ID = 128
_NAME = 260
_TEXT = 4096
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
    subscription_id: str | None = Field(None, max_length=_ID)
    resource_group: str | None = Field(None, max_length=90)
    factory: str | None = Field(None, max_length=63)
    pipeline: str | None = Field(None, max_length=_NAME)
    activity: str | None = Field(None, max_length=_NAME)
    # Databricks
    workspace_id: str | None = Field(None, max_length=_ID)
    job_id: str | None = Field(None, max_length=_ID)
    job_name: str | None = Field(None, max_length=_TEXT)
    task_key: str | None = Field(None, max_length=_NAME)
    cluster_id: str | None = Field(None, max_length=_ID)
    # Both
    run_id: str | None = Field(None, max_length=_ID)
    error_code: str | None = Field(None, max_length=128)
    error_message: str | None = None
    failure_type: str | None = Field(None, max_length=_ID)
    failed_at: datetime | None = None
    fired_at: datetime | None = None
    alert_rule: str | None = Field(None, max_length=_TEXT)
    alert_id: str | None = Field(None, max_length=_TEXT)
    needs_lookup: bool = Field(False, description="a metric alert: the failed runs must be looked up")
    message_chars: int | None = Field(
        None, description="set when error_message was cut to travel (an event, parameters): its whole length"
    )
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
            return f"lookup:{_bounded(self.alert_id)}:{self.window_end.isoformat() if self.window_end else ''}"
        if self.failed_at:
            return f"at:{self.failed_at.isoformat()}"
        return f"alert:{_bounded(self.alert_id)}"

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


def _bounded(text: str | None, limit: int = 160) -> str:
    """An alert id as it goes into a fingerprint: as is when short, else its digest (the fingerprint
    column holds 512 characters)."""
    if not text or len(text) <= limit:
        return text or ""
    return "sha256-" + hashlib.sha256(text.encode()).hexdigest()


class Parsed(BaseModel):
    """What a payload held: alerts to act on, and anything recorded but not acted on, with why."""

    shape: str
    alerts: list[Alert] = Field(default_factory=list)
    ignored: str | None = None
    raw: dict[str, Any] = Field(default_factory=dict, exclude=True)
