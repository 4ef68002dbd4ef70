"""Fidelity of the answers to every call the playbooks make, through the real databricks-sdk client.

For each call the raw JSON is checked against the SDK's response dataclass: every key is one the
SDK knows (it drops unknown keys and turns unknown enum values into None without a word, so a
misspelt field or state would pass unnoticed), and every field the REST reference always returns
for that answer is there. Then the state-machine rules the playbooks rely on.
"""

from __future__ import annotations

import dataclasses
import enum
import typing
from typing import Any

import pytest
from databricks.sdk.errors import InvalidParameterValue, InvalidState
from databricks.sdk.service import compute, jobs

from tests.integration.test_playbook_databricks import CLUSTER, failed_run

PYPI = {"pypi": {"package": "pandas==2.1.0"}}


def _unwrap(tp: Any) -> Any:
    """Optional[X] -> X."""
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    return args[0] if typing.get_origin(tp) is typing.Union and len(args) == 1 else tp


def unknown(data: Any, cls: Any, where: str = "") -> list[str]:
    """Keys and enum values in ``data`` that the SDK's ``cls`` does not know, recursively."""
    cls = _unwrap(cls)
    origin = typing.get_origin(cls)
    if origin is list:
        return [p for i, item in enumerate(data) for p in unknown(item, typing.get_args(cls)[0], f"{where}[{i}]")]
    if origin is dict:
        return [p for k, v in data.items() for p in unknown(v, typing.get_args(cls)[1], f"{where}.{k}")]
    if isinstance(cls, type) and issubclass(cls, enum.Enum):
        return [] if data in {m.value for m in cls} else [f"{where}={data!r} (not a {cls.__name__})"]
    if dataclasses.is_dataclass(cls):
        hints = typing.get_type_hints(cls)
        out = []
        for key, value in data.items():
            if key not in hints:
                out.append(f"{where}.{key} (not in {cls.__name__})")
            elif value is not None:
                out.extend(unknown(value, hints[key], f"{where}.{key}"))
        return out
    return []


def missing(data: dict[str, Any], required: list[str]) -> list[str]:
    """Dotted paths (``a.b``; ``a[].b`` for each item of a list) absent from ``data``."""
    out = []
    for path in required:
        nodes: list[Any] = [data]
        for part in path.split("."):
            many = part.endswith("[]")
            name = part.removesuffix("[]")
            nxt: list[Any] = []
            for node in nodes:
                if not isinstance(node, dict) or name not in node:
                    out.append(path)
                    nxt = []
                    break
                nxt.extend(node[name] if many else [node[name]])
            nodes = nxt
            if not nodes:
                break
    return sorted(set(out))


def check(raw: dict[str, Any], cls: Any, required: list[str]) -> Any:
    assert unknown(raw, cls) == []
    assert missing(raw, required) == []
    return cls.from_dict(raw)


CLUSTER_FIELDS = [
    "cluster_id",
    "cluster_name",
    "spark_version",
    "node_type_id",
    "driver_node_type_id",
    "state",
    "state_message",
    "start_time",
    "creator_user_name",
    "cluster_source",
    "default_tags",
]
TERMINATED_FIELDS = [
    "terminated_time",
    "termination_reason.code",
    "termination_reason.type",
    "termination_reason.parameters",
]
EVENT_FIELDS = ["events[].cluster_id", "events[].timestamp", "events[].type", "events[].details", "total_count"]
STATE = ["life_cycle_state", "state_message", "user_cancelled_or_timedout"]
RUN_FIELDS = [
    "job_id",
    "run_id",
    "number_in_job",
    "original_attempt_run_id",
    "run_name",
    "creator_user_name",
    "run_type",
    "trigger",
    "start_time",
    "end_time",
    "setup_duration",
    "execution_duration",
    "cleanup_duration",
    "run_duration",
    "run_page_url",
    "status.state",
    *(f"state.{k}" for k in STATE),
]
TERMINAL_RUN_FIELDS = ["state.result_state", "status.termination_details.code", "status.termination_details.type"]
TASK_FIELDS = [
    "tasks[].run_id",
    "tasks[].task_key",
    "tasks[].attempt_number",
    "tasks[].start_time",
    "tasks[].end_time",
    "tasks[].setup_duration",
    "tasks[].execution_duration",
    "tasks[].cleanup_duration",
    "tasks[].existing_cluster_id",
    "tasks[].cluster_instance.cluster_id",
    "tasks[].depends_on",
    *(f"tasks[].state.{k}" for k in STATE),
]


