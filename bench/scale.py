"""Scale-out on Prefect's own parts: the storm world against one Prefect server on PostgreSQL, with one
served runner, with N of a kind, and with N of that kind and one killed halfway, all in the same run.

    python -m bench.storm --workers 2 --kind served    # N served runners (`python -m flows.serve` each)
    python -m bench.storm --workers 2 --kind worker    # N `prefect worker start` of one process pool

Each configuration gets fresh databases and a fresh stack (server, receiver in its own process, sandbox).
First, webhook to first action: PROBES pipeline failures sent one at a time, each waited on until its
incident is terminal (the first of each runner's only warms it and is not counted); the first action is
the pipeline rerun's call, read from the sandbox's journal. Then the storm: every Databricks failure
delivered COPIES times, 20 requests in flight. Reported per configuration: time to all terminal and
incidents/s; CPU-s per incident over every process (server, receiver, each runner or worker and the
flow runs under it; a killed one counted up to its death); exactly-once from the sandbox (starts,
repairs, reruns, anything done twice), from Prefect (each flow run's states: one Pending, one Running)
and from the runners' logs (which one ran each flow run); and what a kill strands.

Each runner or worker may run ``10 // N`` flow runs at once (``--limit`` to change), so the total is the
single runner's 10: the machine has 2 cores, and the comparison is of the topologies, not of more slots.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any, Literal

import httpx
from rich.console import Console
from rich.table import Table

from autoheal import services as context
from autoheal.app.demo import TERMINAL, wait_for_failures
from autoheal.app.scratch import clean_environment as environment
from autoheal.app.stack import Stack
from autoheal.domain.alerts import Alert
from autoheal.settings import get_settings
from autoheal.store.store import Store
from bench.common import PACE, RESULTS, envelope, machine, percentile, smoke
from bench.overhead import databases
from bench.processes import MemorySampler, cmdline, parent, tree_cpu_seconds
from bench.storm import COPIES, deliver, twice
from bench.worlds import SETTINGS, alerts, dead_clusters, first_action

PROBES = 3 if smoke() else 10
VIEW_AT = re.compile(r"/runs/flow-run/([0-9a-f-]{36})")
Kind = Literal["served", "worker"]


def _arg(name: str, default: str) -> str:
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


def kind_of(role: str, pid: int, cmd: str) -> str:
    if role != "runner":
        return role
    if "forkserver" in cmd:
        return "flow run" if "forkserver" in cmdline(parent(pid)) else "fork server"
    if "resource_tracker" in cmd:
        return "resource tracker"
    if "flows.serve" in cmd:
        return "runner"
    return "worker" if "worker start" in cmd else "flow run"


def _api(url: str, method: str, path: str, **kwargs: Any) -> Any:
    response = httpx.request(method, f"{url}{path}", timeout=60, **kwargs)
    response.raise_for_status()
    return response.json()


def _terminal(store: Store, ids: list[int]) -> int:
    return sum(1 for i in ids if (row := store.get(i)) is not None and row.status in TERMINAL)


def _waiting(api_url: str) -> int:
    """`remediate` runs due (scheduled or late) that no runner or worker has taken (not the sweep's future ones)."""
    now = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
    body = {
        "flow_runs": {"state": {"type": {"any_": ["SCHEDULED"]}}, "expected_start_time": {"before_": now}},
        "deployments": {"name": {"any_": ["remediate"]}},
    }
    return int(_api(api_url, "POST", "/flow_runs/count", json=body))


def settle(
    stack: Stack, store: Store, ids: list[int], *, started: float, timeout: float, killed: bool, still: float = 30
) -> float:
    """Seconds from ``started`` until every incident is terminal; after a kill, until none has become
    terminal for ``still`` seconds and no flow run waits for a runner (what the kill stranded never ends).
    The time returned is that of the last incident to become terminal."""
    done, last = -1, time.monotonic()
    while time.monotonic() - started < timeout:
        now = _terminal(store, ids)
        if now != done:
            done, last = now, time.monotonic()
        if now == len(ids):
            break
        if killed and time.monotonic() - last > still and _waiting(stack.api_url) == 0:
            break
        time.sleep(0.5)
    return last - started


def prefect_records(stack: Stack, store: Store, ids: list[int], since: str, logs: dict[int, int]) -> dict[str, Any]:
    """One flow run per incident? Each submitted and run once, by one runner? From Prefect and the logs."""
    deployment = _api(stack.api_url, "GET", "/deployments/name/remediate/remediate")["id"]
    listed: dict[str, Any] = {}
    while True:
        body = {
            "flow_runs": {"expected_start_time": {"after_": since}, "parent_task_run_id": {"is_null_": True}},
            "deployments": {"id": {"any_": [deployment]}},
            "limit": 200,
            "offset": len(listed),
        }
        page = _api(stack.api_url, "POST", "/flow_runs/filter", json=body)
        listed.update({r["id"]: r for r in page})
        if len(page) < 200:
            break
    per_fingerprint = Counter(Alert.model_validate(r["parameters"]["alert"]).fingerprint for r in listed.values())
    fingerprints = {row.fingerprint for i in ids if (row := store.get(i)) is not None}
    submitted_twice = ran_twice = 0
    for run_id in listed:
        names = Counter(
            s["name"] for s in _api(stack.api_url, "GET", "/flow_run_states/", params={"flow_run_id": run_id})
        )
        submitted_twice += names["Pending"] > 1
        ran_twice += names["Running"] > 1
    ran_by: dict[str, set[int]] = {}
    for index, offset in logs.items():
        for run_id in set(VIEW_AT.findall(_log(stack, index)[offset:])):
            ran_by.setdefault(run_id, set()).add(index)
    return {
        "flow_runs": len(listed),
        "incidents_without_a_run": len(fingerprints - set(per_fingerprint)),
        "incidents_with_two_runs": sum(1 for f, n in per_fingerprint.items() if n > 1),
        "submitted_twice": submitted_twice,
        "ran_twice": ran_twice,
        "ran_by_two": sum(1 for by in ran_by.values() if len(by) > 1),
        "per_runner": [sum(1 for r, by in ran_by.items() if r in listed and index in by) for index in logs],
        "states": dict(Counter(r["state_type"] for r in listed.values())),
    }


def _log(stack: Stack, index: int) -> str:
    path = stack.workdir / ("serve.log" if index == 0 else f"serve-{index + 1}.log")
    return path.read_text(errors="replace") if path.exists() else ""


def measure(
    name: str, kind: Kind, runners: int, limit: int, kill: bool, size: tuple[int, int, int], tmp: Path
) -> dict[str, Any]:
    clusters, per_cluster, adf_runs = size
    with environment(), databases("postgresql") as (prefect_db, store_db):
        stack = Stack(
            tmp / name,
            scenario=dead_clusters(
                clusters=clusters, runs_per_cluster=per_cluster, adf_runs=adf_runs + PROBES + runners
            ),
            prefect_database_url=prefect_db,
            settings={
                **SETTINGS,
                "AUTOHEAL_DATABASE_URL": store_db,
                "AUTOHEAL_RECEIVER_PORT": "0",
                "AUTOHEAL_RUNNER_LIMIT": str(limit),
            },
            receiver_process=True,
            runner=kind,
            runners=runners,
            worker_limit=limit,
        )
        with stack:
            assert stack.sandbox is not None and stack.server is not None and stack.server.process is not None
            assert stack.receiver_child is not None
            wait_for_failures(stack.sandbox)
            store = context.get_store()
            token = get_settings().webhook_token
            assert token is not None
            headers = {"X-Autoheal-Token": token.get_secret_value()}
            everything = alerts(stack.sandbox)
            pipelines = [a for a in everything if a[0] == "/alerts/azure-monitor"]
            probes, storm_adf = pipelines[: PROBES + runners], pipelines[PROBES + runners :]
            # Webhook to first action, one alert at a time; the first `runners` warm each runner up.
            latencies: list[float] = []
            with httpx.Client(base_url=stack.receiver_url, headers=headers, timeout=30) as client:
                for index, (path, payload) in enumerate(probes):
                    started = time.time()
                    answer = client.post(path, json=payload)
                    answer.raise_for_status()
                    incident = int(answer.json()["incident_id"])
                    deadline = time.monotonic() + 120
                    while _terminal(store, [incident]) == 0 and time.monotonic() < deadline:
                        time.sleep(0.05)
                    at = first_action([vars(c) for c in stack.sandbox.state.journal], started)
                    if index >= runners and at is not None:
                        latencies.append(at - started)
            probe_ids = {int(i.id or 0) for i in store.incidents(limit=100_000)}
            before = stack.sandbox.state.counts()
            items = [a for a in everything if a[0] == "/alerts/databricks" for _ in range(COPIES)] + storm_adf
            random.Random(11).shuffle(items)
            roots = {
                "server": stack.server.process.pid,
                "receiver": stack.receiver_child.pid,
                **{f"runner {n + 1}": child.pid for n, child in enumerate(stack.serves)},
            }
            cpu_before = {role: tree_cpu_seconds(pid) for role, pid in roots.items()}
            sampler = MemorySampler(roots, classify=lambda role, pid, cmd: kind_of(role.split()[0], pid, cmd)).start()
            logs = {n: len(_log(stack, n)) for n in range(runners)}
            since = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(time.time() - 1))
            started = time.monotonic()
            answers = asyncio.run(deliver(stack.receiver_url, token.get_secret_value(), items))
            ids = [int(i.id or 0) for i in store.incidents(limit=100_000) if int(i.id or 0) not in probe_ids]
            killed_cpu = 0.0
            killed_at = None
            if kill:
                while _terminal(store, ids) < len(ids) // 2 and time.monotonic() - started < 600:
                    time.sleep(0.2)
                victim = f"runner {runners}"
                killed_cpu = tree_cpu_seconds(roots[victim]) - cpu_before[victim]
                killed_at = time.monotonic() - started
                stack.kill_runner(runners - 1)
            elapsed = settle(stack, store, ids, started=started, timeout=900, killed=kill)
            sampler.stop()
            cpu = {role: tree_cpu_seconds(pid) - cpu_before[role] for role, pid in roots.items()}
            if kill:
                cpu[f"runner {runners}"] = killed_cpu
            time.sleep(1)
            rows = [store.get(i) for i in ids]
            statuses = Counter(r.status for r in rows if r is not None)
            stranded = sum(1 for r in rows if r is not None and r.status not in TERMINAL)
            records = prefect_records(stack, store, ids, since, logs)
            counts = stack.sandbox.state.counts()
            done = {k: counts[k] - before[k] for k in ("cluster_starts", "repairs", "recovery_runs")}
            doubled = twice(stack.sandbox)
            resolved_dbx = sum(
                1 for r in rows if r is not None and r.status == "resolved" and r.service == "databricks"
            )
            resolved_adf = sum(
                1 for r in rows if r is not None and r.status == "resolved" and r.service != "databricks"
            )
    incidents = len(ids)
    return {
        "config": name,
        "kind": kind,
        "runners": runners,
        "limit_each": limit,
        "killed": kill,
        "killed_after_seconds": killed_at,
        "incidents": incidents,
        "deliveries": len(items),
        "answers": dict(answers),
        "terminal_seconds": elapsed,
        "incidents_per_second": (incidents - stranded) / elapsed if elapsed else float("nan"),
        "statuses": dict(statuses),
        "stranded": stranded,
        "cpu_seconds": cpu,
        "cpu_seconds_per_incident": sum(cpu.values()) / max(incidents, 1),
        "first_action_seconds": {
            "p50": percentile(latencies, 50),
            "p95": percentile(latencies, 95),
            "n": len(latencies),
        },
        "sandbox": done,
        "expected": {"cluster_starts": clusters, "repairs": clusters * per_cluster, "recovery_runs": adf_runs},
        "resolved": {"databricks": resolved_dbx, "adf": resolved_adf},
        "twice": doubled,
        "prefect": records,
        "peak_total_rss_mib": sampler.peak_total_rss_kib / 1024,
    }


