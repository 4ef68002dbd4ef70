"""The safety rails in the remediate flow, against a Prefect test server, the sandbox and a real store:
approval (from the CLI and through Prefect's API as the UI sends it), rejection, timeout, refused
approvers, the budget, the breaker, recurrence, a denied resource, and replay."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from prefect import flow
from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.client.schemas.responses import SetStateStatus
from prefect.exceptions import ObjectNotFound
from prefect.input import keyset_from_paused_state
from prefect.states import Paused, Running
from typer.testing import CliRunner

from autoheal.app.cli import app
from autoheal.domain.alerts import Alert
from autoheal.domain.values import Answer, IncidentStatus, Remediation
from autoheal.store.store import Store
from flows.approval import ApprovalInput, answer
from flows.remediate import run_remediate
from sandbox import Sandbox
from tests.conftest import wait_until
from tests.flows.test_remediate import adf_alert, make_copy_fail
from tests.integration.test_playbook_adf import failed_run as adf_failed_run

pytestmark = pytest.mark.filterwarnings("ignore:unclosed <socket.socket:ResourceWarning")
CLI = CliRunner()


def policy(tmp_path: Path, text: str) -> str:
    file = tmp_path / "policy.toml"
    file.write_text(text)
    return str(file)


@pytest.fixture
def run(runner: asyncio.Runner) -> Callable[[Alert], Remediation]:
    return lambda alert: runner.run(run_remediate(alert))


def answer_when_asked(store: Store, act: Callable[[int], Any], *, timeout: float = 60) -> threading.Thread:
    """In the background: wait until an incident waits for approval, then ``act`` on it."""

    def watch() -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            waiting = store.waiting_approval()
            if waiting:
                act(int(waiting[0].id or 0))
                return
            time.sleep(0.1)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def fails_again(sb: Sandbox) -> str:
    """The pipeline's next scheduled run fails the same way: a new failure of the same resource."""
    make_copy_fail(sb, 1)
    with sb.state.lock:
        factory = sb.state.adf.factories[("rg-data", "adf-sales")]
        created = sb.state.adf.create_run(factory, "CopySales")

    def failed() -> bool:
        with sb.state.lock:
            sb.state.adf.tick()
            return created.status == "Failed"

    wait_until(failed)
    return created.run_id


def cli(*args: str) -> Any:
    return CLI.invoke(app, list(args))


ALWAYS = '[approval]\ndefault = "always"\n'
# Tests that expect an answer still give up within a minute if the answer never comes.
ANSWERED = ALWAYS + "timeout_hours = 0.02\n"


def test_an_approval_from_the_cli_heals_and_records_the_approver(
    load: Any, flow_env: Any, run: Any, tmp_path: Path
) -> None:
    sb: Sandbox = load("gateway-timeout")
    store = flow_env(policy_file=policy(tmp_path, ANSWERED))
    answers: list[Any] = []
    thread = answer_when_asked(
        store, lambda i: answers.append(cli("approve", str(i), "--by", "alice", "--comment", "known blip"))
    )
    result = run(adf_alert(adf_failed_run(sb)))
    thread.join(5)
    assert answers and answers[0].exit_code == 0, answers[0].output if answers else "never asked"
    assert result.status == IncidentStatus.RESOLVED
    (attempt,) = store.attempts(result.incident_id)
    assert (attempt.approved_by, attempt.approval_comment, attempt.outcome) == ("alice", "known blip", "healed")
    assert [a.decision for a in store.approvals(result.incident_id)] == ["requested", "approved"]
    assert sb.state.counts()["recovery_runs"] == 1
    # Approving again, now that nothing waits, is a clear error and no second action.
    again = cli("approve", str(result.incident_id), "--by", "alice")
    assert again.exit_code == 2 and "not waiting for approval" in again.output
    assert sb.state.counts()["recovery_runs"] == 1


def test_an_approval_through_prefects_api_as_the_ui_sends_it(
    load: Any, flow_env: Any, run: Any, runner: asyncio.Runner, tmp_path: Path
) -> None:
    sb: Sandbox = load("gateway-timeout")
    store = flow_env(policy_file=policy(tmp_path, ANSWERED))

    def resume(incident_id: int) -> None:
        flow_run_id = store.get(incident_id).flow_run_id  # type: ignore[union-attr]

        async def send() -> SetStateStatus:
            async with get_client() as client:
                # The UI shows the form once the run is paused and its schema stored (Prefect stores it
                # just after the pause), and sends the form's values.
                for _ in range(150):
                    run_state = (await client.read_flow_run(UUID(flow_run_id))).state
                    keyset = run_state.state_details.run_input_keyset if run_state else None
                    if run_state and run_state.is_paused() and keyset:
                        try:
                            await client.read_flow_run_input(UUID(flow_run_id), keyset["schema"])
                            break
                        except ObjectNotFound:
                            pass
                    await asyncio.sleep(0.1)
                result = await client.resume_flow_run(UUID(flow_run_id), run_input={"approve": True, "by": "bob"})
                return result.status

        assert asyncio.run(send()) == SetStateStatus.ACCEPT

    answer_when_asked(store, resume)
    result = run(adf_alert(adf_failed_run(sb)))
    assert result.status == IncidentStatus.RESOLVED
    assert store.attempts(result.incident_id)[0].approved_by == "bob"
    assert sb.state.counts()["recovery_runs"] == 1


