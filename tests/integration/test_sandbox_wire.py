"""The sandbox on the wire: faults as clients see them, raw error bodies, the control API, the CLI."""

from __future__ import annotations

import ssl
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from autoheal.app.cli import app
from sandbox import Sandbox


def client(sb: Sandbox, service: str) -> httpx.Client:
    e = sb.endpoints
    assert e is not None
    if service == "adf":
        return httpx.Client(
            base_url=e.adf_base_url,
            verify=ssl.create_default_context(cafile=e.ca_bundle),
            headers={"Authorization": f"Bearer {e.adf_token}"},
        )
    return httpx.Client(base_url=e.databricks_host, headers={"Authorization": f"Bearer {e.databricks_token}"})


def test_error_bodies_have_each_service_shape(load: Any) -> None:
    sb = load("gateway-timeout")
    with client(sb, "databricks") as dbx:
        r = dbx.get("/api/2.1/clusters/get", params={"cluster_id": "nope"})
        assert r.status_code == 400 and r.json() == {
            "error_code": "INVALID_PARAMETER_VALUE",
            "message": "Cluster nope does not exist",
        }
        assert (
            dbx.get("/api/2.1/clusters/get", params={"cluster_id": "x"}, headers={"Authorization": ""}).status_code
            == 401
        )
    sub = sb.state.adf.subscription_id
    with client(sb, "adf") as adf:
        r = adf.get(f"/subscriptions/{sub}/resourceGroups/rg-data/providers/Microsoft.DataFactory/factories/adf-sales")
        assert r.status_code == 400 and r.json()["error"]["code"] == "MissingApiVersionParameter"


@pytest.mark.parametrize("status", [429, 500, 503])
def test_injected_status_faults(load: Any, status: int) -> None:
    sb = load("gateway-timeout")
    sb.state.add_fault(path="/clusters/list$", status=status, retry_after=3 if status == 429 else None)
    with client(sb, "databricks") as dbx:
        r = dbx.get("/api/2.1/clusters/list")
        assert r.status_code == status and "error_code" in r.json()
        assert (r.headers.get("retry-after") == "3") == (status == 429)
        assert dbx.get("/api/2.1/clusters/list").status_code == 200


def test_slow_and_dropped_responses(load: Any) -> None:
    sb = load("gateway-timeout")
    sb.state.add_fault(path="/clusters/list$", kind="slow", delay_seconds=0.3)
    with client(sb, "databricks") as dbx:
        started = time.monotonic()
        assert dbx.get("/api/2.1/clusters/list").status_code == 200
        assert time.monotonic() - started >= 0.3
        sb.state.add_fault(path="/clusters/list$", kind="drop")
        with pytest.raises(httpx.RemoteProtocolError):
            dbx.get("/api/2.1/clusters/list")


def test_control_api_loads_scenarios_and_reports_counts(load: Any) -> None:
    sb = load("gateway-timeout")
    with client(sb, "databricks") as http:
        assert http.post("/_sandbox/scenario", json={"name": "timeout"}).json() == {"scenario": "timeout"}
        assert http.get("/_sandbox/state").json()["scenario"] == "timeout"
        bad = http.post("/_sandbox/scenario", json={"name": "nope"})
        assert bad.status_code == 400 and "no bundled scenario" in bad.json()["error"]


def test_rehearse_cli_heals_a_scenario_on_the_second_attempt() -> None:
    result = CliRunner().invoke(app, ["rehearse", "cluster-start-failure", "--json"])
    assert result.exit_code == 0, result.output
    import json

    report = json.loads(result.output)
    assert report["healed"] is True and [a["ok"] for a in report["attempts"]] == [False, True]
    assert report["counts"]["cluster_starts"] == 2 and report["counts"]["repairs"] == 1


def test_rehearse_cli_names_a_bad_scenario() -> None:
    result = CliRunner().invoke(app, ["rehearse", "no-such-scenario"])
    assert result.exit_code == 2 and "no bundled scenario" in result.output


def test_sandbox_command_prints_exports_and_serves_until_terminated(tmp_path: Any) -> None:
    import os
    import signal
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABRICKS_", "AZURE_", "AUTOHEAL_"))}
    command = [sys.executable, "-m", "autoheal.app.cli", "sandbox", "--scenario", "timeout"]
    with subprocess.Popen(
        command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env
    ) as proc:
        try:
            exports: dict[str, str] = {}
            assert proc.stdout is not None
            while len(exports) < 6:  # a Databricks-only scenario: no ADF factory to name
                line = proc.stdout.readline()
                assert line.startswith("export "), line
                key, _, value = line.removeprefix("export ").strip().partition("=")
                exports[key] = value
            headers = {"Authorization": f"Bearer {exports['DATABRICKS_TOKEN']}"}
            r = httpx.get(f"{exports['DATABRICKS_HOST']}/api/2.2/jobs/get", params={"job_id": 101}, headers=headers)
            assert r.json()["settings"]["name"] == "nightly-orders"
            assert exports["AUTOHEAL_ADF_CA_BUNDLE"] == str(tmp_path.resolve() / ".autoheal/sandbox/ca.pem")
            assert Path(exports["AUTOHEAL_ADF_CA_BUNDLE"]).read_text().startswith("-----BEGIN CERTIFICATE-----")
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=10) == 0


