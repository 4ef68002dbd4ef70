"""The SDKs' own typed calls parse every sandbox answer, and its errors raise the SDKs' own classes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceNotFoundError
from azure.mgmt.datafactory.models import RunFilterParameters, RunQueryFilter
from databricks.sdk.errors import (
    InvalidParameterValue,
    InvalidState,
    PermissionDenied,
    ResourceDoesNotExist,
    Unauthenticated,
)
from databricks.sdk.service.compute import AutoScale, EventType, LibraryInstallStatus, State
from databricks.sdk.service.jobs import RunLifeCycleState, RunResultState
from pydantic import SecretStr

from autoheal.cloud.clients import adf_client, databricks_client
from autoheal.settings import Settings
from tests.conftest import FastClock, wait_until
from tests.integration.test_playbook_adf import FACTORY, RG
from tests.integration.test_playbook_adf import failed_run as adf_failed_run
from tests.integration.test_playbook_databricks import CLUSTER
from tests.integration.test_playbook_databricks import failed_run as dbx_failed_run


def window() -> RunFilterParameters:
    now = datetime.now(UTC)
    return RunFilterParameters(
        last_updated_after=now - timedelta(hours=1), last_updated_before=now + timedelta(hours=1)
    )


def test_clusters_parse_with_known_enums(load: Any, dbx: Any) -> None:
    sb = load("cluster-unexpected-termination")
    sb.state.clock.freeze()
    cluster = dbx.clusters.get(CLUSTER)
    assert cluster.state == State.TERMINATED
    assert cluster.termination_reason.code.value == "CLOUD_PROVIDER_SHUTDOWN"
    assert cluster.termination_reason.type.value == "CLOUD_FAILURE"
    assert cluster.num_workers == 2 and cluster.spark_version
    assert [c.cluster_id for c in dbx.clusters.list()] == [CLUSTER]
    dbx.clusters.start(CLUSTER)
    assert dbx.clusters.get(CLUSTER).state == State.PENDING
    sb.state.clock.advance(239)
    assert dbx.clusters.get(CLUSTER).state == State.PENDING
    sb.state.clock.advance(1)
    assert dbx.clusters.get(CLUSTER).state == State.RUNNING
    types = [e.type for e in dbx.clusters.events(CLUSTER)]
    assert types[:3] == [EventType.DRIVER_HEALTHY, EventType.RUNNING, EventType.STARTING]


def test_cluster_state_rules(load: Any, dbx: Any) -> None:
    sb = load("cluster-unexpected-termination")
    sb.state.clock.freeze()
    with pytest.raises(InvalidState, match="unexpected state Terminated"):
        dbx.clusters.resize(CLUSTER, num_workers=4)
    with pytest.raises(InvalidState):
        dbx.clusters.restart(CLUSTER)
    dbx.clusters.start(CLUSTER)
    with pytest.raises(InvalidState, match="unexpected state Pending"):
        dbx.clusters.start(CLUSTER)
    sb.state.clock.advance(240)
    with pytest.raises(InvalidState, match="unexpected state Running"):
        dbx.clusters.start(CLUSTER)
    dbx.clusters.resize(CLUSTER, autoscale=AutoScale(min_workers=2, max_workers=5))
    assert dbx.clusters.get(CLUSTER).state == State.RESIZING
    sb.state.clock.advance(60)
    assert dbx.clusters.get(CLUSTER).state == State.RUNNING
    assert dbx.clusters.get(CLUSTER).autoscale.max_workers == 5
    with pytest.raises(ResourceDoesNotExist, match="does not exist"):  # the SDK's override for this answer
        dbx.clusters.get("0000-000000-nothere")


def test_cluster_events_paginate(load: Any, dbx: Any) -> None:
    sb = load("driver-not-responding")
    seeded = len(sb.state.workspace.clusters[CLUSTER].events)
    for _ in range(30):
        with sb.state.lock:
            sb.state.workspace._event(sb.state.workspace.clusters[CLUSTER], "DRIVER_HEALTHY", 1.0)
    assert len(list(dbx.clusters.events(CLUSTER, limit=7))) == seeded + 30


def test_runs_tasks_output_and_repair_history(load: Any, dbx: Any) -> None:
    sb = load("cluster-unexpected-termination")
    run_id = dbx_failed_run(sb)
    run = dbx.jobs.get_run(run_id, include_history=True)
    assert run.state.life_cycle_state == RunLifeCycleState.TERMINATED
    assert run.state.result_state == RunResultState.FAILED
    assert {t.task_key: t.state.result_state for t in run.tasks} == {
        "ingest": RunResultState.FAILED,
        "transform": RunResultState.UPSTREAM_FAILED,
        "publish": RunResultState.UPSTREAM_FAILED,
    }
    assert run.tasks[0].existing_cluster_id == CLUSTER
    assert run.status.termination_details.code.value == "RUN_EXECUTION_ERROR"
    output = dbx.jobs.get_run_output(run.tasks[0].run_id)
    assert "was terminated" in output.error and output.metadata.run_id == run.tasks[0].run_id
    with pytest.raises(InvalidParameterValue, match="multiple tasks"):
        dbx.jobs.get_run_output(run_id)
    assert dbx.jobs.get(101).settings.tasks[1].depends_on[0].task_key == "ingest"
    assert [j.job_id for j in dbx.jobs.list()] == [101]
    assert [r.run_id for r in dbx.jobs.list_runs(job_id=101)] == [run_id]


def test_repair_rules(load: Any, dbx: Any) -> None:
    sb = load("cluster-unexpected-termination")
    run_id = dbx_failed_run(sb)
    sb.state.clock.freeze()
    dbx.clusters.start(CLUSTER)
    sb.state.clock.advance(240)
    first = dbx.jobs.repair_run(run_id, rerun_all_failed_tasks=True).response.repair_id
    assert dbx.jobs.get_run(run_id).state.life_cycle_state == RunLifeCycleState.PENDING
    with pytest.raises(InvalidState, match="cannot be repaired until it terminates"):
        dbx.jobs.repair_run(run_id, rerun_all_failed_tasks=True, latest_repair_id=first)
    sb.state.clock.advance(5 + 120)
    assert dbx.jobs.get_run(run_id).state.life_cycle_state == RunLifeCycleState.RUNNING
    sb.state.clock.advance(300 + 60)
    assert dbx.jobs.get_run(run_id).state.life_cycle_state == RunLifeCycleState.TERMINATED
    run = dbx.jobs.get_run(run_id, include_history=True)
    assert run.state.result_state == RunResultState.SUCCESS
    assert run.repair_history[-1].id == first
    assert {t.attempt_number for t in run.tasks} == {1}
    sb.state.workspace.jobs[101].spec.tasks[2].fail_times = 1
    with pytest.raises(InvalidParameterValue, match="no tasks to repair"):
        dbx.jobs.repair_run(run_id, rerun_all_failed_tasks=True, latest_repair_id=first)
    with pytest.raises(InvalidParameterValue, match="latest_repair_id"):
        dbx.jobs.repair_run(run_id, rerun_tasks=["publish"])


def test_libraries_install_per_version(load: Any, dbx: Any) -> None:
    from databricks.sdk.service.compute import Library, PythonPyPiLibrary

    load("library-install-failure")
    statuses = list(dbx.libraries.cluster_status(CLUSTER))
    assert statuses[0].status == LibraryInstallStatus.FAILED
    assert "DRIVER_LIBRARY_INSTALLATION_FAILURE" in statuses[0].messages[0]
    dbx.libraries.install(CLUSTER, [Library(pypi=PythonPyPiLibrary(package="pandas==2.1.0"))])
    wait_until(lambda: any(s.status == LibraryInstallStatus.INSTALLED for s in dbx.libraries.cluster_status(CLUSTER)))
    dbx.libraries.uninstall(CLUSTER, [Library(pypi=PythonPyPiLibrary(package="pandas==2.2.0"))])
    assert {s.library.pypi.package: s.status for s in dbx.libraries.cluster_status(CLUSTER)} == {
        "pandas==2.2.0": LibraryInstallStatus.UNINSTALL_ON_RESTART,
        "pandas==2.1.0": LibraryInstallStatus.INSTALLED,
    }


def test_databricks_auth_and_error_shapes(load: Any, sandbox: Any, settings: Settings) -> None:
    load("cluster-unexpected-termination")
    bad = databricks_client(
        settings.model_copy(update={"databricks_token": SecretStr("dapi-wrong")}), clock=FastClock()
    )
    with pytest.raises(Unauthenticated):
        bad.clusters.get(CLUSTER)
    sandbox.state.add_fault(path="/clusters/get$", status=403, error_code="PERMISSION_DENIED", message="no")
    good = databricks_client(settings, clock=FastClock())
    with pytest.raises(PermissionDenied):
        good.clusters.get(CLUSTER)
    for client in (bad, good):
        client.api_client._api_client._session.close()


def test_adf_factory_pipelines_and_runs_parse(load: Any, adf: Any) -> None:
    sb = load("gateway-timeout")
    run_id = adf_failed_run(sb)
    assert adf.factories.get(RG, FACTORY).name == FACTORY
    assert [a.name for a in adf.pipelines.get(RG, FACTORY, "CopySales").activities] == [
        "LookupWatermark",
        "CopyOrders",
        "MergeOrders",
    ]
    assert [p.name for p in adf.pipelines.list_by_factory(RG, FACTORY)] == ["CopySales"]
    run = adf.pipeline_runs.get(RG, FACTORY, run_id)
    assert run.status == "Failed" and run.is_latest and run.run_group_id == run_id
    assert run.run_end > run.run_start and run.duration_in_ms > 0
    acts = adf.activity_runs.query_by_pipeline_run(RG, FACTORY, run_id, window()).value
    assert [(a.activity_name, a.status) for a in acts] == [("LookupWatermark", "Succeeded"), ("CopyOrders", "Failed")]
    assert acts[1].error["errorCode"] == "2108" and acts[1].error["failureType"] == "SystemError"


def test_adf_query_filters_and_continuation(load: Any, adf: Any) -> None:
    sb = load("gateway-timeout")
    adf_failed_run(sb)
    factory = next(iter(sb.state.adf.factories.values()))
    with sb.state.lock:
        for _ in range(150):
            sb.state.adf.create_run(factory, "CopySales")
    params = window()
    params.filters = [RunQueryFilter(operand="Status", operator="Equals", values_property=["Failed"])]
    assert len(adf.pipeline_runs.query_by_factory(RG, FACTORY, params).value) == 1
    params = window()
    seen = []
    while True:
        page = adf.pipeline_runs.query_by_factory(RG, FACTORY, params)
        seen.extend(page.value)
        if not page.continuation_token:
            break
        params.continuation_token = page.continuation_token
    assert len(seen) == 151 and len({r.run_id for r in seen}) == 151


def test_adf_cancel_and_error_shapes(load: Any, adf: Any, settings: Settings) -> None:
    sb = load("gateway-timeout")
    run_id = adf_failed_run(sb)
    sb.state.clock.freeze()
    created = adf.pipelines.create_run(RG, FACTORY, "CopySales")
    sb.state.clock.advance(30)
    assert adf.pipeline_runs.get(RG, FACTORY, created.run_id).status == "InProgress"
    adf.pipeline_runs.cancel(RG, FACTORY, created.run_id)
    assert adf.pipeline_runs.get(RG, FACTORY, created.run_id).status == "Cancelled"
    with pytest.raises(ResourceNotFoundError) as info:
        adf.factories.get(RG, "adf-missing")
    assert info.value.error.code == "ResourceNotFound"
    ok = adf.pipelines.create_run(RG, FACTORY, "CopySales")
    sb.state.clock.advance(2 + 20 + 120 + 40)
    assert adf.pipeline_runs.get(RG, FACTORY, ok.run_id).status == "Succeeded"
    with pytest.raises(HttpResponseError) as bad:
        adf.pipelines.create_run(
            RG, FACTORY, "CopySales", reference_pipeline_run_id=ok.run_id, is_recovery=True, start_from_failure=True
        )
    assert bad.value.status_code == 400 and "no failed activity" in bad.value.message
    wrong = adf_client(settings.model_copy(update={"adf_token": SecretStr("wrong")}), clock=FastClock())
    with pytest.raises(ClientAuthenticationError) as auth:
        wrong.pipeline_runs.get(RG, FACTORY, run_id)
    assert auth.value.error.code == "InvalidAuthenticationToken"
    wrong.close()


# ---- cluster event history: declared by the scenario, and what others do -----------------------


def ascending(dbx: Any, cluster_id: str) -> list[Any]:
    from databricks.sdk.service.compute import GetEventsOrder

    return list(dbx.clusters.events(cluster_id, order=GetEventsOrder.ASC))


def test_a_cluster_declared_terminated_has_the_history_that_led_there(load: Any, dbx: Any) -> None:
    sb = load("cluster-unexpected-termination")
    run_id = dbx_failed_run(sb)
    failed = dbx.jobs.get_run(run_id)
    events = ascending(dbx, CLUSTER)
    assert [e.type for e in events] == [
        EventType.CREATING,
        EventType.RUNNING,
        EventType.DRIVER_HEALTHY,
        EventType.TERMINATING,  # the API has no TERMINATED event: TERMINATING carries the reason
    ]
    last = events[-1]
    assert last.details.reason.code.value == "CLOUD_PROVIDER_SHUTDOWN"
    assert last.details.reason.type.value == "CLOUD_FAILURE"
    assert events[0].details.cluster_size.num_workers == 2
    assert all(e.timestamp < failed.start_time for e in events)  # all before the failure
    cluster = dbx.clusters.get(CLUSTER)
    assert last.timestamp <= cluster.terminated_time < failed.start_time
    assert [e.timestamp for e in events] == sorted(e.timestamp for e in events)


def test_a_hung_driver_and_a_cluster_in_transit_have_their_events(load: Any, dbx: Any) -> None:
    from sandbox.scenario import load_scenario

    sb = load("driver-not-responding")
    run_id = dbx_failed_run(sb)
    events = ascending(dbx, CLUSTER)
    assert events[-1].type == EventType.DRIVER_NOT_RESPONDING
    assert events[-1].timestamp < dbx.jobs.get_run(run_id).start_time
    scenario = load_scenario("driver-not-responding")
    scenario.databricks.clusters[0].state = "PENDING"
    load(scenario)
    assert ascending(dbx, CLUSTER)[-2].type == EventType.STARTING


def test_others_activity_in_a_scenario_is_history_or_happens_when_due(load: Any, dbx: Any) -> None:
    from sandbox.scenario import ClusterActivity, load_scenario

    scenario = load_scenario("driver-not-responding")
    scenario.databricks.clusters[0].activity = [
        ClusterActivity(action="restart", after_seconds=-600, user="jane@example.com"),
        ClusterActivity(action="restart", after_seconds=100, user="job-202"),
    ]
    sb = load(scenario)
    sb.state.clock.freeze()
    restarts = [e for e in ascending(dbx, CLUSTER) if e.type == EventType.RESTARTING]
    assert [e.details.user for e in restarts] == ["jane@example.com"]  # history: state unchanged
    assert dbx.clusters.get(CLUSTER).state == State.RUNNING
    assert not sb.state.workspace.clusters[CLUSTER].driver_healthy
    sb.state.clock.advance(100)
    assert dbx.clusters.get(CLUSTER).state == State.RESTARTING
    sb.state.clock.advance(180)
    assert dbx.clusters.get(CLUSTER).state == State.RUNNING
    types = [(e.type, e.details.user) for e in ascending(dbx, CLUSTER)][-3:]
    assert types == [(EventType.RESTARTING, "job-202"), (EventType.RUNNING, None), (EventType.DRIVER_HEALTHY, None)]
    assert sb.state.workspace.clusters[CLUSTER].driver_healthy
    assert sb.state.counts()["cluster_restarts"] == 0  # the counts are what the API was asked to do


def test_others_activity_through_the_control_api_and_a_refused_one(load: Any, dbx: Any) -> None:
    import httpx

    sb = load("cluster-unexpected-termination")
    sb.state.clock.freeze()
    with httpx.Client(base_url=sb.endpoints.databricks_host) as http:
        # A restart of a TERMINATED cluster is refused, as the actor's API call would be: nothing happens.
        ok = http.post("/_sandbox/cluster-activity", json={"cluster_id": CLUSTER, "action": "restart"})
        assert ok.status_code == 200
        assert dbx.clusters.get(CLUSTER).state == State.TERMINATED
        started = http.post(
            "/_sandbox/cluster-activity", json={"cluster_id": CLUSTER, "action": "start", "user": "jane@example.com"}
        )
        assert started.json() == {"cluster_id": CLUSTER, "action": "start"}
        assert dbx.clusters.get(CLUSTER).state == State.PENDING
        assert ascending(dbx, CLUSTER)[-1].details.user == "jane@example.com"
        bad = http.post("/_sandbox/cluster-activity", json={"cluster_id": "nope", "action": "start"})
        assert bad.status_code == 400 and "does not exist" in bad.json()["error"]
        bad = http.post("/_sandbox/cluster-activity", json={"cluster_id": CLUSTER, "action": "reboot"})
        assert bad.status_code == 400
    sb.state.clock.advance(240)
    assert dbx.clusters.get(CLUSTER).state == State.RUNNING
    assert sb.state.counts()["cluster_starts"] == 0