def test_a_rejection_escalates_and_nothing_is_done(load: Any, flow_env: Any, run: Any, tmp_path: Path) -> None:
    sb: Sandbox = load("gateway-timeout")
    store = flow_env(policy_file=policy(tmp_path, ANSWERED))
    answer_when_asked(store, lambda i: cli("reject", str(i), "--by", "carol", "--comment", "prod freeze"))
    result = run(adf_alert(adf_failed_run(sb)))
    assert result.status == IncidentStatus.ESCALATED
    incident = store.get(result.incident_id)
    assert incident is not None and "rejected by carol: prod freeze" in (incident.outcome or "")
    assert store.attempts(result.incident_id) == [] and sb.state.counts()["recovery_runs"] == 0


def test_no_answer_before_the_timeout_escalates(load: Any, flow_env: Any, run: Any, tmp_path: Path) -> None:
    sb: Sandbox = load("gateway-timeout")
    store = flow_env(policy_file=policy(tmp_path, ALWAYS + "timeout_hours = 0.0008\n"))  # about 3 s
    result = run(adf_alert(adf_failed_run(sb)))
    assert result.status == IncidentStatus.ESCALATED
    incident = store.get(result.incident_id)
    assert incident is not None and "nobody answered the request for approval" in (incident.outcome or "")
    assert [a.decision for a in store.approvals(result.incident_id)] == ["requested", "expired"]
    assert sb.state.counts()["recovery_runs"] == 0


def test_an_approver_the_policy_does_not_list_is_refused_and_recorded(
    load: Any, flow_env: Any, run: Any, tmp_path: Path
) -> None:
    sb: Sandbox = load("gateway-timeout")
    text = ALWAYS + 'approvers = ["alice"]\ntimeout_hours = 0.002\n'
    store = flow_env(policy_file=policy(tmp_path, text))
    outputs: list[Any] = []
    answer_when_asked(store, lambda i: outputs.append(cli("approve", str(i), "--by", "mallory")))
    result = run(adf_alert(adf_failed_run(sb)))
    assert outputs and outputs[0].exit_code == 2 and "not among the approvers" in outputs[0].output
    assert result.status == IncidentStatus.ESCALATED  # the refusal acted on nothing; then nobody answered
    decisions = [(a.decision, a.by) for a in store.approvals(result.incident_id)]
    assert ("refused", "mallory") in decisions and ("approved", "mallory") not in decisions
    assert sb.state.counts()["recovery_runs"] == 0


def test_the_budget_stops_the_action_after_the_nth(load: Any, flow_env: Any, run: Any, tmp_path: Path) -> None:
    sb: Sandbox = load("gateway-timeout")
    store = flow_env(policy_file=policy(tmp_path, "[budget]\nactions = 2\n[recurrence]\nenabled = false\n"))
    statuses = [run(adf_alert(adf_failed_run(sb))).status]
    statuses += [run(adf_alert(fails_again(sb))).status for _ in range(2)]
    assert statuses == [IncidentStatus.RESOLVED, IncidentStatus.RESOLVED, IncidentStatus.ESCALATED]
    third = store.incidents()[-1]
    assert "budget spent: 2 actions on this resource within 6 h" in (third.decision_reason or "")
    assert store.attempts(int(third.id or 0)) == []


def test_the_breaker_trips_after_failed_verifications_and_a_reset_closes_it(
    load: Any, flow_env: Any, run: Any, tmp_path: Path
) -> None:
    sb: Sandbox = load("gateway-timeout")
    store = flow_env(policy_file=policy(tmp_path, "[breaker]\nfailed_verifications = 2\n"))
    run_id = adf_failed_run(sb)
    make_copy_fail(sb, 3)
    first = run(adf_alert(run_id))  # three attempts, none verified: more than 2 failures
    assert first.status == IncidentStatus.ESCALATED
    status = cli("status", "--json")
    assert '"open": true' in status.output and "failed verification" in status.output
    blocked = run(adf_alert(fails_again(sb)))
    incident = store.get(blocked.incident_id)
    assert incident is not None and "circuit breaker is open" in (incident.decision_reason or "")
    reset = cli("breaker", "reset", "--by", "dave")
    assert reset.exit_code == 0 and "reset by dave" in reset.output
    assert '"open": false' in cli("status", "--json").output


