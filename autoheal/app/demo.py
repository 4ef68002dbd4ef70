"""`autoheal demo`: the main job on embedded defaults.

A local Prefect server (unless PREFECT_API_URL is set), the sandbox with the `demo` scenario, and
the bundled alerts (autoheal/app/demo_alerts) sent through the remediate flow; then a table of what
happened to each.
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
from pydantic import BaseModel

from autoheal import services as context
from autoheal.app.stack import Stack
from sandbox import Sandbox
from sandbox.scenario import load_scenario

DEMO_SETTINGS = {
    "AUTOHEAL_MODE": "on",  # the demo acts, against the sandbox only
    "AUTOHEAL_DELAY_SCALE": "0.01",  # catalog delays of 60 s become 0.6 s
    "AUTOHEAL_POLL_INTERVAL_SECONDS": "0.05",
    "AUTOHEAL_DATABRICKS_RETRY_TIMEOUT_SECONDS": "10",
    "AUTOHEAL_UPSTREAM_PIPELINES": json.dumps({"TransformSales": "IngestRaw"}),
    # One pipeline asks a person first: the demo shows an approval waiting.
    "AUTOHEAL_POLICY_FILE": str(resources.files("autoheal.app").joinpath("demo_policy.toml")),
}


class Row(BaseModel):
    alert: str
    shape: str
    incident_id: int | None = None
    error_type: str | None = None
    decision: str | None = None
    playbook: str | None = None
    attempts: int = 0
    outcome: str
    ticket: str | None = None
    mttr_seconds: float | None = None

    def said(self, width: int = 60) -> str:
        """The outcome, its attempts and MTTR, the HTTP playbook that healed it, the ticket it opened;
        a long reason (a rejected payload's) cut to ``width``."""
        parts = [self.outcome if len(self.outcome) <= width else self.outcome[: width - 3] + "..."]
        if self.playbook and self.playbook.startswith("http."):
            parts.append(f"via {self.playbook}")
        if self.attempts:
            parts.append(f"({self.attempts} {'try' if self.attempts == 1 else 'tries'}")
            parts[-1] += f", MTTR {self.mttr_seconds:.0f}s)" if self.mttr_seconds is not None else ")"
        if self.ticket:
            parts.append(self.ticket)
        return " ".join(parts)


JIRA_USER, JIRA_TOKEN = "autoheal-demo@example.com", "demo-jira-token"
LOGIC_APP_KEY = "demo-function-key"


class Outside:
    """The demo's stand-ins for the services people use: a webhook sink that receives the notifications,
    a Jira, and the Logic App behind the demo catalog's HTTP playbook (ThrottlingError on ADF)."""

    def __init__(self) -> None:
        from sandbox.outside import JiraFake, LogicAppFake, NotificationSink

        self.sink = NotificationSink()
        self.jira = JiraFake(user=JIRA_USER, token=JIRA_TOKEN, projects=("OPS",))
        self.logic_app = LogicAppFake(None, secret=LOGIC_APP_KEY)

    def start(self, workdir: Path) -> dict[str, str]:
        """Start them; the settings that point autoheal at them (and the demo catalog)."""
        for server in (self.sink, self.jira, self.logic_app):
            server.start()
        bundled = resources.files("autoheal.domain").joinpath("catalog.toml").read_text(encoding="utf-8")
        catalog = workdir / "demo-catalog.toml"
        workdir.mkdir(parents=True, exist_ok=True)
        # One team kept its Logic App for throttling: the catalog names the HTTP playbook for that type.
        catalog.write_text(
            bundled.replace(
                '[types.ThrottlingError]\nplaybooks = { adf = "adf.rerun_from_failure" }',
                '[types.ThrottlingError]\nplaybooks = { adf = "http.retry_pipeline" }',
            ),
            encoding="utf-8",
        )
        return {
            "AUTOHEAL_CATALOG_FILE": str(catalog.resolve()),
            "AUTOHEAL_NOTIFY_WEBHOOK_URL": f"{self.sink.url}/hook/oncall",
            "AUTOHEAL_JIRA_URL": self.jira.url,
            "AUTOHEAL_JIRA_USER": JIRA_USER,
            "AUTOHEAL_JIRA_TOKEN": JIRA_TOKEN,
            "AUTOHEAL_JIRA_PROJECT": "OPS",
            "AUTOHEAL_HTTP_PLAYBOOKS": json.dumps({"retry_pipeline": f"{self.logic_app.url}/api/retry-pipeline"}),
            "AUTOHEAL_HTTP_PLAYBOOK_SECRET": LOGIC_APP_KEY,
            "AUTOHEAL_HTTP_PLAYBOOK_VERIFY_SECONDS": "30",
        }

    def received(self) -> list[tuple[str, str]]:
        """(where, what) for each message, ticket and call, in order."""
        out = [
            (r.channel, str(r.body.get("subject") if isinstance(r.body, dict) else r.body)) for r in self.sink.received
        ]
        out += [(f"jira {key}", str(fields["summary"])) for key, fields in self.jira.issues.items()]
        out += [(f"jira {key} comment", text) for key, texts in self.jira.comments.items() for text in texts]
        out += [
            (r.channel, f"{r.body.get('errorType')} {r.body.get('pipelineName')} run {r.body.get('runId')}")
            for r in self.logic_app.received
            if isinstance(r.body, dict)
        ]
        return out

    def stop(self) -> None:
        for server in (self.sink, self.jira, self.logic_app):
            server.stop()


def bundled_alerts() -> list[tuple[str, dict[str, Any]]]:
    folder = resources.files("autoheal.app").joinpath("demo_alerts")
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


TERMINAL = {"resolved", "escalated", "skipped", "dry-run", "expanded"}
SETTLED = TERMINAL | {"awaiting-approval"}  # where the demo stops waiting: a person acts next


def post_all(stack: Stack, alerts: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, httpx.Response]]:
    """POST every bundled alert to the receiver, as Azure Monitor and Databricks would."""
    now = datetime.now(UTC)
    out = []
    for name, payload in alerts:
        path = "/alerts/databricks" if name.split("_")[1] == "dbx" else "/alerts/azure-monitor"
        out.append((name, stack.post(path, stamp_now(payload, now))))
    return out


