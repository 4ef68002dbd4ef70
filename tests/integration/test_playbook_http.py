"""HTTP playbooks against loopback Logic Apps: one that starts the rerun in the sandbox (through its REST
API, as the ADF and Databricks connectors do), and one that answers 200 and does nothing, which must
end "not verified". The verification is the SDKs' view of the sandbox, as for every playbook."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from autoheal.domain.outcome import PermanentFailure, TransientFailure
from autoheal.domain.values import Target
from autoheal.settings import Settings
from playbooks.http import PlaybookRequest
from playbooks.registry import run_playbook
from sandbox import Sandbox
from sandbox.outside import LogicAppFake
from sandbox.scenario import Scenario, load_scenario
from tests.conftest import FastClock
from tests.integration.test_playbook_adf import failed_run as adf_failed_run
from tests.integration.test_playbook_databricks import failed_run as dbx_failed_run

SECRET = "function-key-0123456789abcdef"


@pytest.fixture
def logic_app(sandbox: Sandbox) -> Iterator[Callable[[str], LogicAppFake]]:
    started: list[LogicAppFake] = []

    def start(behaviour: str) -> LogicAppFake:
        assert sandbox.endpoints is not None
        fake = LogicAppFake(sandbox.endpoints, secret=SECRET, behaviour=behaviour)
        fake.start()
        started.append(fake)
        return fake

    yield start
    for fake in started:
        fake.stop()


def http_settings(settings: Settings, app: LogicAppFake, **extra: Any) -> Settings:
    return settings.model_copy(
        update={
            "http_playbooks": {"retry_pipeline": SecretStr(f"{app.url}/api/retry?code=url-secret-code")},
            "http_playbook_secret": SecretStr(SECRET),
            "http_playbook_verify_seconds": 120.0,
            **extra,
        }
    )


def adf_target(run_id: str) -> Target:
    return Target(service="adf", run_id=run_id, resource_group="rg-data", factory="adf-sales", pipeline="CopySales")


def test_the_logic_app_starts_the_rerun_and_the_playbook_follows_it_to_success(
    load: Any, settings: Settings, clock: FastClock, logic_app: Any
) -> None:
    sb = load("gateway-timeout")
    run_id = adf_failed_run(sb)
    app = logic_app("rerun")
    request = PlaybookRequest(
        playbook="http.retry_pipeline", incident_id=7, service="adf", error_type="GatewayTimeout", run_id=run_id
    )
    outcome = run_playbook(
        "http.retry_pipeline",
        target=adf_target(run_id),
        settings=http_settings(settings, app),
        clock=clock,
        request=request,
    )
    assert outcome.verified and outcome.action == "http_call_then_rerun"
    assert outcome.state_after["status"] == "Succeeded" and outcome.created_ids["run_id"] != run_id
    assert sb.state.counts()["recovery_runs"] == 1
    (call,) = app.received
    assert call.headers["x-functions-key"] == SECRET and call.headers["content-type"] == "application/json"
    assert call.body == {
        "schema": "autoheal.playbook/v1",
        "playbook": "http.retry_pipeline",
        "incidentId": 7,
        "attempt": 1,
        "service": "adf",
        "errorType": "GatewayTimeout",
        "errorCode": None,
        "errorMessage": None,
        "subscriptionId": None,
        "resourceGroup": "rg-data",
        "factoryName": "adf-sales",
        "pipelineName": "CopySales",
        "runId": run_id,
        "jobId": None,
        "clusterId": None,
        "failedAt": None,
    }
    assert "url-secret-code" not in str(outcome.model_dump())


def test_a_200_that_starts_nothing_is_not_verified(
    load: Any, settings: Settings, clock: FastClock, logic_app: Any
) -> None:
    sb = load("gateway-timeout")
    run_id = adf_failed_run(sb)
    app = logic_app("nothing")
    outcome = run_playbook(
        "http.retry_pipeline", target=adf_target(run_id), settings=http_settings(settings, app), clock=clock
    )
    assert not outcome.verified and outcome.action == "http_call"
    assert outcome.detail.startswith("not verified:") and "no rerun of CopySales started within 120 s" in outcome.detail
    assert "url-secret-code" not in outcome.detail
    assert sb.state.counts()["recovery_runs"] == 0 and len(app.received) == 1


def test_a_rerun_already_started_is_followed_without_calling_again(
    load: Any, settings: Settings, clock: FastClock, logic_app: Any
) -> None:
    sb = load("gateway-timeout")
    run_id = adf_failed_run(sb)
    app = logic_app("rerun")
    configured = http_settings(settings, app)
    assert run_playbook("http.retry_pipeline", target=adf_target(run_id), settings=configured, clock=clock).verified
    again = run_playbook("http.retry_pipeline", target=adf_target(run_id), settings=configured, clock=clock)
    assert again.verified and again.action == "followed_existing_rerun"
    assert len(app.received) == 1 and sb.state.counts()["recovery_runs"] == 1


def test_a_wrong_secret_is_permanent_and_names_no_secret(
    load: Any, settings: Settings, clock: FastClock, logic_app: Any
) -> None:
    sb = load("gateway-timeout")
    run_id = adf_failed_run(sb)
    app = logic_app("rerun")
    wrong = http_settings(settings, app, http_playbook_secret=SecretStr("not-the-key"))
    with pytest.raises(PermanentFailure, match="refused the playbook call: HTTP 401") as raised:
        run_playbook("http.retry_pipeline", target=adf_target(run_id), settings=wrong, clock=clock)
    assert "url-secret-code" not in str(raised.value) and "not-the-key" not in str(raised.value)


def test_an_unreachable_url_is_transient_after_bounded_retries(load: Any, settings: Settings, clock: FastClock) -> None:
    sb = load("gateway-timeout")
    run_id = adf_failed_run(sb)
    configured = settings.model_copy(
        update={"http_playbooks": {"retry_pipeline": SecretStr("http://127.0.0.1:9/api/x")}, "http_playbook_retries": 2}
    )
    with pytest.raises(TransientFailure, match="did not take the playbook call after 3 tries: ConnectError"):
        run_playbook("http.retry_pipeline", target=adf_target(run_id), settings=configured, clock=clock)


def test_an_unknown_http_playbook_is_permanent(settings: Settings, clock: FastClock) -> None:
    with pytest.raises(PermanentFailure, match="add 'retry_cluster' to AUTOHEAL_HTTP_PLAYBOOKS"):
        run_playbook("http.retry_cluster", target=adf_target("x"), settings=settings, clock=clock)


def flaky_job() -> Scenario:
    """A job whose transform fails once with a transient error: a plain repair heals it."""
    scenario = load_scenario("timeout")
    task = scenario.databricks.jobs[0].tasks[1]
    task.timeout_seconds, task.fail_times, task.error = 0, 1, "java.net.SocketTimeoutException: Read timed out"
    return scenario


def test_databricks_the_function_repairs_the_run_and_the_repair_is_followed(
    load: Any, settings: Settings, clock: FastClock, logic_app: Any
) -> None:
    sb = load(flaky_job())
    run_id = dbx_failed_run(sb)
    app = logic_app("rerun")
    target = Target(service="databricks", run_id=str(run_id))
    outcome = run_playbook("http.retry_pipeline", target=target, settings=http_settings(settings, app), clock=clock)
    assert outcome.verified and outcome.action == "http_call_then_repair"
    assert outcome.state_after["run"]["result_state"] == "SUCCESS"
    assert sb.state.counts()["repairs"] == 1
    assert app.received[0].body["jobId"] is not None


def test_databricks_nothing_done_is_not_verified(
    load: Any, settings: Settings, clock: FastClock, logic_app: Any
) -> None:
    sb = load(flaky_job())
    run_id = dbx_failed_run(sb)
    app = logic_app("nothing")
    target = Target(service="databricks", run_id=str(run_id))
    outcome = run_playbook("http.retry_pipeline", target=target, settings=http_settings(settings, app), clock=clock)
    assert not outcome.verified and "no repair of run" in outcome.detail
