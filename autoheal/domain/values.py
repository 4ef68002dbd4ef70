"""The typed values that cross layers and task boundaries: what failed (:class:`Target`), what is
known about it (:class:`Facts`), and where its incident stands (:class:`IncidentStatus`)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field

from autoheal.domain.outcome import PermanentFailure
from autoheal.settings import Settings

Service = Literal["adf", "databricks"]

# How people write the two services' names, in files and options (``autoheal classify --jsonl``).
_SERVICE_NAMES: dict[str, Service] = {
    "adf": "adf",
    "azure data factory": "adf",
    "data factory": "adf",
    "datafactory": "adf",
    "databricks": "databricks",
    "azure databricks": "databricks",
    "dbx": "databricks",
}


def service_named(name: str) -> Service:
    """The service a name stands for ("ADF", "Azure Data Factory", "azure-databricks"); ValueError otherwise."""
    key = " ".join(name.replace("-", " ").replace("_", " ").lower().split())
    found = _SERVICE_NAMES.get(key)
    if found is None:
        raise ValueError(f"service {name!r}: expected adf or databricks")
    return found


class IncidentStatus(StrEnum):
    """Where an incident stands. Stored as its value; the first three are still being worked on."""

    RECEIVED = "received"  # stored by the receiver; no flow run has claimed it yet
    OPEN = "open"  # claimed by a flow run
    REMEDIATING = "remediating"  # a playbook attempt has started
    RESOLVED = "resolved"  # healed and verified
    ESCALATED = "escalated"  # a person must act
    SKIPPED = "skipped"  # mode off, or another incident handles the run
    DRY_RUN = "dry-run"  # would have remediated; never counted as a success
    AWAITING_APPROVAL = "awaiting-approval"  # the flow run is suspended until a person decides
    EXPANDED = "expanded"  # a metric alert, split into one incident per failed run

    @property
    def in_progress(self) -> bool:
        return self in IN_PROGRESS


IN_PROGRESS = frozenset({IncidentStatus.OPEN, IncidentStatus.REMEDIATING, IncidentStatus.AWAITING_APPROVAL})
TERMINAL = frozenset(
    {
        IncidentStatus.RESOLVED,
        IncidentStatus.ESCALATED,
        IncidentStatus.SKIPPED,
        IncidentStatus.DRY_RUN,
        IncidentStatus.EXPANDED,
    }
)


class Target(BaseModel):
    """What failed: an ADF pipeline run or a Databricks job run (or a cluster, for a cluster alert)."""

    service: Service
    run_id: str
    resource_group: str | None = None
    factory: str | None = None
    pipeline: str | None = None
    cluster_id: str | None = None
    failed_at_ms: int | None = None

    def require_adf(self, settings: Settings) -> tuple[str, str]:
        rg = self.resource_group or settings.adf_resource_group
        factory = self.factory or settings.adf_factory
        if not rg or not factory:
            raise PermanentFailure(
                f"ADF run {self.run_id}: resource group and factory are unknown "
                "(not in the alert, and AUTOHEAL_ADF_RESOURCE_GROUP/AUTOHEAL_ADF_FACTORY unset)"
            )
        return rg, factory

    def databricks_run_id(self) -> int:
        try:
            return int(self.run_id)
        except ValueError:
            raise PermanentFailure(f"Databricks run id {self.run_id!r} is not a number") from None


class Facts(BaseModel):
    """Everything classification and decision need, beyond the alert itself: what enrichment read
    from the service, or what the alert said when the service could not be asked.

    The structured signals come first for the classifier: the failed cluster's termination reason
    (code, type, parameters), the job run's termination details, the activity's errorCode,
    failureType and type; the text after them."""

    target: Target
    lineage: str
    error_code: str | None = None
    error_message: str | None = None
    failure_type: str | None = None  # ADF: UserError or SystemError
    activity_type: str | None = None  # ADF: Copy, DatabricksNotebook, AzureFunctionActivity, ...
    termination_code: str | None = None  # Databricks cluster: compute.TerminationReasonCode
    termination_type: str | None = None  # compute.TerminationReasonType
    termination_parameters: dict[str, str] = Field(default_factory=dict)
    run_termination_code: str | None = None  # Databricks run: jobs.TerminationCodeCode
    run_termination_type: str | None = None  # jobs.TerminationTypeType
    run_state: str | None = None
    failed_at: datetime | None = None
    details: list[dict[str, str]] = Field(default_factory=list)
    # Databricks job tags; ADF pipeline annotations (as keys) and "folder": for the policy's patterns.
    tags: dict[str, str] = Field(default_factory=dict)
    job_id: str | None = None
    job_name: str | None = None


class Remediation(BaseModel):
    """What one `remediate` flow run did: its incident's final status, or that it joined another."""

    incident_id: int
    status: IncidentStatus | None = None  # None when the run joined an incident another run handles
    duplicate: bool = False
    error_type: str | None = None
    decision: str | None = None
    children: list[Remediation] = Field(default_factory=list)  # a metric alert's runs, each its own incident


class Answer(BaseModel):
    """A person's answer to a request for approval (the form on the run page, or autoheal approve)."""

    approve: bool
    by: str = Field(min_length=1, max_length=128)
    comment: str = Field("", max_length=2000)
