"""Classifier throughput: the development corpus repeated to 100,000 messages (1,000 in smoke mode)."""

from __future__ import annotations

import json
import time
from pathlib import Path

from autoheal.domain.catalog import load_catalog
from autoheal.domain.classifier import RuleClassifier
from bench.common import report, smoke, summary_ms

CORPUS = Path(__file__).parents[1] / "tests" / "data" / "corpus" / "errors-dev.jsonl"


def main() -> None:
    items = [json.loads(line) for line in CORPUS.read_text().splitlines() if line.strip()]
    total = 1_000 if smoke() else 100_000
    messages = [items[i % len(items)] for i in range(total)]
    classifier = RuleClassifier(load_catalog())
    latencies = []
    started = time.perf_counter()
    for item in messages:
        t0 = time.perf_counter()
        classifier.classify_text(item["message"], service=item["service"], error_code=item["error_code"])
        latencies.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - started
    stats = summary_ms(latencies)
    rate = total / elapsed
    report(
        "classifier",
        "Rule classifier",
        [
            ("messages", total),
            ("messages/s", rate),
            ("p50 latency (us)", stats["p50_ms"] * 1000),
            ("p99 latency (us)", stats["p99_ms"] * 1000),
            ("target >= 20,000/s", "met" if rate >= 20_000 else "MISSED"),
        ],
        {"messages": total, "seconds": elapsed, "messages_per_second": rate, "latency": stats},
    )


if __name__ == "__main__":
    main()
