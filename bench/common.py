"""Shared by the benchmarks: percentiles, a printed table, and a JSON file under bench/results/."""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
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


def machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
    }


def report(name: str, title: str, rows: list[tuple[str, Any]], data: dict[str, Any]) -> Path:
    table = Table(title=f"{title}{' (smoke)' if smoke() else ''}")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for label, value in rows:
        table.add_row(label, f"{value:,.1f}" if isinstance(value, float) else str(value))
    Console().print(table)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{name}{'-smoke' if smoke() else ''}.json"
    out.write_text(
        json.dumps(
            {"benchmark": name, "smoke": smoke(), "at": datetime.now(UTC).isoformat(), "machine": machine(), **data},
            indent=2,
            default=str,
        )
        + "\n"
    )
    return out