def test_cluster_calls(load: Any, dbx: Any) -> None:
    sb = load("cluster-unexpected-termination")
    sb.state.clock.freeze()
    api = dbx.api_client
    got = check(
        api.do("GET", "/api/2.1/clusters/get", query={"cluster_id": CLUSTER}),
        compute.ClusterDetails,
        [*CLUSTER_FIELDS, "num_workers", *TERMINATED_FIELDS],
    )
    assert got.state == compute.State.TERMINATED and got.termination_reason.code is not None
    events = api.do("POST", "/api/2.1/clusters/events", body={"cluster_id": CLUSTER})
    assert check(events, compute.GetEventsResponse, EVENT_FIELDS).events
    assert api.do("POST", "/api/2.1/clusters/start", body={"cluster_id": CLUSTER}) == {}
    sb.state.clock.advance(240)
    running = api.do("GET", "/api/2.1/clusters/get", query={"cluster_id": CLUSTER})
    check(running, compute.ClusterDetails, CLUSTER_FIELDS)
    assert "termination_reason" not in running and "terminated_time" not in running
    assert api.do("POST", "/api/2.1/clusters/restart", body={"cluster_id": CLUSTER}) == {}
    sb.state.clock.advance(180)
    assert api.do("POST", "/api/2.1/clusters/resize", body={"cluster_id": CLUSTER, "num_workers": 3}) == {}
    sb.state.clock.advance(60)
    edit = {
        "cluster_id": CLUSTER,
        "spark_version": got.spark_version,
        "autoscale": {"min_workers": 1, "max_workers": 4},
    }
    assert api.do("POST", "/api/2.1/clusters/edit", body=edit) == {}
    sb.state.clock.advance(180)
    scaled = check(
        api.do("GET", "/api/2.1/clusters/get", query={"cluster_id": CLUSTER}),
        compute.ClusterDetails,
        [*CLUSTER_FIELDS, "autoscale.min_workers", "autoscale.max_workers"],
    )
    assert scaled.state == compute.State.RUNNING and scaled.autoscale.max_workers == 4
    # Every event the sandbox logged for all that parses to a known type, with known details.
    events = api.do("POST", "/api/2.1/clusters/events", body={"cluster_id": CLUSTER, "limit": 500})
    types = [e.type for e in check(events, compute.GetEventsResponse, EVENT_FIELDS).events]
    assert None not in types and compute.EventType.UPSIZE_COMPLETED in types and compute.EventType.EDITED in types
    # And through the SDK's own typed calls.
    assert dbx.clusters.get(CLUSTER).cluster_id == CLUSTER
    assert all(e.type is not None for e in dbx.clusters.events(CLUSTER))


def test_cluster_event_pages(load: Any, dbx: Any) -> None:
    load("driver-not-responding")
    page = dbx.api_client.do("POST", "/api/2.1/clusters/events", body={"cluster_id": CLUSTER, "limit": 2})
    check(page, compute.GetEventsResponse, [*EVENT_FIELDS, "next_page.cluster_id", "next_page.offset"])
    assert len(page["events"]) == 2 and page["total_count"] > 2


def test_library_calls(load: Any, dbx: Any) -> None:
    load("library-install-failure")
    api = dbx.api_client
    required = [
        "cluster_id",
        "library_statuses[].library",
        "library_statuses[].status",
        "library_statuses[].is_library_for_all_clusters",
    ]
    status = api.do("GET", "/api/2.0/libraries/cluster-status", query={"cluster_id": CLUSTER})
    parsed = check(status, compute.ClusterLibraryStatuses, [*required, "library_statuses[].messages"])
    assert parsed.library_statuses[0].status == compute.LibraryInstallStatus.FAILED
    assert api.do("POST", "/api/2.0/libraries/install", body={"cluster_id": CLUSTER, "libraries": [PYPI]}) == {}
    assert api.do("POST", "/api/2.0/libraries/uninstall", body={"cluster_id": CLUSTER, "libraries": [PYPI]}) == {}
    status = api.do("GET", "/api/2.0/libraries/cluster-status", query={"cluster_id": CLUSTER})
    assert {s.status for s in check(status, compute.ClusterLibraryStatuses, required).library_statuses} == {
        compute.LibraryInstallStatus.FAILED,
        compute.LibraryInstallStatus.UNINSTALL_ON_RESTART,
    }
    assert list(dbx.libraries.cluster_status(CLUSTER))


