"""Receiver under load: 10,000 requests (500 in smoke mode) at 50 in flight over loopback, mixing
new alerts, duplicates and bad payloads; the receiver persists to SQLite and sends each new alert's
event to a local Prefect server, as in production."""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.common import report, smoke, summary_ms
from flows.prefect_server import LocalPrefectServer
from sandbox.server import bind

TOKEN = "bench-token"


def payloads(total: int) -> list[tuple[str, Any]]:
    rng = random.Random(7)
    out: list[tuple[str, Any]] = []
    sent: list[dict[str, Any]] = []
    for i in range(total):
        roll = rng.random()
        if roll < 0.6 or not sent:
            body = {
                "event_type": "jobs.on_failure",
                "workspace_id": "1",
                "run": {"run_id": 10_000_000 + i},
                "job": {"job_id": 100 + i % 50, "name": "bench"},
            }
            sent.append(body)
            out.append(("json", body))
        elif roll < 0.9:
            out.append(("json", rng.choice(sent)))
        elif roll < 0.95:
            out.append(("raw", b"{not json"))
        else:
            out.append(("json", {"unknown": "shape"}))
    return out


def request(path: str, host: str, kind: str, body: Any) -> bytes:
    """One HTTP/1.1 request, encoded once before the clock starts."""
    content = json.dumps(body).encode() if kind == "json" else body
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nX-Autoheal-Token: {TOKEN}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(content)}\r\n\r\n"
    )
    return head.encode() + content


async def load(
    url: str, items: list[tuple[str, Any]], in_flight: int
) -> tuple[list[float], dict[int, list[float]], float]:
    """``in_flight`` keep-alive connections, each sending its share of the requests one after another.

    Plain asyncio streams, not an HTTP client library: a client like httpx spent more CPU per request
    than the receiver on these two cores, and the figures then measured the client.
    """
    host, port = url.removeprefix("http://").split(":")
    encoded = [request("/alerts/databricks", f"{host}:{port}", kind, body) for kind, body in items]
    latencies: list[float] = []
    by_code: dict[int, list[float]] = {}
    queue = iter(encoded)

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            for raw in queue:
                started = time.perf_counter()
                writer.write(raw)
                status_line = await reader.readline()
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                await reader.readexactly(length)
                latencies.append(time.perf_counter() - started)
                code = int(status_line.split()[1])
                by_code.setdefault(code, []).append(latencies[-1])
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(in_flight)))
    return latencies, by_code, time.perf_counter() - started


def main() -> None:
    total, in_flight = (500, 50) if smoke() else (10_000, 50)
    with tempfile.TemporaryDirectory(prefix="autoheal-bench-") as tmp:
        work = Path(tmp)
        server = LocalPrefectServer(work / "prefect", port=4290)
        server.start()
        sock = bind("127.0.0.1", 0)
        port = sock.getsockname()[1]
        sock.close()
        env = {
            **os.environ,
            "PREFECT_API_URL": server.api_url,
            "AUTOHEAL_WEBHOOK_TOKEN": TOKEN,
            "AUTOHEAL_RECEIVER_PORT": str(port),
            "AUTOHEAL_DATABASE_URL": f"sqlite:///{work / 'bench.db'}",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        }
        receiver = subprocess.Popen(
            [sys.executable, "-m", "autoheal.app.cli", "serve"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=(work / "receiver.log").open("wb"),
        )
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.2)
            try:
                latencies, by_code, elapsed = asyncio.run(load(url, payloads(total), in_flight))
                codes = {code: len(values) for code, values in sorted(by_code.items())}
            except (OSError, asyncio.IncompleteReadError, ValueError):
                print("receiver log:", (work / "receiver.log").read_text()[-4000:], "exit:", receiver.poll())
                raise
        finally:
            receiver.terminate()
            receiver.wait(timeout=10)
            if os.environ.get("BENCH_KEEP_LOG"):
                print((work / "receiver.log").read_text()[-3000:])
            server.stop()
    stats = summary_ms(latencies)
    rate = total / elapsed
    met = rate >= 300 and stats["p99_ms"] <= 100
    report(
        "receiver",
        f"Receiver: {total:,} requests, {in_flight} in flight",
        [
            ("requests/s", rate),
            ("p50 ack (ms)", stats["p50_ms"]),
            ("p99 ack (ms)", stats["p99_ms"]),
            ("answers", ", ".join(f"{k}: {v}" for k, v in sorted(codes.items()))),
            ("target >= 300/s, p99 <= 100 ms", "met" if met else "MISSED"),
        ],
        {
            "requests": total,
            "in_flight": in_flight,
            "seconds": elapsed,
            "requests_per_second": rate,
            "latency": stats,
            "status_codes": codes,
            "latency_by_status": {code: summary_ms(values) for code, values in by_code.items()},
        },
    )


if __name__ == "__main__":
    main()
