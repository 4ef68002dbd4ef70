"""The remediate flow end to end against a Prefect test server, the sandbox and a real store."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
from prefect.client.orchestration import get_client

from autoheal.domain.alerts import Alert
from autoheal.domain.values import Remediation
from flows.remediate import run_remediate
from sandbox import Sandbox
from tests.integration.test_playbook_adf import failed_run as adf_failed_run
from tests.integration.test_playbook_databricks import failed_run as dbx_failed_run


def adf_alert(run_id: str, pipeline: str = "CopySales") -> Alert:
    return Alert(
        source="azure-monitor",
        service="adf",
        factory="adf-sales",
        resource_group="rg-data",
        pipeline=pipeline,
        run_id=run_id,
    )


def dbx_alert(run_id: int) -> Alert:
    return Alert(source="databricks", service="databricks", job_id="101", run_id=str(run_id))


# Prefect's background clients (events and logs workers) hold sockets to the test server that
# they do not close; their ResourceWarning is expected here and nowhere else. conftest collects
# them after each test so they cannot surface in another module.
pytestmark = pytest.mark.filterwarnings("ignore:unclosed <socket.socket:ResourceWarning")


@pytest.fixture
def run(runner: asyncio.Runner) -> Callable[[Alert], dict[str, Any]]:
    return lambda alert: runner.run(run_remediate(alert))


def test_gateway_timeout_is_healed_by_a_rerun_from_the_failed_activity(load: Any, flow_env: Any, run: Any) -> None:
    sb: Sandbox = load("gateway-timeout")
    store = flow_env()
    result = run(adf_alert(adf_failed_run(sb)))
    assert result.status == "resolved" and result.error_type == "GatewayTimeout"
    incident = store.get(result.incident_id)
    assert incident.decision == "remediate" and incident.mttr_seconds is not None and incident.mttr_seconds > 0
    assert [a.outcome for a in store.attempts(incident.id)] == ["healed"]
    assert sb.state.counts()["recovery_runs"] == 1


async def _task_runs(flow_run_id: str) -> dict[str, Any]:
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        FlowRunFilter,
        FlowRunFilterId,
    )

    async with get_client() as client:
        runs = await client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
        flow_run = await client.read_flow_run(flow_run_id)
        artifacts = await client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
        )
    return {
        "tasks": {t.name.rsplit("-", 1)[0]: t for t in runs},
        "tags": set(flow_run.tags),
        "name": flow_run.name,
        "artifacts": {a.key: a for a in artifacts},
    }


def prefect_view(runner: asyncio.Runner, store: Any, incident_id: int) -> dict[str, Any]:
    return runner.run(_task_runs(store.get(incident_id).flow_run_id))


def make_copy_fail(sb: Sandbox, times: int) -> None:
    with sb.state.lock:
        sb.state.adf.factories[("rg-data", "adf-sales")].pipelines["CopySales"].spec.activities[1].fail_times = times


def test_two_transient_failures_then_success_make_three_attempts_in_one_task_run(
    load: Any, flow_env: Any, run: Any, runner: asyncio.Runner
) -> None:
    sb: Sandbox = load("gateway-timeout")
    store = flow_env()
    run_id = adf_failed_run(sb)
    make_copy_fail(sb, 2)
    result = run(adf_alert(run_id))
    assert result.status == "resolved"
    attempts = store.attempts(result.incident_id)
    assert [(a.number, a.outcome) for a in attempts] == [(1, "transient"), (2, "transient"), (3, "healed")]
    assert all(a.task_run_id == attempts[0].task_run_id for a in attempts)
    view = prefect_view(runner, store, result.incident_id)
    assert view["tasks"]["remediate"].run_count == 3
    assert {"service:adf", "error-type:GatewayTimeout", "decision:remediate"} <= view["tags"]
    assert view["name"].startswith("remediate-adf-adf-sales-CopySales-")
    artifact = view["artifacts"][f"incident-{result.incident_id}"]
    assert "GatewayTimeout" in artifact.data and "| 3 | adf.rerun_from_failure" in artifact.data
    assert sb.state.counts()["recovery_runs"] == 3


def test_attempts_exhausted_then_escalated(load: Any, flow_env: Any, run: Any) -> None:
    sb: Sandbox = load("gateway-timeout")
    store = flow_env()
    run_id = adf_failed_run(sb)
    make_copy_fail(sb, 3)
    result = run(adf_alert(run_id))
    assert result.status == "escalated"
    incident = store.get(result.incident_id)
    assert [a.outcome for a in store.attempts(incident.id)] == ["transient"] * 3
    assert "remediation failed" in incident.outcome and incident.resolved_at is None
    # A later alert about the same run group finds the attempts spent and escalates at once.
    latest = max(sb.state.adf.factories[("rg-data", "adf-sales")].runs.values(), key=lambda r: r.start)
    again = run(adf_alert(latest.run_id))
    assert again.status == "escalated"
    assert "attempts exhausted: 3 of 3" in store.get(again.incident_id).decision_reason
    assert sb.state.counts()["recovery_runs"] == 3


def test_permission_error_is_escalated_and_nothing_is_done(load: Any, flow_env: Any, run: Any) -> None:
    from sandbox.scenario import ActivityError, load_scenario

    scenario = load_scenario("gateway-timeout")
    scenario.adf.factories[0].pipelines[0].activities[1].error = ActivityError(
        errorCode="AdlsGen2OperationFailed",
        failureType="UserError",
        message="ADLS Gen2 operation failed for: Operation returned an invalid status code 'Forbidden'. "
        "Account: 'lake'. ErrorCode: 'AuthorizationPermissionMismatch'.",
    )
    sb: Sandbox = load(scenario)
    store = flow_env()
    result = run(adf_alert(adf_failed_run(sb)))
    assert (result.status, result.error_type, result.decision) == ("escalated", "PermissionDenied", "escalate")
    assert store.attempts(result.incident_id) == []
    assert sb.state.counts()["recovery_runs"] == 0


def test_a_failure_nothing_recognises_is_escalated_as_a_guess_and_tagged_unrecognised(
    load: Any, flow_env: Any, run: Any, runner: asyncio.Runner
) -> None:
    from sandbox.scenario import ActivityError, load_scenario

    scenario = load_scenario("gateway-timeout")
    scenario.adf.factories[0].pipelines[0].activities[1].error = ActivityError(
        errorCode="9999",
        failureType="UserError",
        message="The widget registry rejected entry sales_v2 for this pipeline.",
    )
    sb: Sandbox = load(scenario)
    store = flow_env()
    result = run(adf_alert(adf_failed_run(sb)))
    assert (result.status, result.error_type, result.decision) == ("escalated", "InvalidConfiguration", "escalate")
    incident = store.get(result.incident_id)
    assert incident.rule == "no-evidence" and incident.outcome.startswith("nothing recognised")
    view = prefect_view(runner, store, result.incident_id)
    assert "error-type:unrecognised" in view["tags"] and "error-type:InvalidConfiguration" not in view["tags"]
    assert "A guess, the likeliest class" in view["artifacts"][f"incident-{result.incident_id}"].data
    assert sb.state.counts()["recovery_runs"] == 0


def test_a_duplicate_joins_its_incident(load: Any, flow_env: Any, run: Any) -> None:
    sb: Sandbox = load("gateway-timeout")
    store = flow_env()
    alert = adf_alert(adf_failed_run(sb))
    first = run(alert)
    second = run(alert.model_copy(update={"source": "sweep"}))
    assert second == Remediation(incident_id=first.incident_id, duplicate=True)
    assert store.get(first.incident_id).duplicates == 1
    assert len(store.incidents()) == 1 and sb.state.counts()["recovery_runs"] == 1


def test_dry_run_acts_on_nothing(load: Any, flow_env: Any, run: Any) -> None:
    sb: Sandbox = load("cluster-unexpected-termination")
    store = flow_env(mode="dry-run")
    result = run(dbx_alert(dbx_failed_run(sb)))
    assert result.status == "dry-run" and result.error_type == "ClusterUnexpectedTermination"
    incident = store.get(result.incident_id)
    assert incident.decision_reason.startswith("dry-run: would run databricks.restart_cluster_then_repair")
    assert store.attempts(incident.id) == []
    assert sb.state.counts()["cluster_starts"] == 0 and sb.state.counts()["repairs"] == 0


def test_mode_off_is_the_default_and_records_only(load: Any, flow_env: Any, run: Any, monkeypatch: Any) -> None:
    sb: Sandbox = load("cluster-unexpected-termination")
    flow_env()
    monkeypatch.delenv("AUTOHEAL_MODE")
    from autoheal import services as context

    context.reset()
    result = run(dbx_alert(dbx_failed_run(sb)))
    assert result.status == "skipped" and sb.state.counts()["cluster_starts"] == 0


def test_databricks_cluster_healed_and_run_repaired(load: Any, flow_env: Any, run: Any) -> None:
    sb: Sandbox = load("cluster-unexpected-termination")
    store = flow_env()
    result = run(dbx_alert(dbx_failed_run(sb)))
    assert result.status == "resolved" and result.error_type == "ClusterUnexpectedTermination"
    incident = store.get(result.incident_id)
    assert "CLOUD_PROVIDER_SHUTDOWN" in incident.message and incident.lineage.startswith("databricks:run:")
    assert sb.state.counts()["cluster_starts"] == 1 and sb.state.counts()["repairs"] == 1


def test_a_models_analysis_is_recorded_and_shown_and_the_rules_still_decide(
    load: Any, flow_env: Any, run: Any, runner: asyncio.Runner
) -> None:
    from tests.fakes.llm_server import model_server, valid

    sb: Sandbox = load("gateway-timeout")
    with model_server([valid("PermissionDenied")]) as fake:  # a model that disagrees with the rules
        store = flow_env(ai_provider="openai", openai_base_url=f"{fake.url}/v1", openai_api_key="sk-flow-test")
        result = run(adf_alert(adf_failed_run(sb)))
    assert result.status == "resolved" and result.error_type == "GatewayTimeout"
    incident = store.get(result.incident_id)
    assert incident.decided_by == "rules" and incident.decision == "remediate"
    stored = json.loads(incident.analysis)
    assert stored["rca"]["error_type"] == "PermissionDenied" and stored["calls"] == 1
    assert "sk-flow-test" not in incident.analysis and len(fake.requests) == 1
    view = prefect_view(runner, store, incident.id)
    assert "analyze" in view["tasks"]
    markdown = view["artifacts"][f"incident-{incident.id}"].data
    assert "## Root cause (openai, gpt-4o-mini)" in markdown and "partner API timed out" in markdown
    assert "decided by rules" in markdown


def test_without_a_model_there_is_no_analysis_task(load: Any, flow_env: Any, run: Any, runner: asyncio.Runner) -> None:
    sb: Sandbox = load("gateway-timeout")
    store = flow_env()
    result = run(adf_alert(adf_failed_run(sb)))
    incident = store.get(result.incident_id)
    assert incident.analysis is None and incident.decided_by == "rules"
    assert "analyze" not in prefect_view(runner, store, incident.id)["tasks"]
