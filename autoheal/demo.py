"""`autoheal demo`: the main job on embedded defaults.

A local Prefect server (unless PREFECT_API_URL is set), the sandbox with the `demo` scenario, and
the bundled alerts (autoheal/demo_alerts) sent through the remediate flow; then a table of what
happened to each.
"""

from __future__ import annotations

import asyncio
import json
import os
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from autoheal import context
from autoheal.intake import accept
from sandbox import Sandbox
from sandbox.scenario import load_scenario

DEMO_SETTINGS = {
    "AUTOHEAL_MODE": "on",  # the demo acts, against the sandbox only
    "AUTOHEAL_DELAY_SCALE": "0.01",  # catalog delays of 60 s become 0.6 s
    "AUTOHEAL_POLL_INTERVAL_SECONDS": "0.05",
    "AUTOHEAL_DATABRICKS_RETRY_TIMEOUT_SECONDS": "10",
    "AUTOHEAL_UPSTREAM_PIPELINES": json.dumps({"TransformSales": "IngestRaw"}),
}


class Row(BaseModel):
    alert: str
    shape: str
    incident_id: int | None = None
    error_type: str | None = None
    decision: str | None = None
    attempts: int = 0
    outcome: str
    mttr_seconds: float | None = None


def bundled_alerts() -> list[tuple[str, dict[str, Any]]]:
    folder = resources.files("autoheal").joinpath("demo_alerts")
    names = sorted(p.name for p in folder.iterdir() if p.name.endswith(".json"))
    return [(name, json.loads(folder.joinpath(name).read_text(encoding="utf-8"))) for name in names]


def stamp_now(payload: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Azure Monitor stamps an alert when it fires: do the same, so its window covers the runs."""
    data = payload.get("data")
    essentials = data.get("essentials") if isinstance(data, dict) else None
    if isinstance(essentials, dict) and essentials.get("monitorCondition") == "Fired":
        essentials["firedDateTime"] = now.isoformat().replace("+00:00", "Z")
        condition = ((data or {}).get("alertContext") or {}).get("condition") or {}
        if "windowEndTime" in condition:
            condition["windowStartTime"] = (now - timedelta(minutes=10)).isoformat().replace("+00:00", "Z")
            condition["windowEndTime"] = now.isoformat().replace("+00:00", "Z")
    return payload


def configure(sandbox: Sandbox, workdir: Path) -> None:
    """Point autoheal at the sandbox and a fresh demo store, through the environment the flow reads."""
    exports = sandbox.exports()
    database = workdir / "demo.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    os.environ.update(exports)
    os.environ.update(DEMO_SETTINGS)
    os.environ["AUTOHEAL_DATABASE_URL"] = f"sqlite:///{database}"
    context.reset()


def wait_for_failures(sandbox: Sandbox, timeout: float = 30) -> None:
    """The scenario's pipelines and jobs fail within moments; wait until every one has finished."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with sandbox.state.lock:
            sandbox.state.adf.tick()
            sandbox.state.workspace.tick()
            adf_done = all(
                r.status in ("Succeeded", "Failed", "Cancelled")
                for f in sandbox.state.adf.factories.values()
                for r in f.runs.values()
            )
            dbx_done = all(r.terminal for r in sandbox.state.workspace.runs.values())
        if adf_done and dbx_done:
            return
        time.sleep(0.05)
    raise TimeoutError("the demo scenario's runs did not finish")


async def send_all(alerts: list[tuple[str, dict[str, Any]]]) -> list[Row]:
    from flows.remediate import remediate

    store = context.get_store()
    rows: list[Row] = []
    now = datetime.now(UTC)
    for name, payload in alerts:
        intake = accept(stamp_now(payload, now), source="demo", store=store)
        if intake.status != "accepted":
            rows.append(Row(alert=name, shape=intake.shape or "-", outcome=f"{intake.status}: {intake.reason}"))
            continue
        for alert in intake.alerts:
            result = await remediate(alert=alert, raw=intake.payload)
            rows.extend(_rows(name, intake.shape or "-", result))
    return rows


def _rows(name: str, shape: str, result: dict[str, Any]) -> list[Row]:
    store = context.get_store()
    incident = store.get(int(result["incident_id"]))
    assert incident is not None
    if result["status"] == "duplicate":
        return [Row(alert=name, shape=shape, incident_id=incident.id, outcome=f"duplicate: joined {incident.id}")]
    row = Row(
        alert=name,
        shape=shape,
        incident_id=incident.id,
        error_type=incident.error_type,
        decision=incident.decision,
        attempts=incident.attempts,
        outcome=incident.status,
        mttr_seconds=incident.mttr_seconds,
    )
    children = [r for child in result.get("children", []) for r in _rows(f"  -> {name}", "looked up", child)]
    return [row, *children]


def run_demo(workdir: Path) -> list[Row]:
    """Sandbox up, settings in place, every bundled alert through the flow; returns one row per alert."""
    with Sandbox(load_scenario("demo"), workdir=workdir / "sandbox") as sb:
        configure(sb, workdir)
        wait_for_failures(sb)
        return asyncio.run(send_all(bundled_alerts()))
