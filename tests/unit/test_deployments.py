"""prefect.yaml and the Prefect Cloud webhook templates: they make the event the receiver makes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jinja2
import yaml

from autoheal.domain.alerts import Alert
from autoheal.domain.parsers import parse_payload
from autoheal.intake.outbox import EVENT

ROOT = Path(__file__).parents[2]
PAYLOADS = ROOT / "tests" / "data" / "payloads"


def render(template: str, body: Any) -> dict[str, Any]:
    env = jinja2.Environment(autoescape=False, undefined=jinja2.ChainableUndefined)
    return json.loads(env.from_string((ROOT / "deployments" / template).read_text()).render(body=body))


def test_prefect_yaml_triggers_remediate_on_the_alert_event() -> None:
    project = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    remediate, sweep, report = project["deployments"]
    assert remediate["entrypoint"] == "flows/remediate.py:remediate"
    (trigger,) = remediate["triggers"]
    assert trigger["expect"] == [EVENT] and trigger["parameters"] == {"alert": "{{ event.payload.alert }}"}
    assert remediate["work_pool"] is sweep["work_pool"]  # one anchor, shared
    assert sweep["schedules"][0]["interval"] > 0 and "set_working_directory" in str(project["pull"])
    assert report["entrypoint"] == "flows/report.py:report" and report["schedules"][0]["cron"] == "0 7 * * *"
    assert report["work_pool"] is remediate["work_pool"]


def test_databricks_cloud_template_makes_the_receivers_alert() -> None:
    body = json.loads((PAYLOADS / "26_dbx_webhook_task_start.json").read_text())
    body["event_type"] = "jobs.on_failure"
    event = render("cloud-webhook-databricks.j2", body)
    alert = Alert.model_validate(event["payload"]["alert"])
    parsed = parse_payload(body).alerts[0]
    assert event["event"] == EVENT and alert.fingerprint == parsed.fingerprint
    assert event["resource"]["prefect.resource.id"] == f"autoheal.alert.{parsed.fingerprint}"
    success = render(
        "cloud-webhook-databricks.j2", json.loads((PAYLOADS / "28_dbx_webhook_task_success.json").read_text())
    )
    assert success["event"] != EVENT


def test_azure_monitor_cloud_template_makes_the_receivers_alert() -> None:
    body = json.loads((PAYLOADS / "18_adf_captured_log_alert_v2_dimensions_ABBREVIATED.json").read_text())
    event = render("cloud-webhook-azure-monitor.j2", body)
    alert = Alert.model_validate(event["payload"]["alert"])
    parsed = parse_payload(body).alerts[0]
    assert (alert.pipeline, alert.run_id, alert.error_code) == (parsed.pipeline, parsed.run_id, parsed.error_code)
    assert alert.fingerprint == parsed.fingerprint
    assert event["resource"]["prefect.resource.id"] == f"autoheal.alert.{parsed.fingerprint}"
    resolved = render(
        "cloud-webhook-azure-monitor.j2",
        json.loads((PAYLOADS / "01_azmon_common_metric_static_resolved_full.json").read_text()),
    )
    assert resolved["event"] != EVENT