def test_recurrence_escalates_the_third_time(load: Any, flow_env: Any, run: Any, tmp_path: Path) -> None:
    sb: Sandbox = load("gateway-timeout")
    store = flow_env(policy_file=policy(tmp_path, "[budget]\nactions = 10\n[recurrence]\nmax = 2\n"))
    statuses = [run(adf_alert(adf_failed_run(sb))).status]
    statuses += [run(adf_alert(fails_again(sb))).status for _ in range(2)]
    assert statuses == [IncidentStatus.RESOLVED, IncidentStatus.RESOLVED, IncidentStatus.ESCALATED]
    first, second, third = store.incidents()
    assert first.fix_held is False and second.fix_held is False and second.recurrence_of == first.id
    assert "keeps coming back" in (third.decision_reason or "")
    stats = {row["error_type"]: row for row in store.stats()}
    assert stats["GatewayTimeout"]["refire_rate"] == 1.0
    by_resource = {row["resource"]: row for row in store.stats(by="resource")}
    assert by_resource["adf-sales/CopySales"]["refired"] == 2


def test_a_denied_resource_is_not_touched(load: Any, flow_env: Any, run: Any, tmp_path: Path) -> None:
    sb: Sandbox = load("gateway-timeout")
    store = flow_env(policy_file=policy(tmp_path, '[resources]\ndeny = ["pipeline:Copy*"]\n'))
    result = run(adf_alert(adf_failed_run(sb)))
    assert result.status == IncidentStatus.ESCALATED
    incident = store.get(result.incident_id)
    assert incident is not None and "denied by pattern 'pipeline:Copy*'" in (incident.decision_reason or "")
    assert sb.state.counts()["recovery_runs"] == 0


def test_replay_reports_what_a_candidate_policy_changes(load: Any, flow_env: Any, run: Any, tmp_path: Path) -> None:
    sb: Sandbox = load("gateway-timeout")
    flow_env(mode="dry-run")
    run(adf_alert(adf_failed_run(sb)))
    # In dry-run nothing was healed; under mode on with the default policy it would be.
    healed = cli("replay", "--since", "1d", "--json")
    assert healed.exit_code == 0 and '"change":"now-heals"' in healed.output.replace(" ", "")
    asks = cli("replay", "--since", "1d", "--json", "--policy", policy(tmp_path, ALWAYS))
    assert '"after":"approve-first"' in asks.output.replace(" ", "")
    bad = cli("replay", "--policy", policy(tmp_path, "[approval]\ndefault = 'sometimes'\n"))
    said = " ".join(bad.output.split())
    assert bad.exit_code == 2 and "policy.toml, line 2: approval.default" in said


def paused_without_form(client: SyncPrefectClient) -> tuple[UUID, dict[str, str]]:
    """A run paused for approval whose form's schema is not stored yet: the window between Prefect's pause and
    its storing the schema (prefect.flow_runs.pause_flow_run), held open. The run's id and the form's keyset."""

    @flow
    def waiting() -> None:
        pass

    flow_run = client.create_flow_run(waiting)
    client.set_flow_run_state(flow_run.id, Running(), force=True)
    paused = Paused(timeout_seconds=60, pause_key="approval-1-0")
    keyset = keyset_from_paused_state(paused)
    paused.state_details.run_input_keyset = keyset
    client.set_flow_run_state(flow_run.id, paused, force=True)
    return flow_run.id, keyset


def test_an_answer_waits_for_the_form_prefect_stores_just_after_the_pause(prefect_server: None) -> None:
    """Prefect pauses a run a moment before it stores the form's schema (prefect.flow_runs.pause_flow_run),
    and its server turns an answer away in between ("Run input schema not found."): `autoheal approve`
    waits for the form instead of failing. Here the window is held open: a run paused, no schema yet."""
    with get_client(sync_client=True) as client:
        run_id, keyset = paused_without_form(client)

        failures: list[BaseException] = []

        def send() -> None:
            try:
                answer(str(run_id), Answer(approve=True, by="bob"), wait_seconds=20)
            except BaseException as exc:  # reported by the assertions below
                failures.append(exc)

        sender = threading.Thread(target=send, daemon=True)
        sender.start()
        time.sleep(1.0)
        assert sender.is_alive() and not failures, failures  # turned away, still waiting for the form
        ApprovalInput.save(keyset, flow_run_id=run_id)
        sender.join(20)
        assert not sender.is_alive() and not failures, failures
        state = client.read_flow_run(run_id).state
        assert state is not None and not state.is_paused()
        taken = ApprovalInput.load(keyset, flow_run_id=run_id)
        assert (taken.approve, taken.by) == (True, "bob")


def test_an_answer_to_a_pause_whose_form_never_comes_names_prefects_refusal(prefect_server: None) -> None:
    """A run paused with no form stored (the window above, held past the wait): the error says what Prefect
    kept answering, not that the run is not waiting (it is Paused, which would send a person looking for
    the wrong fault)."""
    with get_client(sync_client=True) as client:
        run_id, _ = paused_without_form(client)
        with pytest.raises(RuntimeError) as refused:
            answer(str(run_id), Answer(approve=True, by="bob"), wait_seconds=1)
        said = str(refused.value)
        assert "did not take the answer within 1 s" in said and "Run input schema not found." in said, said
        assert "not waiting" not in said
        state = client.read_flow_run(run_id).state
        assert state is not None and state.is_paused()  # nothing lost: the run still waits for an answer