def test_job_and_run_calls(load: Any, dbx: Any) -> None:
    sb = load("cluster-unexpected-termination")
    run_id = failed_run(sb)
    api = dbx.api_client
    job = check(
        api.do("GET", "/api/2.2/jobs/get", query={"job_id": 101}),
        jobs.Job,
        ["job_id", "creator_user_name", "created_time", "settings.name", "settings.tasks[].task_key"],
    )
    assert job.settings.tasks[0].existing_cluster_id == CLUSTER
    raw = api.do("GET", "/api/2.2/jobs/runs/get", query={"run_id": run_id, "include_history": "true"})
    run = check(raw, jobs.Run, [*RUN_FIELDS, *TERMINAL_RUN_FIELDS, *TASK_FIELDS, "repair_history[].type"])
    assert run.state.result_state == jobs.RunResultState.FAILED
    failed_task = run.tasks[0]
    output = api.do("GET", "/api/2.2/jobs/runs/get-output", query={"run_id": failed_task.run_id})
    out = check(output, jobs.RunOutput, ["metadata.run_id", "metadata.state.life_cycle_state", "error"])
    assert out.metadata.run_id == failed_task.run_id and out.metadata.tasks[0].task_key == "ingest"
    listing = api.do("GET", "/api/2.2/jobs/runs/list", query={"job_id": 101})
    check(listing, jobs.ListRunsResponse, ["has_more", *(f"runs[].{f}" for f in RUN_FIELDS)])
    # Repair, once the cluster is back.
    sb.state.clock.freeze()
    dbx.clusters.start(CLUSTER)
    sb.state.clock.advance(240)
    repaired = api.do("POST", "/api/2.2/jobs/runs/repair", body={"run_id": run_id, "rerun_all_failed_tasks": True})
    repair_id = check(repaired, jobs.RepairRunResponse, ["repair_id"]).repair_id
    raw = api.do("GET", "/api/2.2/jobs/runs/get", query={"run_id": run_id, "include_history": "true"})
    history = check(raw, jobs.Run, [*RUN_FIELDS, "repair_history[].type", "repair_history[].start_time"]).repair_history
    assert [(h.type, h.id) for h in history][-1] == (jobs.RepairHistoryItemType.REPAIR, repair_id)
    # run-now, then cancel while it runs.
    started = check(
        api.do("POST", "/api/2.2/jobs/run-now", body={"job_id": 101}), jobs.RunNowResponse, ["run_id", "number_in_job"]
    )
    sb.state.clock.advance(10)
    assert api.do("POST", "/api/2.2/jobs/runs/cancel", body={"run_id": started.run_id}) == {}
    cancelled = api.do("GET", "/api/2.2/jobs/runs/get", query={"run_id": started.run_id})
    assert check(cancelled, jobs.Run, [*RUN_FIELDS, *TERMINAL_RUN_FIELDS]).state.result_state == (
        jobs.RunResultState.CANCELED
    )


def test_state_machine_rules(load: Any, dbx: Any) -> None:
    sb = load("cluster-unexpected-termination")
    run_id = failed_run(sb)
    sb.state.clock.freeze()
    http = dbx.api_client
    # resize needs RUNNING
    with pytest.raises(InvalidState) as info:
        http.do("POST", "/api/2.1/clusters/resize", body={"cluster_id": CLUSTER, "num_workers": 4})
    assert info.value.error_code == "INVALID_STATE"
    dbx.clusters.start(CLUSTER)
    # start needs TERMINATED: 400 INVALID_STATE while PENDING and when RUNNING
    for advance in (0, 240):
        sb.state.clock.advance(advance)
        with pytest.raises(InvalidState) as info:
            dbx.clusters.start(CLUSTER)
        assert info.value.error_code == "INVALID_STATE"
        assert sb.state.journal and sb.state.journal[-1].path == "/api/2.1/clusters/start"
    # repair needs latest_repair_id once the run has been repaired
    first = dbx.jobs.repair_run(run_id, rerun_all_failed_tasks=True).response.repair_id
    sb.state.clock.advance(5 + 120 + 300 + 60 + 1)
    assert dbx.jobs.get_run(run_id).state.result_state == jobs.RunResultState.SUCCESS
    sb.state.workspace.jobs[101].spec.tasks[2].fail_times = 1
    dbx.jobs.repair_run(run_id, rerun_tasks=["publish"], latest_repair_id=first)
    sb.state.clock.advance(5 + 60 + 1)
    assert dbx.jobs.get_run(run_id).state.result_state == jobs.RunResultState.FAILED
    with pytest.raises(InvalidParameterValue, match="latest_repair_id"):
        dbx.jobs.repair_run(run_id, rerun_all_failed_tasks=True, latest_repair_id=first)
    # cancel of a run that has terminated is a no-op: it keeps its result
    dbx.jobs.cancel_run(run_id)
    assert dbx.jobs.get_run(run_id).state.result_state == jobs.RunResultState.FAILED


def test_the_checks_catch_what_the_sdk_would_swallow() -> None:
    assert unknown({"state": "TERMINATD"}, compute.ClusterDetails) == [".state='TERMINATD' (not a State)"]
    assert unknown({"clusterId": "x"}, compute.ClusterDetails) == [".clusterId (not in ClusterDetails)"]
    assert unknown({"events": [{"type": "TERMINATED"}]}, compute.GetEventsResponse) == [
        ".events[0].type='TERMINATED' (not a EventType)"
    ]
    assert missing({"tasks": [{"run_id": 1}, {}]}, ["tasks[].run_id", "state.result_state"]) == [
        "state.result_state",
        "tasks[].run_id",
    ]