def _exactly_once(r: dict[str, Any]) -> str:
    p, s, want = r["prefect"], r["sandbox"], r["expected"]
    doubles = sum(r["twice"].values()) + p["incidents_with_two_runs"] + p["submitted_twice"] + p["ran_twice"]
    doubles += p["ran_by_two"]
    acted = ", ".join(f"{s[k]}/{want[k]}" for k in ("cluster_starts", "repairs", "recovery_runs"))
    return f"{acted}; {doubles}"


def table(results: list[dict[str, Any]]) -> list[tuple[str, list[str]]]:
    def row(label: str, value: Any) -> tuple[str, list[str]]:
        return label, [value(r) for r in results]

    return [
        row("incidents (deliveries)", lambda r: f"{r['incidents']} ({r['deliveries']:,})"),
        row(
            "all terminal after (s)",
            lambda r: f"{r['terminal_seconds']:.0f}" + (f", {r['stranded']} stranded" if r["stranded"] else ""),
        ),
        row("incidents/s", lambda r: f"{r['incidents_per_second']:.2f}"),
        row("CPU-s per incident, all processes", lambda r: f"{r['cpu_seconds_per_incident']:.2f}"),
        row(
            "  of which server / receiver / runners",
            lambda r: " / ".join(
                f"{v / max(r['incidents'], 1):.2f}"
                for v in (
                    r["cpu_seconds"]["server"],
                    r["cpu_seconds"]["receiver"],
                    sum(c for k, c in r["cpu_seconds"].items() if k.startswith("runner")),
                )
            ),
        ),
        row(
            "webhook -> first action p50 / p95 (s)",
            lambda r: f"{r['first_action_seconds']['p50']:.2f} / {r['first_action_seconds']['p95']:.2f}",
        ),
        row("starts, repairs, reruns done/due; twice", _exactly_once),
        row("flow runs per runner", lambda r: " / ".join(str(n) for n in r["prefect"]["per_runner"])),
        row("killed after (s)", lambda r: f"{r['killed_after_seconds']:.0f}" if r["killed"] else "-"),
        row("peak RSS, all processes (MiB)", lambda r: f"{r['peak_total_rss_mib']:,.0f}"),
    ]


