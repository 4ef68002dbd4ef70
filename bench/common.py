"""Shared by the benchmarks: percentiles, a printed table, and a JSON file under bench/results/."""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

RESULTS = Path(__file__).parent / "results"


def smoke() -> bool:
    """BENCH_SMOKE=1 (or --smoke): a small run that only proves the benchmark still works."""
    return os.environ.get("BENCH_SMOKE") == "1" or "--smoke" in sys.argv


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary_ms(values: list[float]) -> dict[str, float]:
    """p50/p95/p99/mean of durations given in seconds, in milliseconds."""
    return {
        "p50_ms": percentile(values, 50) * 1000,
        "p95_ms": percentile(values, 95) * 1000,
        "p99_ms": percentile(values, 99) * 1000,
        "mean_ms": (statistics.fmean(values) * 1000) if values else float("nan"),
    }


def pace() -> float:
    """This machine's pace now: millions of steps of a fixed pure-Python loop per CPU-second, the best of
    three. The same code's figures moved by a factor of 2.4 between two afternoons on this project's
    machine (README, Performance); printed beside every benchmark's figures, it tells a slower machine
    from slower code."""
    steps = 1_000_000
    best = 0.0
    for _ in range(3):
        started = time.process_time()
        total = 0
        for i in range(steps):
            total += i * i % 7
        best = max(best, steps / max(time.process_time() - started, 1e-9))
    return best / 1e6


PACE = "machine pace (M loop steps per CPU-s)"


def machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "pace_msteps_per_cpu_s": round(pace(), 2),
    }


def envelope(name: str, host: dict[str, Any]) -> dict[str, Any]:
    """What every benchmark's JSON starts with: which, whether smoke, when, and on what machine."""
    return {"benchmark": name, "smoke": smoke(), "at": datetime.now(UTC).isoformat(), "machine": host}


def report(name: str, title: str, rows: list[tuple[str, Any]], data: dict[str, Any]) -> Path:
    table = Table(title=f"{title}{' (smoke)' if smoke() else ''}")
    table.add_column("measure")
    table.add_column("value", justify="right")
    host = machine()
    for label, value in [*rows, (PACE, host["pace_msteps_per_cpu_s"])]:
        table.add_row(label, f"{value:,.1f}" if isinstance(value, float) else str(value))
    Console().print(table)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{name}{'-smoke' if smoke() else ''}.json"
    out.write_text(
        json.dumps(
            {**envelope(name, host), **data},
            indent=2,
            default=str,
        )
        + "\n"
    )
    return out
