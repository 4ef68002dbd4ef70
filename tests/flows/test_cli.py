"""The store-facing commands: run a payload file through the flow, then incidents, show, stats."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from autoheal.cli import app
from tests.integration.test_playbook_adf import failed_run

pytestmark = pytest.mark.filterwarnings("ignore:unclosed <socket.socket:ResourceWarning")


def test_run_then_incidents_show_and_stats(load: Any, flow_env: Any, tmp_path: Path) -> None:
    sb = load("gateway-timeout")
    flow_env()
    run_id = failed_run(sb)
    payload = {
        "event": "ignored",
        "data": {
            "essentials": {"alertRule": "adf", "monitorCondition": "Fired", "firedDateTime": "2026-11-29T02:00:00Z"},
            "alertContext": {"properties": {"PipelineName": "CopySales", "RunId": run_id}},
        },
    }
    file = tmp_path / "alert.json"
    file.write_text(json.dumps(payload))
    cli = CliRunner()
    result = cli.invoke(app, ["run", str(file)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.strip().splitlines()[-1])["status"] == "resolved"

    listed = cli.invoke(app, ["incidents", "--json"])
    (incident,) = [json.loads(line) for line in listed.output.splitlines()]
    assert {"id", "fingerprint", "service", "error_type", "decision", "status", "attempts", "mttr_seconds"} <= set(
        incident
    )
    assert (incident["error_type"], incident["status"], incident["attempts"]) == ("GatewayTimeout", "resolved", 1)
    assert incident["mttr_seconds"] > 0

    shown = cli.invoke(app, ["show", str(incident["id"])])
    assert shown.exit_code == 0 and "adf.rerun_from_failure" in shown.output and "GatewayTimeout" in shown.output
    stats = json.loads(cli.invoke(app, ["stats", "--json"]).output)
    assert stats[0]["error_type"] == "GatewayTimeout" and stats[0]["success_rate"] == 1.0

    missing = cli.invoke(app, ["show", "999"])
    assert missing.exit_code == 2 and "no incident 999" in missing.output


def test_run_keeps_a_bad_payload(flow_env: Any, tmp_path: Path) -> None:
    store = flow_env()
    file = tmp_path / "bad.json"
    file.write_text('{"event_type": "jobs.on_failure", "job": {"job_id": 1}}')
    result = CliRunner().invoke(app, ["run", str(file)])
    assert result.exit_code == 2 and "run.run_id" in result.output
    assert store.rejected()[0].field == "run.run_id"
