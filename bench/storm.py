"""Alert storm: 5 shared clusters die under 200 job runs, every failure is delivered 5 times, and 50
pipelines fail beside them: 1,050 deliveries, 250 incidents. Served deployment, Prefect and the store
on PostgreSQL, the receiver in its own process, all on this machine.

Reported: time from the first delivery until every incident is terminal; what was done to the
sandbox (cluster starts, repairs, pipeline reruns) and whether anything was done twice; duplicates
absorbed; CPU seconds per incident over every process (server, receiver, runner, fork server and
flow runs); the peak resident memory of each kind of process, and of all of them together.
"""

from __future__ import annotations

import asyncio
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from autoheal import services as context
from autoheal.app.demo import wait_for_failures
from autoheal.app.scratch import clean_environment as environment
from autoheal.app.stack import Stack
from autoheal.settings import get_settings
from bench.common import percentile, report, smoke
from bench.overhead import databases, flow_runs, seconds
from bench.processes import MemorySampler, cmdline, parent, tree_cpu_seconds
from bench.worlds import SETTINGS, alerts, dead_clusters, wait_terminal
from sandbox import Sandbox

COPIES = 5
IN_FLIGHT = 20


def kind_of(role: str, pid: int, cmd: str) -> str:
    if role != "runner":
        return role
    if "forkserver" in cmd:  # a forked flow run keeps its server's command line; its parent tells them apart
        return "flow run" if "forkserver" in cmdline(parent(pid)) else "fork server"
    if "resource_tracker" in cmd:
        return "resource tracker"
    return "runner" if "flows.serve" in cmd else "flow run"


async def deliver(url: str, token: str, items: list[tuple[str, dict[str, Any]]]) -> Counter[str]:
    answers: Counter[str] = Counter()
    gate = asyncio.Semaphore(IN_FLIGHT)
    async with httpx.AsyncClient(base_url=url, headers={"X-Autoheal-Token": token}, timeout=60) as client:

        async def one(path: str, payload: dict[str, Any]) -> None:
            async with gate:
                response = await client.post(path, json=payload)
                answers[str(response.json().get("status", response.status_code))] += 1

        await asyncio.gather(*(one(path, payload) for path, payload in items))
    return answers


def twice(sandbox: Sandbox) -> dict[str, int]:
    """Actions taken more than once on the same thing: a second start of a cluster, a second repair of
    a run, a second rerun of a pipeline run."""
    with sandbox.state.lock:
        workspace, factories = sandbox.state.workspace, sandbox.state.adf.factories
        starts = sum(max(0, c.starts - 1) for c in workspace.clusters.values())
        repairs = sum(max(0, len(r.repair_history) - 2) for r in workspace.runs.values())
        groups = Counter(r.run_group_id for f in factories.values() for r in f.runs.values() if r.is_recovery)
    reruns = sum(n - 1 for n in groups.values())
    return {"second_cluster_starts": starts, "second_repairs": repairs, "second_reruns": reruns}


