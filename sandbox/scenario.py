"""Scenarios as data: what exists in the emulated clouds and what fails, and how.

A scenario is a YAML or JSON file (see ``sandbox/scenarios/``) or the same
structure built in code. Durations are simulated seconds, shrunk by
``time_scale`` (real seconds per simulated second).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sandbox.faults import Fault

SCENARIO_DIR = Path(__file__).parent / "scenarios"


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TerminationReason(_Spec):
    code: str
    type: str = "CLOUD_FAILURE"
    parameters: dict[str, str] = Field(default_factory=dict)


class Autoscale(_Spec):
    min_workers: int
    max_workers: int


class ClusterActivity(_Spec):
    """What someone other than the playbook (a user, another job) does to a cluster, and when.

    The time is ``at_ms`` (epoch milliseconds) or else ``after_seconds`` (simulated, may be negative)
    after the activity is added: the scenario's load, or the call that adds it. One dated before it
    is added is history: its event is in the cluster's log and the declared state is what it led to.
    A later one is carried out when its time comes, if the cluster's state then allows it (a
    restart needs RUNNING, a start TERMINATED...), as the actor's own API call would be.
    """

    action: Literal["start", "restart", "terminate", "resize"]
    after_seconds: float = 0.0
    at_ms: int | None = None
    user: str = "someone-else@example.com"
    num_workers: int | None = Field(None, description="resize only: the new number of workers")


class ClusterActivityFor(ClusterActivity):
    """A :class:`ClusterActivity` with the cluster it is done to: the control API's body."""

    cluster_id: str


class ClusterSpec(_Spec):
    cluster_id: str
    cluster_name: str = "etl-cluster"
    spark_version: str = "14.3.x-scala2.12"
    node_type_id: str = "Standard_DS3_v2"
    num_workers: int = 2
    autoscale: Autoscale | None = None
    state: str = "RUNNING"
    termination_reason: TerminationReason | None = None
    driver_healthy: bool = True
    fail_starts: int = 0
    start_failure: TerminationReason = TerminationReason(
        code="CLOUD_PROVIDER_LAUNCH_FAILURE",
        type="CLOUD_FAILURE",
        parameters={
            "azure_error_code": "OperationNotAllowed",
            "azure_error_message": "Operation could not be completed as it results in exceeding "
            "approved Total Regional Cores quota.",
        },
    )
    start_seconds: float = 240
    restart_seconds: float = 180
    resize_seconds: float = 60
    install_seconds: float = 30
    libraries: list[dict[str, Any]] = Field(default_factory=list)
    activity: list[ClusterActivity] = Field(default_factory=list, description="what others do to the cluster")


class TaskSpec(_Spec):
    task_key: str
    existing_cluster_id: str | None = None
    notebook_path: str = "/Repos/etl/main"
    depends_on: list[str] = Field(default_factory=list)
    duration_seconds: float = 60
    timeout_seconds: int = 0
    min_workers: int = 0
    fail_times: int = 0
    error: str = "Exception: task failed"
    error_trace: str | None = None


class JobSpec(_Spec):
    job_id: int
    name: str = "etl-job"
    timeout_seconds: int = 0
    tasks: list[TaskSpec]
    tags: dict[str, str] = Field(default_factory=dict)  # settings.tags, as jobs/get answers them


class JobRunStart(_Spec):
    job_id: int


class DatabricksSpec(_Spec):
    token: str | None = None
    workspace_id: str = "4151327623847219"
    account_id: str = "7f3b2c1e-5d4a-4e8f-9b6c-2a1d0e9f8c7b"
    first_id: int = Field(1_000_001, description="run ids count up from here; vary it to get fresh ids")
    clusters: list[ClusterSpec] = Field(default_factory=list)
    jobs: list[JobSpec] = Field(default_factory=list)
    failing_libraries: dict[str, str] = Field(default_factory=dict)
    runs: list[JobRunStart] = Field(default_factory=list)


class ActivityError(_Spec):
    errorCode: str
    message: str
    failureType: str = "UserError"


class ActivitySpec(_Spec):
    name: str
    type: str = "Copy"
    duration_seconds: float = 30
    fail_times: int = 0
    error: ActivityError = ActivityError(
        errorCode="2108",
        message="Error calling the endpoint. Response status code: 'GatewayTimeout'.",
        failureType="SystemError",
    )
    requires_upstream: str | None = None
    missing_blob_error: ActivityError = ActivityError(
        errorCode="UserErrorSourceBlobNotExist",
        message="The required Blob is missing. ContainerName: https://stsales.blob.core.windows.net/raw, "
        "ContainerExist: True, BlobPrefix: sales/2026-11-29, BlobCount: 0.",
        failureType="UserError",
    )


class PipelineSpec(_Spec):
    name: str
    activities: list[ActivitySpec]
    annotations: list[str] = Field(default_factory=list)
    folder: str | None = None


class FactorySpec(_Spec):
    name: str
    resource_group: str = "rg-data"
    location: str = "westeurope"
    pipelines: list[PipelineSpec] = Field(default_factory=list)


class PipelineRunStart(_Spec):
    factory: str
    pipeline: str


class AdfSpec(_Spec):
    subscription_id: str = "00000000-0000-0000-0000-000000000001"
    token: str | None = None
    run_id_seed: str = Field("", description="run ids are GUIDs derived from this; vary it to get fresh ids")
    factories: list[FactorySpec] = Field(default_factory=list)
    runs: list[PipelineRunStart] = Field(default_factory=list)


class Scenario(_Spec):
    name: str = "empty"
    description: str = ""
    error_type: str | None = None
    time_scale: float = 1.0 / 6000
    databricks: DatabricksSpec = Field(default_factory=DatabricksSpec)
    adf: AdfSpec = Field(default_factory=AdfSpec)
    faults: list[Fault] = Field(default_factory=list)


class ScenarioError(ValueError):
    """A scenario file that cannot be read or does not fit the schema."""


def load_scenario(source: str | Path) -> Scenario:
    """Load a scenario by file path, or by the name of a bundled scenario."""
    path = Path(source)
    if not path.exists():
        bundled = SCENARIO_DIR / f"{source}.yaml"
        if not bundled.exists():
            names = ", ".join(bundled_scenarios())
            raise ScenarioError(f"no scenario file {source!r} and no bundled scenario of that name ({names})")
        path = bundled
    text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise ScenarioError(f"{path}: not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {exc}") from exc
    try:
        return Scenario.model_validate(data or {})
    except ValidationError as exc:
        raise ScenarioError(f"{path}: {exc}") from exc


def bundled_scenarios(*, single_type: bool = False) -> list[str]:
    """Names of the bundled scenarios; ``single_type``: only those that rehearse one error type."""
    names = sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml"))
    return [n for n in names if load_scenario(n).error_type] if single_type else names
