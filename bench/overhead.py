"""Overhead per alert: from the webhook request to the playbook's first remediating call.

Alerts are sent one at a time to the receiver (its own process), each waited on until its incident is
terminal. The first action is read from the sandbox's request journal; the breakdown from the
receiver's answer and the flow run's `created` and `start_time` in Prefect. The baseline, in the same
run and world: what a web handler's background task would do, in-process (parse, look the run up,
classify, run the same playbook), with no store and no Prefect.

Options: `--count N` alerts per configuration (default 200 for served-pg, 10 for the others; 5 with
`--smoke`); `--help` prints this.

Configurations (`--config NAME`, repeatable; all by default):
  served-pg      served deployment, flow runs forked from a preloaded server, Prefect on PostgreSQL
  served-pg-spawn  the same with Prefect's own spawn (AUTOHEAL_RUNNER_FORK=false)
  served-sqlite  served deployment, Prefect on SQLite
  worker-pg      process work pool and `prefect worker`, Prefect on PostgreSQL
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import httpx

from autoheal import services as context
from autoheal.app.demo import wait_for_failures
from autoheal.app.scratch import ADMIN_URL, scratch_databases
from autoheal.app.scratch import clean_environment as environment
from autoheal.app.stack import Stack
from autoheal.cloud.enrichment import enrich
from autoheal.domain.parsers import parse_payload
from autoheal.settings import get_settings
from bench.common import report, smoke, summary_ms
from bench.worlds import SETTINGS, alerts, dead_clusters, first_action, wait_terminal
from playbooks.registry import run_playbook

PG = os.environ.get("AUTOHEAL_BENCH_POSTGRES", ADMIN_URL)
CONFIGS: dict[str, tuple[Literal["served", "worker"], str, dict[str, str]]] = {
    "served-pg": ("served", "postgresql", {}),
    "served-pg-spawn": ("served", "postgresql", {"AUTOHEAL_RUNNER_FORK": "false"}),
    "served-sqlite": ("served", "sqlite", {}),
    "worker-pg": ("worker", "postgresql", {}),
}
BASELINE_ALERTS = 20


@contextmanager
def databases(kind: str) -> Iterator[tuple[str | None, str]]:
    """(Prefect's database URL, the store's) on fresh PostgreSQL databases, or (None: SQLite, SQLite)."""
    if kind != "postgresql":
        yield None, ""
        return
    with scratch_databases("autoheal_bench", PG) as urls:
        yield urls


def flow_runs(api_url: str, ids: list[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), 200):
        chunk = ids[start : start + 200]
        body = {"flow_runs": {"id": {"any_": chunk}}, "limit": 200}
        response = httpx.post(f"{api_url}/flow_runs/filter", json=body, timeout=30)
        response.raise_for_status()
        out.update({run["id"]: run for run in response.json()})
    return out


def seconds(value: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def baseline(stack: Stack, items: list[tuple[str, dict[str, Any]]]) -> list[float]:
    """The web-handler way: parse, look up, classify and run the playbook in this process."""
    assert stack.sandbox is not None
    settings, classifier, catalog = get_settings(), context.get_classifier(), context.get_catalog()
    out: list[float] = []
    for _, payload in items:
        started = time.time()
        (alert,) = parse_payload(payload).alerts
        facts = enrich(alert, settings)
        kind = classifier.classify(facts)
        entry = catalog.entry(kind.error_type)
        playbook = entry.playbook_for(alert.service) if entry else None
        if playbook is None:
            raise RuntimeError(f"the baseline's failure classified as {kind.error_type}, which has no playbook")
        run_playbook(playbook, target=facts.target, settings=settings)
        at = first_action([vars(c) for c in stack.sandbox.state.journal], started)
        if at is None:
            raise RuntimeError("the baseline's playbook made no remediating call")
        out.append(at - started)
    return out


def measure(name: str, count: int, workdir: Path) -> dict[str, Any]:
    runner, database, extra = CONFIGS[name]
    with environment(), databases(database) as (prefect_db, store_db):
        world = dead_clusters(clusters=1, runs_per_cluster=count + 1 + BASELINE_ALERTS)
        store_url = store_db or f"sqlite:///{workdir / name / 'store.db'}"
        stack = Stack(
            workdir / name,
            scenario=world,
            prefect_database_url=prefect_db,
            settings={**SETTINGS, **extra, "AUTOHEAL_DATABASE_URL": store_url, "AUTOHEAL_RECEIVER_PORT": "0"},
            runner=runner,
            receiver_process=True,
        )
        with stack:
            assert stack.sandbox is not None
            wait_for_failures(stack.sandbox)
            items = alerts(stack.sandbox)
            store = context.get_store()
            token = get_settings().webhook_token
            headers = {"X-Autoheal-Token": token.get_secret_value()} if token else {}
            sent: list[tuple[float, float, int]] = []
            with httpx.Client(base_url=stack.receiver_url, headers=headers, timeout=30) as client:
                # The first alert starts the dead cluster; it and the baseline's alerts are not timed here.
                for index, (path, payload) in enumerate(items[: count + 1]):
                    started = time.time()
                    answer = client.post(path, json=payload)
                    acked = time.time()
                    answer.raise_for_status()
                    incident_id = int(answer.json()["incident_id"])
                    if not wait_terminal(store, [incident_id], timeout=120):
                        raise TimeoutError(f"{name}: incident {incident_id} did not finish; see {stack.workdir}")
                    if index:
                        sent.append((started, acked, incident_id))
            base = baseline(stack, items[count + 1 :])
            journal = [vars(c) for c in stack.sandbox.state.journal]
            rows = [store.get(i) for _, _, i in sent]
            runs = flow_runs(stack.api_url, [str(r.flow_run_id) for r in rows if r is not None and r.flow_run_id])
    total, ack, to_created, to_started, to_call = [], [], [], [], []
    for (started, acked, _), row in zip(sent, rows, strict=True):
        first = first_action(journal, started)
        run = runs.get(str(row.flow_run_id)) if row is not None else None
        if first is None or run is None or not run.get("start_time"):
            raise RuntimeError(f"{name}: incident {row.id if row else '?'} has no first action or flow run")
        created, began = seconds(run["created"]), seconds(run["start_time"])
        total.append(first - started)
        ack.append(acked - started)
        to_created.append(created - acked)
        to_started.append(began - created)
        to_call.append(first - began)
    return {
        "config": name,
        "alerts": len(total),
        "total": summary_ms(total),
        "receiver_answer": summary_ms(ack),
        "answer_to_flow_run_created": summary_ms(to_created),
        "created_to_started": summary_ms(to_started),
        "started_to_first_call": summary_ms(to_call),
        "baseline": summary_ms(base),
        "ratio_p50": summary_ms(total)["p50_ms"] / summary_ms(base)["p50_ms"],
    }


def main() -> None:
    if "--help" in sys.argv or "-h" in sys.argv:
        print(__doc__)
        return
    chosen = [sys.argv[i + 1] for i, arg in enumerate(sys.argv) if arg == "--config"] or list(CONFIGS)
    count = next((int(sys.argv[i + 1]) for i, arg in enumerate(sys.argv) if arg == "--count"), None)
    unknown = [c for c in chosen if c not in CONFIGS]
    if unknown:
        raise SystemExit(f"unknown configuration(s) {unknown}; known: {', '.join(CONFIGS)}")
    # The headline configuration gets the 200 alerts; the comparisons fewer, to keep `make bench` short.
    counts = {c: (5 if smoke() else count or (200 if c == "served-pg" else 10)) for c in chosen}
    if smoke():
        chosen = ["served-pg"]
    results = []
    with tempfile.TemporaryDirectory(prefix="autoheal-bench-") as tmp:
        for name in chosen:
            results.append(measure(name, counts[name], Path(tmp)))
    rows: list[tuple[str, Any]] = []
    for r in results:
        c = r["config"]
        rows += [
            (f"{c}: alerts", r["alerts"]),
            (f"{c}: webhook -> first call p50 / p95 / p99 (ms)", _triple(r["total"])),
            (f"{c}:   receiver answer p50 (ms)", r["receiver_answer"]["p50_ms"]),
            (f"{c}:   answer -> flow run created p50 (ms)", r["answer_to_flow_run_created"]["p50_ms"]),
            (f"{c}:   created -> started p50 (ms)", r["created_to_started"]["p50_ms"]),
            (f"{c}:   started -> first call p50 (ms)", r["started_to_first_call"]["p50_ms"]),
            (f"{c}: in-process baseline p50 / p95 / p99 (ms)", _triple(r["baseline"])),
            (f"{c}: ratio to baseline (p50)", f"{r['ratio_p50']:.1f}x"),
        ]
    headline = next((r for r in results if r["config"] == "served-pg"), None)
    if headline is not None:
        met = headline["total"]["p50_ms"] <= 2000 and headline["total"]["p99_ms"] <= 5000
        rows.append(("target served-pg p50 <= 2 s, p99 <= 5 s", "met" if met else "MISSED"))
        fast = headline["total"]["p50_ms"] <= 500  # the scale-out target for the recommended path
        rows.append(("target served-pg p50 <= 0.5 s (scale-out issue)", "met" if fast else "MISSED"))
    report("overhead", "Overhead per alert: webhook -> first remediating call", rows, {"configs": results})


def _triple(s: dict[str, float]) -> str:
    return f"{s['p50_ms']:,.0f} / {s['p95_ms']:,.0f} / {s['p99_ms']:,.0f}"


if __name__ == "__main__":
    main()