def main() -> None:
    clusters, per_cluster, adf_runs = (2, 3, 2) if smoke() else (5, 40, 50)
    with tempfile.TemporaryDirectory(prefix="autoheal-storm-") as tmp, environment(), databases("postgresql") as dbs:
        prefect_db, store_db = dbs
        stack = Stack(
            Path(tmp),
            scenario=dead_clusters(clusters=clusters, runs_per_cluster=per_cluster, adf_runs=adf_runs),
            prefect_database_url=prefect_db,
            settings={**SETTINGS, "AUTOHEAL_DATABASE_URL": store_db, "AUTOHEAL_RECEIVER_PORT": "0"},
            receiver_process=True,
        )
        with stack:
            assert stack.sandbox is not None and stack.server is not None and stack.serve is not None
            assert stack.server.process is not None and stack.receiver_child is not None
            wait_for_failures(stack.sandbox)
            unique = alerts(stack.sandbox)
            items = [a for a in unique if a[0] == "/alerts/databricks" for _ in range(COPIES)]
            items += [a for a in unique if a[0] != "/alerts/databricks"]
            random.Random(11).shuffle(items)
            roots = {
                "server": stack.server.process.pid,
                "runner": stack.serve.pid,
                "receiver": stack.receiver_child.pid,
            }
            token = get_settings().webhook_token
            assert token is not None
            cpu_before = {role: tree_cpu_seconds(pid) for role, pid in roots.items()}
            own_before = time.process_time()
            sampler = MemorySampler(roots, classify=kind_of).start()
            started = time.monotonic()
            answers = asyncio.run(deliver(stack.receiver_url, token.get_secret_value(), items))
            delivered = time.monotonic() - started
            store = context.get_store()
            ids = [int(i.id or 0) for i in store.incidents(limit=10_000)]
            drained = wait_terminal(store, ids, timeout=600, poll=0.5)
            elapsed = time.monotonic() - started
            sampler.stop()
            cpu = {role: tree_cpu_seconds(pid) - cpu_before[role] for role, pid in roots.items()}
            own = time.process_time() - own_before
            run_ids = [str(i.flow_run_id) for i in store.incidents(limit=10_000) if i.flow_run_id]
            runs = flow_runs(stack.api_url, run_ids)
            counts = stack.sandbox.state.counts()
            doubled = twice(stack.sandbox)
            statuses = Counter(i.status for i in store.incidents(limit=10_000))
            duplicates = sum(i.duplicates for i in store.incidents(limit=10_000))
    incidents = len(ids)
    waited = [seconds(r["start_time"]) - seconds(r["created"]) for r in runs.values() if r.get("start_time")]
    alive = sampler.lifetimes("flow run")
    ran = [r["total_run_time"] for r in runs.values() if r.get("total_run_time") is not None]
    total_cpu = sum(cpu.values())
    per_incident = total_cpu / max(incidents, 1)
    peak = {kind: kib / 1024 for kind, kib in sorted(sampler.peak_kib.items())}
    twice_total = sum(doubled.values())
    met = {
        "drained <= 240 s": drained and elapsed <= 240,
        "0 actions twice": twice_total == 0,
        "peak memory < 4 GiB": sampler.peak_total_rss_kib < 4 * 1024 * 1024,
        "<= 2 CPU-s per incident": per_incident <= 2,
        f"{clusters} cluster starts": counts["cluster_starts"] == clusters,
    }
    if not smoke():  # the scale-out issue's targets are for the full storm (250 incidents) on this 2-core machine
        met["drained <= 150 s (scale-out issue)"] = drained and elapsed <= 150
        met["<= 0.8 CPU-s per incident (scale-out issue)"] = per_incident <= 0.8
    rows: list[tuple[str, Any]] = [
        ("deliveries (incidents)", f"{len(items):,} ({incidents})"),
        ("delivered in (s)", delivered),
        ("all terminal after (s)", elapsed if drained else f"NOT DRAINED after {elapsed:.0f}"),
        ("incident states", ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items()))),
        ("cluster starts", counts["cluster_starts"]),
        ("job run repairs", counts["repairs"]),
        ("ADF reruns", counts["recovery_runs"]),
        ("duplicate deliveries absorbed", duplicates),
        ("receiver answers", ", ".join(f"{k}: {v}" for k, v in sorted(answers.items()))),
        ("actions taken twice", twice_total),
        ("flow run created -> started p50 / p95 (s)", f"{percentile(waited, 50):.1f} / {percentile(waited, 95):.1f}"),
        ("flow run running time p50 / p95 (s)", f"{percentile(ran, 50):.1f} / {percentile(ran, 95):.1f}"),
        ("flow-run process lifetime p50 / p95 (s)", f"{percentile(alive, 50):.1f} / {percentile(alive, 95):.1f}"),
        ("CPU-s per incident (all processes)", f"{per_incident:.2f}"),
        *((f"  CPU-s {role}", seconds) for role, seconds in cpu.items()),
        ("  CPU-s sandbox and load (not counted)", own),
        *((f"peak RSS of one {kind} (MiB)", mib) for kind, mib in peak.items()),
        ("flow-run processes", len(sampler.processes.get("flow run", ()))),
        ("peak RSS, all processes together (MiB)", sampler.peak_total_rss_kib / 1024),
        ("peak PSS, all processes together (MiB)", sampler.peak_total_pss_kib / 1024),
        *((f"target: {name}", "met" if ok else "MISSED") for name, ok in met.items()),
    ]
    report(
        "storm",
        f"Alert storm: {len(items):,} deliveries, {incidents} incidents",
        rows,
        {
            "deliveries": len(items),
            "incidents": incidents,
            "delivered_seconds": delivered,
            "drained": drained,
            "terminal_seconds": elapsed,
            "statuses": dict(statuses),
            "sandbox": counts,
            "twice": doubled,
            "flow_run_wait_seconds": {"p50": percentile(waited, 50), "p95": percentile(waited, 95)},
            "flow_run_seconds": {"p50": percentile(ran, 50), "p95": percentile(ran, 95)},
            "duplicates_absorbed": duplicates,
            "answers": dict(answers),
            "cpu_seconds": cpu,
            "cpu_seconds_sandbox_and_load": own,
            "cpu_seconds_per_incident": per_incident,
            "peak_rss_mib_by_kind": peak,
            "flow_run_processes": len(sampler.processes.get("flow run", ())),
            "peak_total_rss_mib": sampler.peak_total_rss_kib / 1024,
            "peak_total_pss_mib": sampler.peak_total_pss_kib / 1024,
            "targets": met,
        },
    )


if __name__ == "__main__":
    if "--workers" in sys.argv:  # scale-out: N served runners or N workers, side by side with one (bench/scale.py)
        from bench.scale import main as scale_out

        scale_out()
    else:
        main()