def wait_until_done(incident_ids: list[int], timeout: float = 240) -> None:
    store = context.get_store()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        states = [store.get(i) for i in incident_ids]
        if all(s is not None and s.status in SETTLED for s in states):
            return
        time.sleep(0.5)
    pending = [i for i in incident_ids if (s := store.get(i)) is None or s.status not in SETTLED]
    raise TimeoutError(f"incidents {pending} did not finish within {timeout:g}s")


def rows_for(responses: list[tuple[str, httpx.Response]]) -> list[Row]:
    store = context.get_store()
    rows: list[Row] = []
    seen: set[int] = set()
    for name, response in responses:
        body = response.json()
        if response.status_code >= 400:
            rows.append(Row(alert=name, shape="-", outcome=f"rejected (HTTP {response.status_code}): {body['error']}"))
        elif body.get("status") == "ignored":
            rows.append(Row(alert=name, shape="-", outcome=f"ignored: {body['reason']}"))
        elif body.get("status") == "duplicate":
            rows.append(
                Row(
                    alert=name,
                    shape="-",
                    incident_id=body["incident_id"],
                    outcome=f"duplicate: joined {body['incident_id']}",
                )
            )
        else:
            incident = store.get(int(body["incident_id"]))
            assert incident is not None
            seen.add(int(incident.id or 0))
            rows.append(_row(name, incident))
    for incident in store.incidents():  # runs a metric alert's lookup found, each its own incident
        if incident.id not in seen and incident.source == "azure-monitor" and incident.run_id:
            rows.append(_row("  -> looked up from the metric alert", incident))
    return rows


def _row(name: str, incident: Any) -> Row:
    return Row(
        alert=name,
        shape=incident.source,
        incident_id=incident.id,
        error_type=incident.error_type,
        decision=incident.decision,
        playbook=incident.playbook,
        attempts=incident.attempts,
        outcome=incident.status,
        ticket=incident.ticket_key,
        mttr_seconds=incident.mttr_seconds,
    )


def demo_stack(workdir: Path, outside: dict[str, str] | None = None) -> Stack:
    database = workdir / "demo.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    settings = {
        **DEMO_SETTINGS,
        "AUTOHEAL_DATABASE_URL": f"sqlite:///{database.resolve()}",
        "AUTOHEAL_RECEIVER_PORT": os.environ.get("AUTOHEAL_RECEIVER_PORT", "0"),
        **(outside or {}),
    }
    return Stack(workdir, scenario=load_scenario("demo"), settings=settings)


def run_demo(stack: Stack) -> list[Row]:
    """Every bundled alert over HTTP to the receiver: event, automation, flow run. One row per alert."""
    assert stack.sandbox is not None
    wait_for_failures(stack.sandbox)
    responses = post_all(stack, bundled_alerts())
    accepted = [int(r.json()["incident_id"]) for _, r in responses if r.status_code == 202]
    wait_until_done(accepted)
    return rows_for(responses)
