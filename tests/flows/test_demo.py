"""`autoheal demo`'s main job: every bundled alert ends in its expected state (the server is the
session's Prefect test server; the CLI starts its own)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from autoheal import context
from autoheal.demo import DEMO_SETTINGS, run_demo

pytestmark = pytest.mark.filterwarnings("ignore:unclosed <socket.socket:ResourceWarning")

EXPECTED = {
    "01_adf_gateway_timeout.json": ("GatewayTimeout", "resolved", 1),
    "02_adf_metric_failed_runs.json": (None, "expanded", 0),
    "  -> 02_adf_metric_failed_runs.json": ("ThrottlingError", "resolved", 1),
    "03_adf_source_blob_missing.json": ("UserErrorSourceBlobNotExists", "resolved", 1),
    "04_adf_permission_denied.json": ("PermissionDenied", "escalated", 0),
    "05_dbx_job_failure_cluster_shutdown.json": ("ClusterUnexpectedTermination", "resolved", 1),
    "06_dbx_task_failure_hung_driver.json": ("DatabricksDriverNotResponding", "resolved", 1),
    "07_dbx_job_failure_start_failure.json": ("DatabricksClusterStartFailure", "resolved", 2),
    "08_dbx_job_failure_code_error.json": ("CodeError", "escalated", 0),
}


def test_every_bundled_alert_ends_in_its_expected_state(
    prefect_server: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in [
        *DEMO_SETTINGS,
        "AUTOHEAL_DATABASE_URL",
        "DATABRICKS_HOST",
        "DATABRICKS_TOKEN",
        "AUTOHEAL_ADF_BASE_URL",
        "AUTOHEAL_ADF_CA_BUNDLE",
        "AUTOHEAL_ADF_TOKEN",
        "AZURE_SUBSCRIPTION_ID",
        "AUTOHEAL_ADF_RESOURCE_GROUP",
        "AUTOHEAL_ADF_FACTORY",
    ]:
        monkeypatch.setenv(key, os.environ.get(key, ""))  # restored after the test; run_demo overwrites them
    rows = {row.alert: row for row in run_demo(tmp_path)}
    try:
        for name, (error_type, outcome, attempts) in EXPECTED.items():
            row = rows[name]
            assert (row.error_type, row.outcome, row.attempts) == (error_type, outcome, attempts), name
            assert (row.mttr_seconds is not None) == (outcome == "resolved"), name
        assert rows["09_dbx_duplicate_task_failure.json"].outcome == (
            f"duplicate: joined {rows['05_dbx_job_failure_cluster_shutdown.json'].incident_id}"
        )
        assert rows["10_azmon_resolved.json"].outcome.startswith("ignored: monitorCondition is Resolved")
        assert rows["11_unknown_shape.json"].outcome.startswith("rejected: $: not an Azure Monitor")
        store = context.get_store()
        assert len(store.rejected()) == 1 and len(store.ignored()) == 1
    finally:
        context.reset()
        _collect()


def _collect() -> None:
    from tests.flows.conftest import _collect_prefect_sockets

    _collect_prefect_sockets()


def test_demo_alerts_are_documented() -> None:
    from autoheal.demo import bundled_alerts

    readme = (Path(__file__).parents[2] / "autoheal" / "demo_alerts" / "README.md").read_text()
    names: list[Any] = [name for name, _ in bundled_alerts()]
    assert len(names) == 11 and all(name in readme for name in names)
