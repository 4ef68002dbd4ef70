"""`autoheal rerun` on an incident a dead flow run left remediating, without PREFECT_API_URL
(issue 13: the forced claim refused it, and without an API URL the command crashed with
ObjectNotFound). The command runs as a user runs it: a process of its own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from autoheal.domain.alerts import Alert
from tests.integration.test_playbook_adf import failed_run

pytestmark = pytest.mark.filterwarnings("ignore:unclosed <socket.socket:ResourceWarning")
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(300)
def test_rerun_takes_over_a_stranded_incident_without_a_prefect_api_url(
    load: Any, flow_env: Any, tmp_path: Path
) -> None:
    sb = load("gateway-timeout")
    store = flow_env()
    run_id = failed_run(sb)
    alert = Alert(
        source="azure-monitor",
        service="adf",
        resource_group="rg-data",
        factory="adf-sales",
        pipeline="CopySales",
        run_id=run_id,
    )
    incident, _ = store.claim(alert, flow_run_id="0b5c3f3e-0000-4000-8000-00000000dead")
    store.start_attempt(int(incident.id or 0), number=1, playbook="adf.rerun_from_failure")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PYTHONPATH=str(ROOT), PREFECT_HOME=str(tmp_path / "prefect"), PREFECT_SERVER_ANALYTICS_ENABLED="false")
    # Prefect gives its ephemeral server 20 s to start; a loaded 2-core CI machine once took longer.
    env.update(PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="120")

    def rerun(*extra: str) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "autoheal.app.cli", "rerun", str(incident.id), "--by", "oncall", *extra]
        return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=240, cwd=ROOT)

    refused = rerun()
    assert refused.returncode == 2 and "--force" in refused.stdout + refused.stderr
    assert store.get(int(incident.id or 0)).status == "remediating"  # type: ignore[union-attr]

    done = rerun("--force")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert "runs here" in done.stdout and "ObjectNotFound" not in done.stdout + done.stderr
    final = store.get(int(incident.id or 0))
    assert final is not None and final.status == "resolved"
    attempts = store.attempts(int(incident.id or 0))
    assert attempts[0].outcome == "crashed" and attempts[-1].requested_by == "oncall" and attempts[-1].verified
    assert sb.state.counts()["recovery_runs"] == 1
