"""Scale-out on Prefect's own parts: two served runners (`python -m flows.serve`, each with its own fork
server) serving the same deployments against one Prefect server on PostgreSQL.

A storm on dead clusters, every Databricks failure delivered twice: Prefect hands each flow run to exactly
one runner (its state history has one Pending and one Running; its run is logged by one runner), the
store's claim and the sandbox see one cluster start per dead cluster, one repair or rerun per failure and
nothing done twice, and every incident ends terminal. Then the same with one runner's machine lost
(SIGKILL of its process group and everything under it) halfway: the other runner takes every run that
had not started.

Each runner may run 3 flow runs at once here, so a queue builds and the kill has runs to hand over. The
module's two tests share one stack; the kill comes last.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from autoheal import services as context
from autoheal.app.demo import TERMINAL, wait_for_failures
from autoheal.app.scratch import clean_environment, scratch_databases
from autoheal.app.stack import Stack
from autoheal.domain.alerts import Alert
from autoheal.store.store import Store
from bench.storm import twice
from bench.worlds import SETTINGS, alerts, dead_clusters
from sandbox.scenario import Scenario
from tests.e2e.conftest import PG, end_runs_in_flight
from tests.e2e.prefect_api import prefect_of

# Each configuration drops its scratch databases at the end; a psycopg connection of its store that the
# garbage collector closes after that warns from its __del__: expected here, for that class only.
pytestmark = [
    pytest.mark.filterwarnings("ignore:unclosed <socket.socket:ResourceWarning"),
    pytest.mark.filterwarnings(
        "ignore:Exception ignored in.*BaseConnection.__del__:pytest.PytestUnraisableExceptionWarning"
    ),
]

CLUSTERS, PER_CLUSTER, PIPELINES = 2, 5, 4  # 14 incidents, 24 deliveries: still a queue for 2 runners x 3
RUNNERS, LIMIT = 2, 3
VIEW_AT = re.compile(r"/runs/flow-run/([0-9a-f-]{36})")


def world() -> Scenario:
    return dead_clusters(clusters=CLUSTERS, runs_per_cluster=PER_CLUSTER, adf_runs=PIPELINES)


@pytest.fixture(scope="module")
def runners(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir: Path = tmp_path_factory.mktemp("scale")
    # Its own environment and databases: a session stack of the other e2e tests gets its own back after.
    with clean_environment(), scratch_databases("autoheal_e2e", PG) as (prefect_db, store_db):
        stack = Stack(
            workdir,
            scenario=world(),
            prefect_database_url=prefect_db,
            settings={
                **SETTINGS,
                "AUTOHEAL_DATABASE_URL": store_db,
                "AUTOHEAL_RECEIVER_PORT": "0",
                "AUTOHEAL_RUNNER_LIMIT": str(LIMIT),
            },
            runners=RUNNERS,
        )
        try:
            stack.start()
            with prefect_of(stack):
                yield stack
        finally:
            stack.stop(grace_seconds=0)  # the killed runner's runs stay Running in Prefect: no grace to wait out


@dataclass
class Storm:
    incidents: dict[int, Any]
    runs: dict[int, dict[str, Any]]  # incident id -> Prefect's record of its flow run (its alert parameter)
    extra_runs: list[str]  # remediate runs of this storm beyond one per incident
    states: dict[str, Counter[str]]  # flow run id -> the names of the states it went through
    ran_by: dict[str, list[int]]  # flow run id -> the runners whose log shows it running
    counts: dict[str, int]
    twice: dict[str, int]
    killed: list[int] = field(default_factory=list)


def _api(stack: Stack, method: str, path: str, **kwargs: Any) -> Any:
    response = httpx.request(method, f"{stack.api_url}{path}", timeout=30, **kwargs)
    response.raise_for_status()
    return response.json()


def run_storm(stack: Stack, store: Store, *, fresh: bool, kill_when_terminal: int | None = None) -> Storm:
    assert stack.sandbox is not None
    if fresh:
        stack.sandbox.load(world())  # fresh run ids: Prefect remembers event ids, which derive from them
    # The sweep runs when the runners start, and its incidents' runs would write into the store dropped here.
    asyncio.run(end_runs_in_flight(stack))
    store.drop_all()
    store.migrate()
    wait_for_failures(stack.sandbox)
    unique = alerts(stack.sandbox)
    items = [a for a in unique for _ in range(2 if a[0] == "/alerts/databricks" else 1)]
    random.Random(7).shuffle(items)
    logs = {i: _log_size(stack, i) for i in range(RUNNERS)}
    since = datetime.now(UTC)
    for path, payload in items:
        assert stack.post(path, payload).status_code in (200, 202)
    ids = [int(i.id or 0) for i in store.incidents(limit=1000)]
    assert len(ids) == len(unique)
    killed: list[int] = []
    if kill_when_terminal is not None:
        deadline = time.monotonic() + 120
        while sum(_terminal(store, i) for i in ids) < kill_when_terminal and time.monotonic() < deadline:
            time.sleep(0.2)
        killed = stack.kill_runner(RUNNERS - 1)
    settle(stack, store, ids, timeout=180)
    time.sleep(1)  # the last runs' final state and log lines
    incidents = {i: store.get(i) for i in ids}
    deployment = _api(stack, "GET", "/deployments/name/remediate/remediate")["id"]
    body = {
        "flow_runs": {"expected_start_time": {"after_": since.isoformat()}, "parent_task_run_id": {"is_null_": True}},
        "deployments": {"id": {"any_": [deployment]}},
        "limit": 200,
    }
    listed = {r["id"]: r for r in _api(stack, "POST", "/flow_runs/filter", json=body)}
    fingerprints = {run_id: Alert.model_validate(r["parameters"]["alert"]).fingerprint for run_id, r in listed.items()}
    runs: dict[int, dict[str, Any]] = {}
    for i, row in incidents.items():
        assert row is not None
        (run,) = [listed[r] for r, f in fingerprints.items() if f == row.fingerprint]  # one flow run each
        assert row.flow_run_id in (None, run["id"]), (i, row.flow_run_id, run["id"])  # claimed by that run
        runs[i] = run
    named = {run["id"] for run in runs.values()}
    # By name: Prefect 3.9's runner goes Pending, then Submitting (a Pending too), then Running.
    states = {
        run_id: Counter(s["name"] for s in _api(stack, "GET", "/flow_run_states/", params={"flow_run_id": run_id}))
        for run_id in named
    }
    ran_by: dict[str, list[int]] = {run_id: [] for run_id in named}
    for index, offset in logs.items():
        for run_id in set(VIEW_AT.findall(_log(stack, index)[offset:])):
            if run_id in ran_by:
                ran_by[run_id].append(index)
    return Storm(
        incidents=incidents,
        runs=runs,
        extra_runs=sorted(set(listed) - named),
        states=states,
        ran_by=ran_by,
        counts=stack.sandbox.state.counts(),
        twice=twice(stack.sandbox),
        killed=killed,
    )


def settle(stack: Stack, store: Store, ids: list[int], *, timeout: float, still: float = 20) -> None:
    """Until every incident is terminal, or none has become terminal for ``still`` seconds while no flow
    run waits for a runner (what a killed runner strands never ends)."""
    deadline = time.monotonic() + timeout
    done, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        now = sum(_terminal(store, i) for i in ids)
        if now == len(ids) or (now == done and time.monotonic() - since > still and not _waiting(stack)):
            return
        if now != done:
            done, since = now, time.monotonic()
        time.sleep(0.5)


def _waiting(stack: Stack) -> int:
    """`remediate` runs due (scheduled or late) that no runner has taken yet (not the sweep's future ones)."""
    body = {
        "flow_runs": {"state": {"type": {"any_": ["SCHEDULED"]}}, "expected_start_time": {"before_": _now()}},
        "deployments": {"name": {"any_": ["remediate"]}},
    }
    return int(_api(stack, "POST", "/flow_runs/count", json=body))


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _terminal(store: Store, incident_id: int) -> bool:
    row = store.get(incident_id)
    return row is not None and row.status in TERMINAL


def _log(stack: Stack, index: int) -> str:
    path = stack.workdir / ("serve.log" if index == 0 else f"serve-{index + 1}.log")
    return path.read_text(errors="replace") if path.exists() else ""


def _log_size(stack: Stack, index: int) -> int:
    return len(_log(stack, index))


def _why(storm: Storm, store: Store) -> list[Any]:
    return [
        (i, row.status, row.outcome, [(a.number, a.outcome, a.detail) for a in store.attempts(i)])
        for i, row in storm.incidents.items()
        if row is not None and row.status not in TERMINAL
    ]


@pytest.mark.timeout(400)
def test_two_served_runners_share_a_storm_and_act_exactly_once(runners: Stack) -> None:
    store = context.get_store()
    storm = run_storm(runners, store, fresh=False)
    # One automation for the alert trigger, although each runner applied the deployment.
    automations = _api(runners, "POST", "/automations/filter", json={})
    assert [a["name"] for a in automations].count("autoheal-alert-received") == 1
    assert not _why(storm, store), _why(storm, store)
    assert all(row is not None and row.status == "resolved" for row in storm.incidents.values())
    # One flow run per incident, which claimed it in the store.
    assert not storm.extra_runs
    assert all(storm.runs[i]["id"] == row.flow_run_id for i, row in storm.incidents.items())
    # Prefect: each run submitted once (one Pending) and run once (one Running), by exactly one runner.
    assert all(s["Pending"] == 1 and s["Running"] == 1 for s in storm.states.values()), storm.states
    assert all(run["state_type"] == "COMPLETED" and run["run_count"] == 1 for run in storm.runs.values())
    assert all(len(by) == 1 for by in storm.ran_by.values()), storm.ran_by
    per_runner = Counter(by[0] for by in storm.ran_by.values())
    assert set(per_runner) == set(range(RUNNERS)), per_runner  # both took work
    # The sandbox: one start per dead cluster, one repair per failed job run, one rerun per pipeline.
    assert storm.counts["cluster_starts"] == CLUSTERS, storm.counts
    assert storm.counts["repairs"] == CLUSTERS * PER_CLUSTER, storm.counts
    assert storm.counts["recovery_runs"] == PIPELINES, storm.counts
    assert sum(storm.twice.values()) == 0, storm.twice


@pytest.mark.timeout(400)
def test_with_one_runner_killed_halfway_the_other_finishes_the_work(runners: Stack) -> None:
    store = context.get_store()
    incidents = CLUSTERS * PER_CLUSTER + PIPELINES
    storm = run_storm(runners, store, fresh=True, kill_when_terminal=incidents // 2)
    assert storm.killed, "the runner was not killed"
    assert len(storm.runs) == incidents and not storm.extra_runs
    # Nothing done twice, and no flow run submitted or run twice, across the kill.
    assert sum(storm.twice.values()) == 0, storm.twice
    assert all(s["Pending"] == 1 and s["Running"] <= 1 for s in storm.states.values()), storm.states
    assert all(len(by) <= 1 for by in storm.ran_by.values()), storm.ran_by
    # What is not terminal is exactly what was running in the killed runner's processes: its flow runs
    # never finish (Pending or Running in Prefect), and it ran them (or died before logging them).
    stranded = {i: row for i, row in storm.incidents.items() if row is not None and row.status not in TERMINAL}
    # (The reconciler may already be taking them over on the survivor: which runner logged a stranded
    # run is not asserted; that they are not finished, and not done twice below, is.)
    for i in stranded:
        assert storm.runs[i]["state_type"] not in ("COMPLETED",), (i, storm.runs[i]["state_type"])
    # Everything else ended, and every run that had not started when the runner died ran on the survivor.
    done = {i: row for i, row in storm.incidents.items() if i not in stranded and row is not None}
    # A done incident's run completed; or the reconciler finished the incident; or its run was in the
    # killed runner, which had written the incident's end to the store and died before telling Prefect.
    unfinished = {
        i: (storm.runs[i]["state_type"], storm.ran_by[storm.runs[i]["id"]])
        for i, row in done.items()
        if storm.runs[i]["state_type"] != "COMPLETED" and row.recoveries == 0
    }
    assert all(by in ([], [RUNNERS - 1]) for _, by in unfinished.values()), unfinished
    assert len(stranded) < incidents // 2, (len(stranded), _why(storm, store))  # about one runner's slots
    survivor = Counter(by[0] for by in storm.ran_by.values() if by)
    assert survivor[0] > 0
    # Each finished incident acted once on its own target; each cluster was started once.
    assert storm.counts["cluster_starts"] == CLUSTERS, storm.counts
    resolved = [row for row in done.values() if row.status == "resolved"]
    assert len(resolved) == len(done), _why(storm, store)
    dbx = sum(1 for row in resolved if row.service == "databricks")
    assert dbx <= storm.counts["repairs"] <= dbx + len(stranded), storm.counts
    adf = len(resolved) - dbx
    assert adf <= storm.counts["recovery_runs"] <= adf + len(stranded), storm.counts
    # What the killed runner held stays claimed until Prefect marks its runs Crashed (their heartbeats
    # stop) and the reconciler starts them again: tests/e2e/test_reliability.py proves that path; this
    # test proves the survivor took everything else, exactly once.
    assert all(row.status in ("received", "open", "remediating") for row in stranded.values()), stranded
