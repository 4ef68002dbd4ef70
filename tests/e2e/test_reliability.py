"""Nothing acknowledged is lost, nothing is stranded (issue 13), on the real stack: a Prefect server
on PostgreSQL, the served deployments with flow runs in their own processes, the receiver and the
sandbox."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import httpx
import pytest

from autoheal.app.demo import wait_for_failures, wait_until_done
from autoheal.app.stack import Stack
from autoheal.domain.values import IncidentStatus
from autoheal.store.store import Store, _new_incident
from autoheal.store.tables import utcnow
from flows.children import run_process_name
from sandbox.scenario import ClusterSpec, DatabricksSpec, JobRunStart, JobSpec, Scenario, TaskSpec, TerminationReason
from tests.e2e.conftest import load
from tests.e2e.test_alert_path import adf_alert, failed_adf_run, stack_token
from tests.processes import command, descendants, name_of, wait_gone

pytestmark = pytest.mark.filterwarnings("ignore:unclosed <socket.socket:ResourceWarning")


async def _flow_run(flow_run_id: str) -> Any:
    from prefect import get_client

    async with get_client() as client:
        return await client.read_flow_run(UUID(flow_run_id))


def test_a_242_kb_body_of_emoji_becomes_a_flow_run_with_small_parameters(world: tuple[Stack, Store]) -> None:
    """Once, its event's parameters passed Prefect's 512 KB limit: no run, only a warning, and the
    incident stayed received for good. Now the event carries the text cut; the store has it whole."""
    stack, store = world
    load(stack, "gateway-timeout")
    run_id = failed_adf_run(stack)
    payload = adf_alert(run_id)
    payload["data"]["alertContext"]["properties"]["ErrorMessage"] = "\U0001f525" * 60_500
    body = json.dumps(payload, ensure_ascii=False).encode()
    assert 240_000 < len(body) < 256 * 1024 and len(json.dumps(payload)) > 512 * 1024
    answer = httpx.post(
        f"{stack.receiver_url}/alerts/azure-monitor",
        content=body,
        headers={"X-Autoheal-Token": stack_token(), "Content-Type": "application/json"},
        timeout=30,
    )
    assert answer.status_code == 202, answer.text
    incident_id = answer.json()["incident_id"]
    wait_until_done([incident_id], timeout=120)
    incident = store.get(incident_id)
    assert incident is not None and incident.status == "resolved" and incident.flow_run_id is not None
    stored = json.loads(incident.alert_json)["error_message"]
    assert len(stored) == 60_500  # the whole text stays in the store
    run = asyncio.run(_flow_run(incident.flow_run_id))
    assert len(json.dumps(run.parameters)) < 64 * 1024
    assert run.parameters["alert"]["message_chars"] == 60_500


LEASE_RESOURCE = f"cluster:lease-test-{os.getpid()}"


def _active_slots(stack: Stack) -> int:
    from tasks.locks import limit_name

    response = httpx.get(f"{stack.api_url}/v2/concurrency_limits/{limit_name(LEASE_RESOURCE)}", timeout=5)
    return int(response.json()["active_slots"])


@dataclass
class KilledHolder:
    killed_at: float  # time.monotonic()
    freed_at: list[float]  # when its slot was first seen free, once it was
    watcher: threading.Thread


@pytest.fixture(scope="module", autouse=True)
def slot_held_by_a_killed_process(stack: Stack) -> Iterator[KilledHolder]:
    """A process that took a guard's slot and was killed inside it when this module starts, and a
    watcher that notes when the slot comes free: the lease test, last in the module, reads it then,
    without waiting out the lease on its own (the tests between take longer than the lease)."""
    code = (
        "import time\nfrom tasks.locks import resource_guard\n"
        f"with resource_guard({LEASE_RESOURCE!r}):\n"
        "    print('held', flush=True)\n    time.sleep(600)\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, env={**os.environ})
    assert holder.stdout is not None and holder.stdout.readline().strip() == b"held"
    assert _active_slots(stack) == 1
    holder.kill()
    holder.wait()
    holder.stdout.close()
    killed_at, freed_at = time.monotonic(), list[float]()

    def watch() -> None:
        while time.monotonic() < killed_at + 300:
            with contextlib.suppress(httpx.HTTPError):
                if _active_slots(stack) == 0:
                    freed_at.append(time.monotonic())
                    return
            time.sleep(1)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    yield KilledHolder(killed_at, freed_at, watcher)
    assert not descendants(holder.pid)


def run_processes(stack: Stack, flow_run_id: str | None) -> list[int]:
    """The processes under the runner that run this flow run: each names itself after its run."""
    assert stack.serve is not None and flow_run_id is not None
    return [pid for pid in descendants(stack.serve.pid) if name_of(pid) == run_process_name(flow_run_id)]


def slow_start(start_seconds: float) -> Scenario:
    """One job run failed on a dead cluster whose start takes ``start_seconds`` of sandbox time."""
    cluster = "0923-164208-slow001"
    return Scenario(
        name="slow-start",
        databricks=DatabricksSpec(
            clusters=[
                ClusterSpec(
                    cluster_id=cluster,
                    state="TERMINATED",
                    termination_reason=TerminationReason(code="CLOUD_PROVIDER_SHUTDOWN"),
                    start_seconds=start_seconds,
                )
            ],
            jobs=[JobSpec(job_id=700, name="slow", tasks=[TaskSpec(task_key="main", existing_cluster_id=cluster)])],
            runs=[JobRunStart(job_id=700)],
        ),
    )


def _wait(predicate: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout}s: {what}")


def remediating_on_a_slow_start(stack: Stack, store: Store) -> Any:
    """An alert for a job run failed on a dead cluster that takes 15 real seconds to start, followed
    until its cluster start was asked for and its incident is remediating: the moment to kill or freeze."""
    assert stack.sandbox is not None
    load(stack, slow_start(start_seconds=6000 * 15))
    wait_for_failures(stack.sandbox)
    (run,) = list(stack.sandbox.state.workspace.runs.values())
    answer = stack.post(
        "/alerts/databricks",
        {"event_type": "jobs.on_failure", "workspace_id": "1", "run": {"run_id": run.run_id}, "job": {"job_id": 700}},
    )
    incident_id = answer.json()["incident_id"]
    _wait(lambda: stack.sandbox.state.counts()["cluster_starts"] == 1, 60, "the cluster start")
    return _wait(lambda: (i := store.get(incident_id)) and i.status == "remediating" and i, 30, "remediating")


@pytest.mark.timeout(400)
def test_a_flow_run_killed_mid_remediation_is_finished_by_the_reconciler_without_a_second_start(
    world: tuple[Stack, Store],
) -> None:
    stack, store = world
    assert stack.sandbox is not None and stack.serve is not None
    incident = remediating_on_a_slow_start(stack, store)  # the start asked for, the run waits for it
    incident_id = int(incident.id or 0)
    runs = _wait(lambda: run_processes(stack, incident.flow_run_id), 30, "the run's process")
    assert len(runs) == 1, runs
    os.kill(runs[0], signal.SIGKILL)

    dead = _wait(
        lambda: (r := asyncio.run(_flow_run(incident.flow_run_id))).state.is_final() and r, 60, "Prefect marks it"
    )
    assert dead.state.type.value == "CRASHED"
    assert store.get(incident_id).status == "remediating"  # type: ignore[union-attr]  # stranded until reconciled

    from prefect.deployments import run_deployment

    reconciled: Any = run_deployment("reconcile/reconcile", parameters={"idle_seconds": 0}, timeout=120)
    assert reconciled.state.is_completed()
    wait_until_done([incident_id], timeout=180)
    final = store.get(incident_id)
    assert final is not None and final.status == "resolved" and final.recoveries == 1
    assert "ended Crashed" in (final.last_recovery or "")
    attempts = store.attempts(incident_id)
    assert attempts[0].outcome == "crashed" and attempts[-1].verified
    counts = stack.sandbox.state.counts()
    assert counts["cluster_starts"] == 1 and counts["repairs"] == 1  # nothing done twice


def test_the_reconciler_leaves_live_runs_alone_and_finished_incidents_unseen(world: tuple[Stack, Store]) -> None:
    stack, store = world
    load(stack, "gateway-timeout")
    run_id = failed_adf_run(stack)
    answer = stack.post("/alerts/azure-monitor", adf_alert(run_id))
    wait_until_done([answer.json()["incident_id"]])
    from prefect.deployments import run_deployment

    reconciled: Any = run_deployment("reconcile/reconcile", parameters={"idle_seconds": 0}, timeout=120)
    assert reconciled.state.is_completed()
    time.sleep(2)  # a run it started, were there one, would have claimed by now
    assert store.get(answer.json()["incident_id"]).recoveries == 0  # type: ignore[union-attr]
    assert stack.sandbox is not None and stack.sandbox.state.counts()["recovery_runs"] == 1


@pytest.mark.timeout(500)
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_the_runner_killed_mid_remediation_the_run_ends_and_is_picked_up_when_it_is_back(
    world: tuple[Stack, Store], sig: int
) -> None:
    """SIGKILL of `flows.serve` (the runner) with a run in flight: its fork server and the run get
    their parent-death signal, Prefect marks the run ended, and once the runner is back the
    reconciler finishes the incident, with no second cluster start. SIGTERM is what `autoheal up`
    sends its runner once its stop grace is over (autoheal/app/stack.py, `Stack.stop`), and what
    systemd or Kubernetes send: the runner cancels the run it cannot finish, with the same ending."""
    stack, store = world
    assert stack.sandbox is not None and stack.serve is not None
    incident = remediating_on_a_slow_start(stack, store)  # the start asked for, the run waits for it
    incident_id = int(incident.id or 0)
    runner_tree = [stack.serve.pid, *descendants(stack.serve.pid)]
    stack.serve.send_signal(sig)
    stack.serve.wait(timeout=60)
    left = wait_gone(runner_tree, timeout=30)
    assert not left, [command(p) for p in left]  # the fork server and the flow run went with it
    dead = _wait(
        lambda: (r := asyncio.run(_flow_run(incident.flow_run_id))).state.is_final() and r, 150, "the run ended"
    )
    assert dead.state.type.value in {"CRASHED", "CANCELLED", "FAILED"}
    assert store.get(incident_id).status == "remediating"  # type: ignore[union-attr]

    stack.start_serving()  # the runner is back
    from prefect.deployments import run_deployment

    reconciled: Any = run_deployment("reconcile/reconcile", parameters={"idle_seconds": 0}, timeout=120)
    assert reconciled.state.is_completed()
    wait_until_done([incident_id], timeout=180)
    final = store.get(incident_id)
    assert final is not None and final.status == "resolved" and final.recoveries == 1
    counts = stack.sandbox.state.counts()
    assert counts["cluster_starts"] == 1 and counts["repairs"] == 1


def test_an_event_prefect_made_no_run_of_is_started_by_the_reconciler(world: tuple[Stack, Store]) -> None:
    """As when Prefect refused the run's parameters: the incident is received, its event marked
    sent, and no flow run claims it. The reconciler starts the run from the deployment itself."""
    stack, store = world
    load(stack, "gateway-timeout")
    run_id = failed_adf_run(stack)
    from autoheal.domain.alerts import Alert

    alert = Alert(
        source="azure-monitor",
        service="adf",
        resource_group="rg-data",
        factory="adf-sales",
        pipeline="CopySales",
        run_id=run_id,
    )
    # Stored as the receiver does, its event marked sent as if Prefect had taken it, in one write: stored
    # and marked in two, the stack's outbox once sent the event in between, and a normal run took it.
    incident = _new_incident(alert, raw=None, status=IncidentStatus.RECEIVED, flow_run_id=None)
    incident.event_sent_at, incident.event_attempts = utcnow(), 1
    with store.session() as session:
        session.add(incident)
        session.commit()
        session.refresh(incident)
    from prefect.deployments import run_deployment

    reconciled: Any = run_deployment(
        "reconcile/reconcile", parameters={"idle_seconds": 0, "received_idle_seconds": 0}, timeout=120
    )
    assert reconciled.state.is_completed()
    wait_until_done([int(incident.id or 0)], timeout=120)
    final = store.get(int(incident.id or 0))
    assert final is not None and final.status == "resolved" and final.recoveries == 1
    assert "made no flow run" in (final.last_recovery or "")
    assert stack.sandbox is not None and stack.sandbox.state.counts()["recovery_runs"] == 1


@pytest.mark.timeout(500)
def test_a_flow_run_whose_heartbeats_stop_is_marked_crashed_and_reconciled(world: tuple[Stack, Store]) -> None:
    """A run frozen (SIGSTOP: alive to its runner, silent to Prefect), as one on a machine that hangs:
    the zombie automation (flows/serve.py) marks it Crashed once its heartbeats stop, and the
    reconciler finishes its incident with no second cluster start."""
    stack, store = world
    assert stack.sandbox is not None and stack.serve is not None
    incident = remediating_on_a_slow_start(stack, store)  # the start asked for, the run waits for it
    incident_id = int(incident.id or 0)
    (frozen,) = _wait(lambda: run_processes(stack, incident.flow_run_id), 30, "the run's process")
    os.kill(frozen, signal.SIGSTOP)
    try:
        dead = _wait(
            lambda: (r := asyncio.run(_flow_run(incident.flow_run_id))).state.is_final() and r, 240, "marked crashed"
        )
        assert dead.state.type.value == "CRASHED" and "heartbeat" in (dead.state.message or "")
    finally:
        os.kill(frozen, signal.SIGKILL)
        os.kill(frozen, signal.SIGCONT)
    from prefect.deployments import run_deployment

    reconciled: Any = run_deployment("reconcile/reconcile", parameters={"idle_seconds": 0}, timeout=120)
    assert reconciled.state.is_completed()
    wait_until_done([incident_id], timeout=180)
    final = store.get(incident_id)
    assert final is not None and final.status == "resolved" and final.recoveries == 1
    counts = stack.sandbox.state.counts()
    assert counts["cluster_starts"] == 1 and counts["repairs"] == 1


# Secrets in the forms the redaction once missed (tests/unit/test_redaction.py), each with the part
# that must be found nowhere.
PLANTED = [
    ("Server=db;Password=Hunter Tail9Leak;Encrypt=True", "Tail9Leak"),
    ("token dapi0123456789abcdef0123456789abcdefQ was refused", "0123456789abcdef0123"),
    ("sig=Zm9vYmFyU2lnbmF0dXJlU2VjcmV0&se=1", "Zm9vYmFyU2lnbmF0dXJl"),
    ("Pwd={Brace;Leak7Secret};Database=dw", "Leak7Secret"),
    ("conn=password%3DUrlEnc0dedLeak%3Buser%3Detl", "UrlEnc0dedLeak"),
]


@pytest.mark.timeout(300)
def test_planted_secrets_reach_neither_the_store_nor_prefects_database_nor_the_logs(
    world: tuple[Stack, Store],
) -> None:
    """Alerts whose error text holds secrets go the whole way (event, automation, flow run with its
    parameters, tasks, artifact); then the store, every table of the Prefect server's database
    (events, flow-run parameters, artifacts, logs) and the processes' log files are searched."""
    from sqlalchemy import create_engine, text

    stack, store = world
    load(stack, "gateway-timeout")
    run_id = failed_adf_run(stack)
    payload = adf_alert(run_id)
    payload["data"]["alertContext"]["properties"]["ErrorMessage"] = " | ".join(secret for secret, _ in PLANTED)
    answer = stack.post("/alerts/azure-monitor", payload)
    assert answer.status_code == 202
    wait_until_done([answer.json()["incident_id"]])
    time.sleep(5)  # the server writes events and logs in batches
    leaks = [leak for _, leak in PLANTED]

    with store.engine.connect() as conn:
        for table in ("incidents", "remediation_attempts", "rejected_payloads", "ignored_alerts"):
            for leak in leaks:
                found = conn.execute(
                    text(f"SELECT count(*) FROM {table} t WHERE CAST(t AS text) LIKE :p"), {"p": f"%{leak}%"}
                )
                assert found.scalar() == 0, (table, leak)
    assert stack.prefect_database_url is not None
    prefect_db = create_engine(stack.prefect_database_url.replace("+asyncpg", "+psycopg"))
    try:
        with prefect_db.connect() as conn:
            tables = [
                row[0]
                for row in conn.execute(
                    text("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")
                )
            ]
            assert {"flow_run", "artifact", "events", "log"} <= set(tables)
            seen = conn.execute(
                text("SELECT count(*) FROM flow_run t WHERE CAST(t.parameters AS text) LIKE :p"), {"p": f"%{run_id}%"}
            )
            assert seen.scalar() >= 1  # the run's parameters are there, and were searched
            for table in tables:
                for leak in leaks:
                    query = text(f'SELECT count(*) FROM "{table}" t WHERE CAST(t AS text) LIKE :p')
                    assert conn.execute(query, {"p": f"%{leak}%"}).scalar() == 0, (table, leak)
    finally:
        prefect_db.dispose()
    for log in stack.workdir.rglob("*.log"):
        content = log.read_text(errors="replace")
        for leak in leaks:
            assert leak not in content, (log, leak)


@pytest.mark.timeout(400)
def test_a_concurrency_slot_held_by_a_killed_process_is_freed_by_its_lease(
    slot_held_by_a_killed_process: KilledHolder,
) -> None:
    """Prefect has had slot-leak bugs; the guard's lease (60 s, tasks/locks.py) bounds what a
    process killed inside it can hold (the module's fixture killed one when the module started)."""
    killed = slot_held_by_a_killed_process
    killed.watcher.join(timeout=max(0.0, killed.killed_at + 300 - time.monotonic()))
    assert killed.freed_at, "the slot was still taken 300 s after its holder was killed"
    assert killed.freed_at[0] - killed.killed_at <= 150