def main() -> None:
    kind: Kind = "worker" if _arg("--kind", "served") == "worker" else "served"
    runners = int(_arg("--workers", "2"))
    limit = int(_arg("--limit", str(max(1, 10 // runners))))
    size: tuple[int, ...]
    if smoke():
        size = (2, 3, 2)
    elif kind == "worker":  # a spawned flow run costs ~3 CPU-s more: a smaller storm keeps `make bench` bounded
        size = tuple(int(v) for v in _arg("--size", "5,8,10").split(","))
    else:
        size = tuple(int(v) for v in _arg("--size", "5,40,50").split(","))
    assert len(size) == 3
    configs: list[tuple[str, Kind, int, int, bool]] = [
        ("1 served runner", "served", 1, 10, False),
        (f"{runners} {kind} x {limit}", kind, runners, limit, False),
        (f"{runners} {kind} x {limit}, 1 killed", kind, runners, limit, True),
    ]
    if smoke():  # only proves the mode works: the killed configuration exercises all of it
        configs = configs[2:]
    results = []
    with tempfile.TemporaryDirectory(prefix="autoheal-scale-") as tmp:
        for name, k, n, lim, kill in configs:
            results.append(measure(name.replace(" ", "-").replace(",", ""), k, n, lim, kill, size, Path(tmp)))
            results[-1]["config"] = name
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = f"storm-scale-{kind}{'-smoke' if smoke() else ''}.json"
    host = machine()
    body = {**envelope("storm-scale", host), "configs": results}
    (RESULTS / name).write_text(json.dumps(body, indent=2, default=str) + "\n")
    title = f"Scale-out: {results[0]['incidents']} incidents, {kind} x {runners} against 1 served runner"
    out = Table(title=f"{title}{' (smoke)' if smoke() else ''}")
    out.add_column("measure")
    for r in results:
        out.add_column(r["config"], justify="right")
    for label, values in table(results):
        out.add_row(label, *values)
    Console(width=max(120, Console().width)).print(out)
    print(f"(webhook -> first action: {PROBES} pipeline failures one at a time, before the storm; 'twice' counts")
    print(" actions done twice, incidents with two flow runs, runs submitted, run or logged twice)")
    print(f"({PACE}: {host['pace_msteps_per_cpu_s']}, at the end)")


if __name__ == "__main__":
    main()
