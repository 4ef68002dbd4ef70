"""The store-facing commands: run a payload file through the flow, then incidents, show, stats."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from autoheal.app.cli import app
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

    for command in ("stats", "incidents"):
        table = cli.invoke(app, [command], env={"COLUMNS": "80"}).output
        assert "GatewayTimeout" in table and max(len(line) for line in table.splitlines()) <= 80, table

    figures = json.loads(cli.invoke(app, ["report", "--since", "1d", "--json"]).output)
    assert (figures["resolved"], figures["heal_rate"], figures["playbooks"][0]["healed"]) == (1, 1.0, 1)
    shown = cli.invoke(app, ["report", "--since", "36h"], env={"COLUMNS": "80"}).output
    assert "auto-heal rate" in shown and "100%" in shown and "adf.rerun_from_failure" in shown
    assert max(len(line) for line in shown.splitlines()) <= 80
    assert cli.invoke(app, ["report", "--since", "soon"]).exit_code == 2

    missing = cli.invoke(app, ["show", "999"])
    assert missing.exit_code == 2 and "no incident 999" in missing.output


def test_run_keeps_a_bad_payload(flow_env: Any, tmp_path: Path) -> None:
    store = flow_env()
    file = tmp_path / "bad.json"
    file.write_text('{"event_type": "jobs.on_failure", "job": {"job_id": 1}}')
    result = CliRunner().invoke(app, ["run", str(file)])
    assert result.exit_code == 2 and "run.run_id" in result.output
    assert store.rejected()[0].field == "run.run_id"


def test_classify_compares_rules_a_model_and_both_with_the_cost_per_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from autoheal import services as context
    from tests.fakes.llm_server import model_server, valid

    lines = [
        {
            "service": "adf",
            "error_code": "2108",
            "message": "Response status code: 'GatewayTimeout'. timed out",
            "label": "GatewayTimeout",
            "remediable": True,
        },
        {"service": "adf", "message": "Something odd happened, code ZX-81", "label": "Unknown", "remediable": False},
    ]
    history = tmp_path / "history.jsonl"
    history.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    with model_server([valid("GatewayTimeout"), valid("GatewayTimeout")]) as fake:
        monkeypatch.setenv("OPENAI_BASE_URL", f"{fake.url}/v1")
        monkeypatch.setenv("OPENAI_API_KEY", "sk-cli-test")
        monkeypatch.setenv("AUTOHEAL_AI_PRICE_INPUT_PER_1K", "0.15")
        monkeypatch.setenv("AUTOHEAL_AI_PRICE_OUTPUT_PER_1K", "0.6")
        context.reset()
        result = CliRunner().invoke(
            app, ["classify", "--jsonl", str(history), "--report", "--provider", "openai"], terminal_width=200
        )
        context.reset()
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    assert "rules + model" in flat and "model calls: 2" in flat
    # (120 x 0.15 + 60 x 0.6) / 1000 per call
    assert "per call 120 input and 60 output tokens" in flat and "cost 0.05400" in flat
    # The model called the unknown one GatewayTimeout: the model alone claims it remediable; with the rules it is not.
    row = next(line for line in result.output.splitlines() if "false 'remediable'" in line)
    assert [cell.strip() for cell in row.split("│")[2:5]] == ["0", "1", "0"]


def test_classify_names_a_provider_that_is_not_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    from autoheal import services as context

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("AUTOHEAL_OPENAI_API_KEY", raising=False)
    context.reset()
    result = CliRunner().invoke(app, ["classify", "timed out", "--provider", "openai"])
    context.reset()
    assert result.exit_code != 0 and "OPENAI_API_KEY" in result.output