def test_config_command_masks_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    from autoheal.settings import get_settings

    monkeypatch.setenv("DATABRICKS_TOKEN", "dapi0123456789abcdef")
    monkeypatch.setenv("AUTOHEAL_ADF_TOKEN", "eyJ0eXAiOiJKV1QiLCJhbGciOi")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["config", "--json"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0
    assert "dapi0123456789abcdef" not in result.output and "eyJ0eXAi" not in result.output
    import json

    assert json.loads(result.output)["databricks_token"] == "**********"


def test_the_request_journal_records_service_calls_in_order_and_resets_with_the_scenario(load: Any) -> None:
    sb = load("gateway-timeout")
    before = time.time()
    with client(sb, "databricks") as dbx:
        dbx.get("/api/2.1/clusters/get", params={"cluster_id": "nope"})
        dbx.post("/api/2.1/jobs/runs/repair", json={"run_id": 1})
        journal = dbx.get("/_sandbox/requests", params={"since": before}).json()
    assert [(c["method"], c["path"]) for c in journal] == [
        ("GET", "/api/2.1/clusters/get"),
        ("POST", "/api/2.1/jobs/runs/repair"),
    ]  # control calls are not service calls
    assert journal[0]["query"] == "cluster_id=nope" and before <= journal[0]["at"] <= journal[1]["at"]
    sb.reset()
    assert list(sb.state.journal) == []


# ---- what the real APIs answer that FastAPI's defaults did not ----------------------------------


def test_runs_list_leaves_out_tasks_unless_expanded_and_gives_the_run_duration(load: Any, dbx: Any) -> None:
    from tests.integration.test_playbook_databricks import failed_run

    sb = load("cluster-unexpected-termination")
    run_id = failed_run(sb)
    with client(sb, "databricks") as http:
        listed = http.get("/api/2.2/jobs/runs/list", params={"job_id": 101}).json()["runs"][0]
        expanded = http.get("/api/2.2/jobs/runs/list", params={"job_id": 101, "expand_tasks": "true"}).json()
        got = http.get("/api/2.2/jobs/runs/get", params={"run_id": run_id}).json()
    assert listed["run_id"] == run_id and "tasks" not in listed
    assert [t["task_key"] for t in expanded["runs"][0]["tasks"]] == ["ingest", "transform", "publish"]
    for run in (listed, got):
        assert run["run_duration"] == run["end_time"] - run["start_time"] > 0
        assert run["setup_duration"] == run["execution_duration"] == run["cleanup_duration"] == 0
    assert {k for k in got if k != "tasks"} == set(listed)
    # Through the SDK: what sweep and rehearsal read from a listing is there, and no tasks.
    (run,) = dbx.jobs.list_runs(job_id=101, completed_only=True)
    assert not run.tasks and run.run_duration > 0 and run.state.result_state.value == "FAILED"
    (run,) = dbx.jobs.list_runs(job_id=101, expand_tasks=True)
    assert len(run.tasks) == 3


def test_well_known_databricks_config_feeds_the_sdks_host_metadata(load: Any, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from databricks.sdk.core import Config
    from databricks.sdk.environments import Cloud
    from databricks.sdk.oauth import get_host_metadata

    sb = load("cluster-unexpected-termination")
    e = sb.endpoints
    assert e is not None
    with client(sb, "databricks") as http:
        # Unauthenticated, as the SDK asks for it.
        raw = http.get("/.well-known/databricks-config", headers={"Authorization": ""})
    assert raw.status_code == 200
    meta = get_host_metadata(e.databricks_host)
    assert meta.oidc_endpoint == f"{e.databricks_host}/oidc"
    assert meta.workspace_id == sb.state.workspace.workspace_id and meta.account_id == sb.state.workspace.account_id
    assert meta.cloud == Cloud.AZURE
    with caplog.at_level(logging.DEBUG, logger="databricks.sdk"):
        cfg = Config(host=e.databricks_host, token=e.databricks_token, auth_type="pat")
    assert "Failed to automatically resolve config from host metadata" not in caplog.text
    assert cfg.workspace_id == sb.state.workspace.workspace_id and cfg.is_azure
    assert cfg.discovery_url == f"{e.databricks_host}/oidc/.well-known/oauth-authorization-server"


def test_unknown_paths_and_wrong_methods_answer_in_each_services_shape(load: Any, dbx: Any) -> None:
    from databricks.sdk.errors import NotFound

    sb = load("gateway-timeout")
    with client(sb, "databricks") as http:
        r = http.get("/api/2.1/clusters/nope")
        assert r.status_code == 404
        assert r.json() == {"error_code": "ENDPOINT_NOT_FOUND", "message": "No API found for 'GET /clusters/nope'"}
        # The workspace finds an API by method and path: a known path with the wrong method is not found.
        r = http.post("/api/2.1/clusters/get", json={"cluster_id": "x"})
        assert r.status_code == 404
        assert r.json() == {"error_code": "ENDPOINT_NOT_FOUND", "message": "No API found for 'POST /clusters/get'"}
    with pytest.raises(NotFound, match="No API found for 'GET /clusters/nope'"):
        dbx.api_client.do("GET", "/api/2.1/clusters/nope")
    sub = sb.state.adf.subscription_id
    factory = f"/subscriptions/{sub}/resourceGroups/rg-data/providers/Microsoft.DataFactory/factories/adf-sales"
    with client(sb, "adf") as adf:
        r = adf.get(f"{factory}/dataflowz/x", params={"api-version": "2018-06-01"})
        assert r.status_code == 404
        assert r.json()["error"]["code"] == "InvalidResourceType"
        assert "'factories/dataflowz'" in r.json()["error"]["message"]
        r = adf.delete(f"{factory}/pipelineruns/x", params={"api-version": "2018-06-01"})
        assert r.status_code == 405
        assert r.json()["error"]["code"] == "MethodNotAllowed"
        assert "The HTTP method 'DELETE' is not supported" in r.json()["error"]["message"]
