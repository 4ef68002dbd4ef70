"""What people see: the run's named final state and outcome tag, one log line per task saying what it
found or decided, the artifact's links, the escalation's notification (to a loopback webhook sink) and
Jira ticket (a loopback Jira), a duplicate's comment, and an HTTP playbook through the whole flow."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prefect.client.orchestration import get_client

from autoheal.domain.alerts import Alert
from autoheal.domain.values import Remediation
from autoheal.store.notices import Notices
from flows.remediate import remediate, run_remediate
from flows.states import remediation_of
from sandbox import Sandbox
from sandbox.outside import JiraFake, LogicAppFake, NotificationSink
from sandbox.scenario import ActivityError, load_scenario
from tests.flows.test_remediate import adf_alert
from tests.integration.test_playbook_adf import failed_run as adf_failed_run

pytestmark = pytest.mark.filterwarnings("ignore:unclosed <socket.socket:ResourceWarning")
JIRA_TOKEN = "jira-token-for-the-flow-test"


@pytest.fixture
def outside() -> Iterator[tuple[NotificationSink, JiraFake]]:
    sink, jira = NotificationSink(), JiraFake(user="bot@example.com", token=JIRA_TOKEN, projects=("OPS",))
    sink.start(), jira.start()
    yield sink, jira
    sink.stop(), jira.stop()


def people_env(flow_env: Any, outside: tuple[NotificationSink, JiraFake], **extra: Any) -> Any:
    sink, jira = outside
    values = {
        "notify_webhook_url": f"{sink.url}/hook/oncall",
        "jira_url": jira.url,
        "jira_user": "bot@example.com",
        "jira_token": JIRA_TOKEN,
        "jira_project": "OPS",
    }
    return flow_env(**{**values, **extra})


def forbidden(load: Any) -> Sandbox:
    scenario = load_scenario("gateway-timeout")
    scenario.adf.factories[0].pipelines[0].activities[1].error = ActivityError(
        errorCode="AdlsGen2OperationFailed",
        failureType="UserError",
        message="ADLS Gen2 operation failed for: Operation returned an invalid status code 'Forbidden'. "
        "Account: 'lake'. ErrorCode: 'AuthorizationPermissionMismatch'.",
    )
    sb: Sandbox = load(scenario)
    return sb


async def _run(alert: Alert) -> tuple[Any, Remediation, dict[str, Any]]:
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, LogFilter, LogFilterFlowRunId
    from prefect.logging.handlers import APILogHandler

    state = await remediate(alert=alert, return_state=True)
    result = await remediation_of(state)
    await APILogHandler.aflush()
    async with get_client() as client:
        flow_run = await client.read_flow_run(state.state_details.flow_run_id)
        logs = await client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run.id])))
        artifacts = await client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run.id]))
        )
    view = {
        "tags": set(flow_run.tags),
        "state": flow_run.state,
        "logs": [log.message for log in logs],
        "artifacts": {a.key: a.data for a in artifacts},
    }
    return state, result, view


def test_an_escalation_is_a_failed_escalated_run_with_a_ticket_a_message_and_links(
    load: Any, flow_env: Any, outside: Any, runner: asyncio.Runner
) -> None:
    sink, jira = outside
    sb = forbidden(load)
    store = people_env(flow_env, outside)
    state, result, view = runner.run(_run(adf_alert(adf_failed_run(sb))))
    assert (state.type.value, state.name) == ("FAILED", "Escalated")  # red in the runs list, a person must act
    assert view["state"].name == "Escalated"
    assert result.status == "escalated" and result.error_type == "PermissionDenied"
    assert {"outcome:escalated", "service:adf", "decision:escalate"} <= view["tags"]
    incident = store.get(result.incident_id)
    assert incident.ticket_key == "OPS-1" and incident.ticket_error is None
    (issue,) = jira.issues.values()
    assert "PermissionDenied" in issue["summary"] and "/flow-run/" in issue["description"]
    (message,) = sink.of("webhook:oncall")
    assert "Ticket: OPS-1" in message.body["body"] and "Tried: nothing" in message.body["body"]
    assert [(n.channel, n.status) for n in Notices(store).of_incident(result.incident_id)] == [("webhook", "sent")]
    artifact = view["artifacts"][f"incident-{result.incident_id}"]
    assert "[ADF run in the Azure portal](https://adf.azure.com/en/monitoring/pipelineruns/" in artifact
    assert "[Prefect flow run](" in artifact and "| ticket | OPS-1 |" in artifact
    assert "| webhook | escalation | sent |" in artifact
    logs = "\n".join(view["logs"])
    for line in (
        f"claimed incident {result.incident_id} for adf adf-sales/CopySales",
        "read adf run ",
        "error code AdlsGen2OperationFailed",
        "classified PermissionDenied by rule ",
        "decided escalate: ",
        f"escalated incident {result.incident_id}: ",
        f"opened ticket OPS-1 for incident {result.incident_id}",
        f"notified the escalation of incident {result.incident_id}: webhook sent",
    ):
        assert line in logs, line
    assert JIRA_TOKEN not in logs


def test_a_heal_is_a_completed_resolved_run_whose_log_says_what_was_verified(
    load: Any, flow_env: Any, outside: Any, runner: asyncio.Runner
) -> None:
    sink, jira = outside
    sb: Sandbox = load("gateway-timeout")
    people_env(flow_env, outside)
    state, result, view = runner.run(_run(adf_alert(adf_failed_run(sb))))
    assert (state.type.value, state.name) == ("COMPLETED", "Resolved") and result.status == "resolved"
    assert "outcome:resolved" in view["tags"]
    logs = "\n".join(view["logs"])
    assert "classified GatewayTimeout by rule " in logs and "decided remediate with adf.rerun_from_failure" in logs
    assert "attempt 1 of adf.rerun_from_failure: started recovery run " in logs
    assert "; verified: run " in logs and " Succeeded after " in logs
    assert sink.received == [] and jira.issues == {}  # heals are not notified unless asked (AUTOHEAL_NOTIFY_ON)


def test_a_duplicate_is_named_so_and_comments_on_the_ticket_without_a_second_message(
    load: Any, flow_env: Any, outside: Any, runner: asyncio.Runner
) -> None:
    sink, jira = outside
    sb = forbidden(load)
    store = people_env(flow_env, outside)
    alert = adf_alert(adf_failed_run(sb))
    runner.run(run_remediate(alert))
    state, result, view = runner.run(_run(alert.model_copy(update={"source": "sweep"})))
    assert (state.type.value, state.name, result.duplicate) == ("COMPLETED", "Duplicate", True)
    assert "outcome:duplicate" in view["tags"]
    assert len(jira.issues) == 1 and len(jira.comments["OPS-1"]) == 1
    assert len(sink.of("webhook:oncall")) == 1  # duplicates do not re-notify
    assert store.get(result.incident_id).ticket_duplicates == 1


def test_bad_jira_credentials_are_recorded_and_the_run_still_closes(
    load: Any, flow_env: Any, outside: Any, runner: asyncio.Runner
) -> None:
    sink, _ = outside
    sb = forbidden(load)
    store = people_env(flow_env, outside, jira_token="a-wrong-token")
    state, result, view = runner.run(_run(adf_alert(adf_failed_run(sb))))
    assert state.name == "Escalated"
    incident = store.get(result.incident_id)
    assert incident.ticket_key is None and "rejected the credentials (401)" in incident.ticket_error
    assert len(sink.of("webhook:oncall")) == 1
    assert "no ticket for incident" in "\n".join(view["logs"])


def test_an_http_playbook_whose_logic_app_does_nothing_escalates_as_not_verified(
    load: Any, flow_env: Any, runner: asyncio.Runner, sandbox: Sandbox, tmp_path: Path
) -> None:
    catalog = (Path(__file__).parents[2] / "autoheal/domain/catalog.toml").read_text()
    custom = tmp_path / "catalog.toml"
    custom.write_text(
        catalog.replace(
            'playbooks = { adf = "adf.rerun_from_failure" }', 'playbooks = { adf = "http.retry_pipeline" }', 1
        )
    )
    assert sandbox.endpoints is not None
    app = LogicAppFake(sandbox.endpoints, secret="k", behaviour="nothing")
    app.start()
    try:
        sb: Sandbox = load("gateway-timeout")
        store = flow_env(
            catalog_file=str(custom),
            http_playbooks=json.dumps({"retry_pipeline": f"{app.url}/api/retry"}),
            http_playbook_secret="k",
            http_playbook_verify_seconds="0.5",
        )
        state, result, _ = runner.run(_run(adf_alert(adf_failed_run(sb))))
    finally:
        app.stop()
    assert state.name == "Escalated" and result.error_type == "GatewayTimeout"
    incident = store.get(result.incident_id)
    assert incident.playbook == "http.retry_pipeline"
    assert incident.outcome.startswith("remediation failed: not verified: http://127.0.0.1:")
    assert [a.outcome for a in store.attempts(result.incident_id)] == ["unverified"]
    assert len(app.received) == 1 and app.received[0].body["pipelineName"] == "CopySales"
    assert sb.state.counts()["recovery_runs"] == 0


def test_the_report_flow_publishes_a_table_and_a_markdown_summary_with_a_chart(
    load: Any, flow_env: Any, runner: asyncio.Runner
) -> None:
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    from flows.report import report

    sb: Sandbox = load("gateway-timeout")
    flow_env()
    runner.run(run_remediate(adf_alert(adf_failed_run(sb))))

    async def go() -> tuple[Any, dict[str, Any]]:
        state = await report(since_hours=24, return_state=True)
        async with get_client() as client:
            artifacts = await client.read_artifacts(
                artifact_filter=ArtifactFilter(
                    flow_run_id=ArtifactFilterFlowRunId(any_=[state.state_details.flow_run_id])
                )
            )
        return await state.result(), {a.key: a for a in artifacts}

    figures, artifacts = runner.run(go())
    assert figures.resolved == 1 and figures.heal_rate == 1.0
    summary = artifacts["autoheal-report"]
    assert summary.type == "markdown" and "data:image/svg+xml;base64," in summary.data
    assert "| auto-heal rate | **100%** |" in summary.data
    table = artifacts["autoheal-report-table"]
    assert table.type == "table" and "auto-heal rate" in str(table.data)


def test_a_saved_block_is_a_channel_and_a_missing_one_is_its_error(
    flow_env: Any, outside: Any, runner: asyncio.Runner
) -> None:
    from prefect.blocks.notifications import CustomWebhookNotificationBlock

    from autoheal.settings import get_settings
    from tasks.notification import notify

    sink, _ = outside
    block = CustomWebhookNotificationBlock(name="ops", url=f"{sink.url}/hook/saved", json_data={"text": "{{body}}"})
    block.save("autoheal-test-ops", overwrite=True)
    store = flow_env(notify_blocks=json.dumps(["custom-webhook/autoheal-test-ops", "custom-webhook/nope"]))
    alert = Alert(source="manual", service="adf", factory="f", pipeline="p", run_id="r1", error_message="boom")
    incident, _ = store.open_incident(alert)
    deliveries = {d.channel: d for d in notify(store, incident.id, "escalation", get_settings())}
    assert deliveries["block:custom-webhook/autoheal-test-ops"].status == "sent"
    assert deliveries["block:custom-webhook/nope"].status == "failed"
    (saved,) = sink.of("webhook:saved")
    assert "boom" in saved.body["text"]
