"""Parsers on the real samples (tests/data/payloads, see sources.md) and on broken input."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from autoheal.domain.alerts import Alert, PayloadError
from autoheal.domain.parsers import parse_payload

PAYLOADS = Path(__file__).parents[1] / "data" / "payloads"


def sample(name: str) -> Any:
    return json.loads((PAYLOADS / name).read_text())


def test_adf_log_alert_v2_dimensions() -> None:
    parsed = parse_payload(sample("18_adf_captured_log_alert_v2_dimensions_ABBREVIATED.json"))
    assert parsed.shape == "azure-monitor/log-v2" and parsed.ignored is None
    (alert,) = parsed.alerts
    assert (alert.service, alert.pipeline, alert.run_id) == (
        "adf",
        "Copy_to_database",
        "531b0498-3d4b-4fa0-b5ed-2c0a7a4075a9",
    )
    assert alert.error_code == "2200" and alert.failure_type == "UserError" and alert.activity == "Copy data1"
    assert "TypeConversionFailure" in (alert.error_message or "")
    assert alert.fired_at is not None and alert.fired_at.year == 2025
    assert alert.fingerprint == "adf:-/copy_to_database:531b0498-3d4b-4fa0-b5ed-2c0a7a4075a9"


def test_resolved_is_recorded_and_ignored() -> None:
    parsed = parse_payload(sample("01_azmon_common_metric_static_resolved_full.json"))
    assert parsed.ignored and "Resolved" in parsed.ignored
    assert parsed.alerts[0].kind == "resolved"


@pytest.mark.parametrize(
    "name", ["04_azmon_common_testaction_log_v2.json", "06_azmon_common_testaction_log_v1_metric_measurement.json"]
)
def test_log_alerts_about_something_else_name_the_missing_field(name: str) -> None:
    with pytest.raises(PayloadError) as info:
        parse_payload(sample(name))
    assert "PipelineName" in info.value.field


def test_a_storage_metric_alert_is_not_an_adf_failure() -> None:
    with pytest.raises(PayloadError, match=r"Transactions.*is not an ADF failure metric"):
        parse_payload(sample("02_azmon_common_testaction_metric_static.json"))


def test_legacy_schema_is_refused_with_the_fix() -> None:
    with pytest.raises(PayloadError, match="enable the common alert schema"):
        parse_payload(sample("13_azmon_legacy_metric_static.json"))


def test_adf_metric_alert_needs_a_lookup() -> None:
    payload = sample("02_azmon_common_testaction_metric_static.json")
    payload["data"]["essentials"]["alertTargetIDs"] = [
        "/subscriptions/s1/resourceGroups/rg-data/providers/Microsoft.DataFactory/factories/adf-sales"
    ]
    criterion = payload["data"]["alertContext"]["condition"]["allOf"][0]
    criterion.update(
        metricName="PipelineFailedRuns",
        metricNamespace="Microsoft.DataFactory/factories",
        dimensions=[{"name": "Name", "value": "CopySales"}, {"name": "FailureType", "value": "SystemError"}],
    )
    (alert,) = parse_payload(payload).alerts
    assert alert.needs_lookup and alert.run_id is None
    assert (alert.factory, alert.resource_group, alert.pipeline) == ("adf-sales", "rg-data", "CopySales")
    assert alert.window_end is not None and alert.fingerprint.startswith("adf:adf-sales/copysales:lookup:")


def test_log_v1_rows_become_one_alert_each() -> None:
    payload = sample("06_azmon_common_testaction_log_v1_metric_measurement.json")
    payload["data"]["alertContext"]["SearchResults"]["tables"][0] = {
        "name": "PrimaryResult",
        "columns": [
            {"name": n, "type": "string"} for n in ("PipelineName", "RunId", "Status", "ErrorCode", "End", "ResourceId")
        ],
        "rows": [
            [
                "CopySales",
                "r-1",
                "Failed",
                "2108",
                "2026-11-29T01:02:03.1234567Z",
                "/SUBSCRIPTIONS/S1/RESOURCEGROUPS/RG-DATA/PROVIDERS/MICROSOFT.DATAFACTORY/FACTORIES/ADF-SALES",
            ],
            ["CopySales", "r-2", "Failed", "2108", "2026-11-29T01:05:00Z", ""],
        ],
    }
    parsed = parse_payload(payload)
    assert parsed.shape == "azure-monitor/log-v1"
    assert [a.run_id for a in parsed.alerts] == ["r-1", "r-2"]
    assert parsed.alerts[0].factory == "ADF-SALES" and parsed.alerts[0].failed_at.minute == 2  # type: ignore[union-attr]


def test_custom_properties_fill_what_dimensions_lack() -> None:
    payload = sample("04_azmon_common_testaction_log_v2.json")
    payload["data"]["alertContext"]["properties"] = {
        "PipelineName": "CopySales",
        "RunId": 42,
        "FactoryName": "adf-sales",
        "ResourceGroup": "rg-data",
    }
    (alert,) = parse_payload(payload).alerts
    assert (alert.pipeline, alert.run_id, alert.factory) == ("CopySales", "42", "adf-sales")


def test_databricks_job_failure_with_string_or_integer_ids() -> None:
    parsed = parse_payload(sample("27_dbx_webhook_job_failure.json"))
    assert parsed.ignored is None and parsed.alerts[0].kind == "failure"
    assert (parsed.alerts[0].job_id, parsed.alerts[0].run_id) == ("job_id", "run_id")
    numeric = {
        "event_type": "jobs.on_failure",
        "workspace_id": 123,
        "run": {"run_id": 455644833},
        "job": {"job_id": 1234, "name": "nightly"},
    }
    alert = parse_payload(numeric).alerts[0]
    assert (alert.job_id, alert.run_id, alert.workspace_id) == ("1234", "455644833", "123")
    assert alert.fingerprint == "databricks:jobs/1234:455644833"


def test_task_notification_points_at_the_parent_run() -> None:
    failure = sample("26_dbx_webhook_task_start.json")
    failure["event_type"] = "jobs.on_failure"
    alert = parse_payload(failure).alerts[0]
    assert alert.run_id == "run_id_of_parent_job_run" and alert.task_key == "task_name"


@pytest.mark.parametrize("name", ["28_dbx_webhook_task_success.json", "25_dbx_webhook_job_start.json"])
def test_non_failures_are_recorded_and_ignored(name: str) -> None:
    parsed = parse_payload(sample(name))
    assert parsed.ignored and parsed.alerts[0].kind == "success"


def test_cluster_termination_rows() -> None:
    inactive = parse_payload(sample("32_dbx_api_clusters_get_terminated_azure.json"))
    assert inactive.ignored and "INACTIVITY" in inactive.ignored
    row = sample("32_dbx_api_clusters_get_terminated_azure.json")
    row["termination_reason"] = {"code": "CLOUD_PROVIDER_SHUTDOWN", "type": "CLOUD_FAILURE"}
    parsed = parse_payload(row)
    alert = parsed.alerts[0]
    assert parsed.ignored is None and alert.cluster_id == "1114-202840-mu1ql9xp"
    assert alert.error_message == "Cluster terminated. Reason: Cloud Provider Shutdown"
    assert alert.fingerprint.startswith("databricks:clusters/1114-202840-mu1ql9xp:at:2021-04-30")


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ([1, 2], "$"),
        ({"hello": "world"}, "$"),
        ({"event_type": "jobs.on_failure", "job": {"job_id": 1}}, "run.run_id"),
        ({"event_type": "jobs.on_failure", "run": {"run_id": 1}, "job": {"job_id": {"x": 1}}}, "job.job_id"),
        ({"data": {"essentials": {"firedDateTime": "yesterday"}, "alertContext": {}}}, "data.essentials.firedDateTime"),
    ],
)
def test_bad_payloads_name_the_field(payload: Any, field: str) -> None:
    with pytest.raises(PayloadError) as info:
        parse_payload(copy.deepcopy(payload))
    assert info.value.field == field


def test_fingerprint_and_event_id_are_stable_and_case_insensitive() -> None:
    a = Alert(source="manual", service="adf", factory="ADF-Sales", pipeline="CopySales", run_id="R-1")
    b = Alert(source="sweep", service="adf", factory="adf-sales", pipeline="copysales", run_id="r-1")
    assert a.fingerprint == b.fingerprint and a.event_id == b.event_id
    assert len(a.event_id) == 36
