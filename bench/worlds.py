"""The sandbox worlds the end-to-end benchmarks run in, and the alerts their failures produce."""

from __future__ import annotations

import os
import time
import uuid
from typing import Any

import httpx

from autoheal.app.demo import DEMO_SETTINGS, TERMINAL
from autoheal.store.store import Store
from sandbox import Sandbox
from sandbox.scenario import (
    ActivityError,
    ActivitySpec,
    AdfSpec,
    ClusterSpec,
    DatabricksSpec,
    FactorySpec,
    JobRunStart,
    JobSpec,
    PipelineRunStart,
    PipelineSpec,
    Scenario,
    TaskSpec,
    TerminationReason,
)

# Catalog delays scaled to zero, polls short: the benchmarks time autoheal, not the catalog's waits.
SETTINGS = {
    **DEMO_SETTINGS,
    "AUTOHEAL_DELAY_SCALE": "0",
    "AUTOHEAL_POLL_INTERVAL_SECONDS": "0.05",
    **({"AUTOHEAL_RUNNER_LIMIT": os.environ["BENCH_RUNNER_LIMIT"]} if "BENCH_RUNNER_LIMIT" in os.environ else {}),
}
GATEWAY_TIMEOUT = ActivityError(
    errorCode="2108",
    failureType="SystemError",
    message="Error calling the endpoint 'https://api.partner.example.com/orders'. Response status code: "
    "'GatewayTimeout'. More details: Exception message: 'NA - Unknown [ClientSideException] The operation "
    "has timed out.'",
)


def dead_clusters(*, clusters: int, runs_per_cluster: int, adf_runs: int = 0) -> Scenario:
    """``clusters`` shared clusters that the cloud shut down, each with ``runs_per_cluster`` failed job
    runs on it, plus ``adf_runs`` pipelines whose copy timed out once. Fresh run ids every call."""
    cluster_ids = [f"1129-000000-storm{c:03d}" for c in range(clusters)]
    jobs = [
        JobSpec(
            job_id=1000 + c * runs_per_cluster + j,
            name=f"nightly-{c}-{j}",
            tasks=[TaskSpec(task_key="main", existing_cluster_id=cluster_ids[c], duration_seconds=30)],
        )
        for c in range(clusters)
        for j in range(runs_per_cluster)
    ]
    pipelines = [
        PipelineSpec(
            name=f"CopySales{p:03d}",
            activities=[
                ActivitySpec(name="LookupWatermark", type="Lookup", duration_seconds=20),
                ActivitySpec(name="CopyOrders", duration_seconds=60, fail_times=1, error=GATEWAY_TIMEOUT),
            ],
        )
        for p in range(adf_runs)
    ]
    return Scenario(
        name="storm",
        databricks=DatabricksSpec(
            first_id=1_000_000 * (2 + uuid.uuid4().int % 1000),
            clusters=[
                ClusterSpec(
                    cluster_id=cid,
                    cluster_name=f"shared-{n}",
                    state="TERMINATED",
                    termination_reason=TerminationReason(code="CLOUD_PROVIDER_SHUTDOWN"),
                    start_seconds=120,
                )
                for n, cid in enumerate(cluster_ids)
            ],
            jobs=jobs,
            runs=[JobRunStart(job_id=job.job_id) for job in jobs],
        ),
        adf=AdfSpec(
            run_id_seed=uuid.uuid4().hex,
            factories=[FactorySpec(name="adf-sales", pipelines=pipelines)] if pipelines else [],
            runs=[PipelineRunStart(factory="adf-sales", pipeline=p.name) for p in pipelines],
        ),
    )


def alerts(sandbox: Sandbox) -> list[tuple[str, dict[str, Any]]]:
    """One (path, payload) per failed run in the sandbox, as the services would send them."""
    out: list[tuple[str, dict[str, Any]]] = []
    with sandbox.state.lock:
        runs = list(sandbox.state.workspace.runs.values())
        factories = list(sandbox.state.adf.factories.values())
    for run in runs:
        body = {"event_type": "jobs.on_failure", "workspace_id": "1", "run": {"run_id": run.run_id}}
        out.append(("/alerts/databricks", {**body, "job": {"job_id": run.job.spec.job_id}}))
    for factory in factories:
        for adf_run in factory.runs.values():
            if adf_run.status != "Failed":
                continue
            properties = {
                "PipelineName": adf_run.pipeline.spec.name,
                "RunId": adf_run.run_id,
                "FactoryName": factory.spec.name,
                "ResourceGroup": factory.spec.resource_group,
            }
            data = {
                "essentials": {"alertRule": "adf-failed", "monitorCondition": "Fired"},
                "alertContext": {"properties": properties},
            }
            out.append(("/alerts/azure-monitor", {"data": data}))
    return out


def post(client: httpx.Client, path: str, payload: dict[str, Any]) -> httpx.Response:
    return client.post(path, json=payload)


def wait_terminal(store: Store, incident_ids: list[int], *, timeout: float, poll: float = 0.05) -> bool:
    """True once every incident is in a terminal state; False at the timeout."""
    pending = set(incident_ids)
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        pending = {i for i in pending if (row := store.get(i)) is None or row.status not in TERMINAL}
        if pending:
            time.sleep(poll)
    return not pending


def first_action(calls: list[dict[str, Any]], since: float) -> float | None:
    """The time of the first state-changing service call at or after ``since`` (ADF's run queries are
    POSTs too, but they only read)."""
    for call in calls:
        if call["at"] >= since and call["method"] == "POST" and "query" not in call["path"].lower():
            return float(call["at"])
    return None
