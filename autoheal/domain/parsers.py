"""Parsers from what senders post to :class:`Alert`.

Shapes: the Azure Monitor common alert schema (log search alerts V2 with dimensions, log alerts
V1 with SearchResults rows, metric alerts on ADF PipelineFailedRuns, custom
``alertContext.properties``); Databricks job and task notifications; Databricks cluster
termination rows. Anything else raises :class:`PayloadError` naming the field.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from autoheal.domain.alerts import FIELD_LIMITS, FREE_TEXT, Alert, Parsed, PayloadError

_FACTORY_ID = re.compile(
    r"/subscriptions/(?P<sub>[^/]+)/resourcegroups/(?P<rg>[^/]+)/providers/microsoft\.datafactory/factories/(?P<f>[^/]+)",
    re.IGNORECASE,
)
# Column and dimension names (ADFPipelineRun / ADFActivityRun tables, and common custom keys),
# lower-cased, to the Alert field they fill.
_KEYS = {
    "pipelinename": "pipeline",
    "pipeline": "pipeline",
    "name": "pipeline",
    "runid": "run_id",
    "pipelinerunid": "run_id",
    "run_id": "run_id",
    "activityname": "activity",
    "errorcode": "error_code",
    "errormessage": "error_message",
    "failuretype": "failure_type",
    "factory": "factory",
    "factoryname": "factory",
    "datafactoryname": "factory",
    "resourcegroup": "resource_group",
    "resourcegroupname": "resource_group",
    "end": "failed_at",
    "timegenerated": "failed_at",
    "jobid": "job_id",
    "job_id": "job_id",
    "clusterid": "cluster_id",
    "cluster_id": "cluster_id",
    "service": "service",
}


def parse_payload(payload: Any) -> Parsed:
    """Parse one posted JSON document; raises PayloadError naming what is missing or wrong.

    Whatever the document holds (wrong types anywhere, ids too long for the store, numbers that are
    not finite), the answer is alerts or a PayloadError: never another exception, which the
    receiver would have to answer with a 5xx (tests/unit/test_hostile_input.py fuzzes this)."""
    try:
        return _parse(payload)
    except PayloadError:
        raise
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "$"
        raise PayloadError(field, first["msg"]) from None
    except (AttributeError, TypeError, ValueError, KeyError, IndexError, OverflowError) as exc:
        raise PayloadError("$", f"unexpected structure ({type(exc).__name__}: {str(exc)[:200]})") from None


def _parse(payload: Any) -> Parsed:
    if not isinstance(payload, dict):
        raise PayloadError("$", f"expected a JSON object, got {type(payload).__name__}")
    if "event_type" in payload:
        return _databricks_notification(payload)
    if "cluster_id" in payload and "termination_reason" in payload:
        return _cluster_row(payload)
    data = payload.get("data")
    if isinstance(data, dict) and "essentials" in data:
        return _common_schema(payload)
    if payload.get("schemaId") or "SearchResult" in payload or "SearchResults" in payload:
        raise PayloadError(
            "schemaId",
            f"{payload.get('schemaId') or 'a legacy schema'} is not supported: "
            "enable the common alert schema on the action group",
        )
    raise PayloadError(
        "$",
        "not an Azure Monitor common-schema alert (no data.essentials), a Databricks "
        "notification (no event_type) or a cluster row (no cluster_id and termination_reason)",
    )


# ---- Azure Monitor ------------------------------------------------------------------------------


def _time(value: Any, field: str) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        raise PayloadError(field, f"{value!r} is not a date and time")
    if isinstance(value, (int, float)):
        try:
            return datetime.fromtimestamp(value / 1000, tz=UTC)
        except (ValueError, OverflowError, OSError):
            raise PayloadError(field, f"{value!r} is not a time in milliseconds") from None
    text = str(value)
    try:
        parsed = datetime.fromisoformat(re.sub(r"(\.\d{6})\d+", r"\1", text.replace("Z", "+00:00")))
    except ValueError:
        try:
            parsed = datetime.strptime(text, "%m/%d/%Y %I:%M:%S %p")  # Log Analytics V1 form
        except ValueError:
            raise PayloadError(field, f"{text!r} is not a date and time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _fill(values: dict[str, Any], pairs: dict[str, Any]) -> None:
    for key, value in pairs.items():
        target = _KEYS.get(str(key).lower())
        if target and value not in (None, "") and target not in values:
            values[target] = value


def _common_schema(payload: dict[str, Any]) -> Parsed:
    data = payload["data"]
    essentials = data["essentials"]
    if not isinstance(essentials, dict):
        raise PayloadError("data.essentials", "expected an object")
    context = data.get("alertContext") or {}
    if not isinstance(context, dict):
        raise PayloadError("data.alertContext", "expected an object")
    condition = str(essentials.get("monitorCondition") or "Fired")
    base: dict[str, Any] = {
        "source": "azure-monitor",
        "alert_rule": essentials.get("alertRule"),
        "alert_id": essentials.get("alertId"),
        "fired_at": _time(essentials.get("firedDateTime"), "data.essentials.firedDateTime"),
    }
    for target in essentials.get("alertTargetIDs") or []:
        match = _FACTORY_ID.search(str(target))
        if match:
            base.update(subscription_id=match["sub"], resource_group=match["rg"], factory=match["f"])
    if condition.lower() == "resolved":
        return Parsed(
            shape="azure-monitor/resolved",
            raw=payload,
            ignored="monitorCondition is Resolved: recorded, not acted on",
            alerts=[Alert(service="adf", kind="resolved", **_clean(base))],
        )
    custom = context.get("properties") or data.get("customProperties") or {}
    rows = _rows(context)
    if rows:
        alerts = [
            _adf_alert(base, row, custom, f"data.alertContext.SearchResults row {i + 1}") for i, row in enumerate(rows)
        ]
        return Parsed(shape="azure-monitor/log-v1", alerts=alerts, raw=payload)
    all_of = ((context.get("condition") or {}).get("allOf")) or []
    metric = next((c for c in all_of if isinstance(c, dict) and c.get("metricName")), None)
    if metric is not None:
        return _metric(base, context, metric, custom, payload)
    dims: dict[str, Any] = {}
    for criterion in all_of:
        for dim in (criterion or {}).get("dimensions") or []:
            if isinstance(dim, dict) and "name" in dim:
                dims[dim["name"]] = dim.get("value")
    if dims or custom:
        return Parsed(shape="azure-monitor/log-v2", alerts=[_adf_alert(base, dims, custom, "dimensions")], raw=payload)
    raise PayloadError(
        "data.alertContext.condition.allOf[].dimensions",
        "the alert names no pipeline run: split the log alert by PipelineName and RunId, or add "
        "them as custom properties",
    )


def _rows(context: dict[str, Any]) -> list[dict[str, Any]]:
    results = context.get("SearchResults") or context.get("SearchResult")
    if not isinstance(results, dict):
        return []
    out = []
    for table in results.get("tables") or []:
        names = [c.get("name") for c in table.get("columns") or []]
        for row in table.get("rows") or []:
            out.append(dict(zip(names, row, strict=False)))
    return out


def _adf_alert(base: dict[str, Any], values: dict[str, Any], custom: dict[str, Any], where: str) -> Alert:
    fields: dict[str, Any] = {}
    _fill(fields, values)
    _fill(fields, custom)
    for key in ("ResourceId", "_ResourceId"):
        match = _FACTORY_ID.search(str(values.get(key) or ""))
        if match:
            fields.setdefault("subscription_id", match["sub"])
            fields.setdefault("resource_group", match["rg"])
            fields.setdefault("factory", match["f"])
    service = str(fields.pop("service", "adf")).lower()
    if service == "databricks":
        return _dbx_from_properties(base, fields, where)
    if not fields.get("pipeline"):
        raise PayloadError(f"{where}.PipelineName", "missing: the alert does not say which pipeline failed")
    if not fields.get("run_id"):
        raise PayloadError(f"{where}.RunId", f"missing for pipeline {fields['pipeline']!r}: split the alert by RunId")
    fields["failed_at"] = _time(fields.get("failed_at"), f"{where}.End") or base.get("fired_at")
    status = str(values.get("Status") or "").lower()
    kind = "success" if status == "succeeded" else "failure"
    merged = {**_clean(base), **{k: _str(f"{where}.{k}", v) for k, v in fields.items()}}
    return Alert(service="adf", kind=kind, **merged)


def _dbx_from_properties(base: dict[str, Any], fields: dict[str, Any], where: str) -> Alert:
    if not fields.get("run_id") and not fields.get("cluster_id"):
        raise PayloadError(f"{where}.RunId", "missing: a Databricks alert needs a run id or a cluster id")
    merged = {**_clean(base), **{k: _str(f"{where}.{k}", v) for k, v in fields.items()}}
    merged.pop("factory", None)
    return Alert(service="databricks", **merged)


def _metric(
    base: dict[str, Any],
    context: dict[str, Any],
    metric: dict[str, Any],
    custom: dict[str, Any],
    payload: dict[str, Any],
) -> Parsed:
    if str(metric.get("metricName")).lower() != "pipelinefailedruns":
        raise PayloadError(
            "data.alertContext.condition.allOf[].metricName",
            f"{metric.get('metricName')!r} is not an ADF failure metric (PipelineFailedRuns)",
        )
    dims = {str(d.get("name")): d.get("value") for d in metric.get("dimensions") or [] if isinstance(d, dict)}
    fields: dict[str, Any] = {}
    _fill(fields, dims)
    _fill(fields, custom)
    if not base.get("factory") and not fields.get("factory"):
        raise PayloadError("data.essentials.alertTargetIDs", "no Data Factory resource id: cannot look up the runs")
    condition = context.get("condition") or {}
    alert = Alert(
        service="adf",
        needs_lookup=True,
        window_start=_time(condition.get("windowStartTime"), "data.alertContext.condition.windowStartTime"),
        window_end=_time(condition.get("windowEndTime"), "data.alertContext.condition.windowEndTime"),
        **{**_clean(base), **{k: _str(k, v) for k, v in fields.items() if k != "failed_at"}},
    )
    return Parsed(shape="azure-monitor/metric", alerts=[alert], raw=payload)


# ---- Databricks ---------------------------------------------------------------------------------


def _databricks_notification(payload: dict[str, Any]) -> Parsed:
    event = str(payload.get("event_type"))
    run = payload.get("run")
    job = payload.get("job")
    if not isinstance(run, dict) or run.get("run_id") in (None, ""):
        raise PayloadError("run.run_id", "missing: a job notification must name its run")
    if not isinstance(job, dict) or job.get("job_id") in (None, ""):
        raise PayloadError("job.job_id", "missing: a job notification must name its job")
    task = payload.get("task") if isinstance(payload.get("task"), dict) else {}
    parent = run.get("parent_run_id")
    alert = Alert(
        source="databricks",
        service="databricks",
        kind={"jobs.on_failure": "failure", "jobs.on_success": "success"}.get(event, "success"),
        workspace_id=_str("workspace_id", payload.get("workspace_id")),
        job_id=_str("job.job_id", job["job_id"]),
        job_name=job.get("name"),
        run_id=_str("run.run_id", parent if parent not in (None, "") else run["run_id"]),
        task_key=(task or {}).get("task_key"),
    )
    ignored = None
    if event != "jobs.on_failure":
        ignored = f"{event} is recorded, not acted on"
    return Parsed(
        shape=f"databricks/{'task' if task else 'job'}-notification", alerts=[alert], ignored=ignored, raw=payload
    )


def _cluster_row(payload: dict[str, Any]) -> Parsed:
    reason = payload.get("termination_reason")
    if not isinstance(reason, dict) or not reason.get("code"):
        raise PayloadError("termination_reason.code", "missing: cannot tell why the cluster stopped")
    params = reason.get("parameters") or {}
    detail = "; ".join(f"{k}={v}" for k, v in params.items()) if isinstance(params, dict) else ""
    alert = Alert(
        source="databricks",
        service="databricks",
        cluster_id=_str("cluster_id", payload["cluster_id"]),
        error_code=str(reason["code"]),
        failure_type=reason.get("type"),
        error_message=f"Cluster terminated. Reason: {str(reason['code']).replace('_', ' ').title()}"
        + (f" ({detail})" if detail else ""),
        failed_at=_time(payload.get("terminated_time"), "terminated_time"),
        kind="success" if reason.get("type") == "SUCCESS" else "failure",
    )
    ignored = None
    if alert.kind == "success":
        ignored = f"cluster stopped normally ({reason['code']}): recorded, not acted on"
    return Parsed(shape="databricks/cluster-termination", alerts=[alert], ignored=ignored, raw=payload)


def _str(field: str, value: Any) -> Any:
    """An id or name as text. Numbers are ids only when they are integers: JSON's ``NaN`` and
    ``1e999999`` (infinity) parsed as floats once made fingerprints ending in ``:nan`` and ``:inf``.
    Each field has one length limit (FIELD_LIMITS), the same on SQLite and PostgreSQL."""
    if value is None or isinstance(value, datetime):
        return value
    if isinstance(value, (bool, dict, list)):
        raise PayloadError(field, f"expected a string or an integer, got {type(value).__name__}")
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            raise PayloadError(field, f"{value!r} is not an id: expected a string or an integer")
        value = int(value)
    text = str(value)
    key = field.rsplit(".", 1)[-1].lower()
    if "\x00" in text:
        # PostgreSQL's text holds no NUL, SQLite's does: the answer must not depend on the database.
        # Free text keeps its NUL as U+FFFD; an id or name with one is no id.
        if key not in FREE_TEXT:
            raise PayloadError(field, "contains a NUL character")
        text = text.replace("\x00", "\ufffd")
    limit = FIELD_LIMITS.get(key, FIELD_LIMITS["*"])
    if len(text) > limit:
        raise PayloadError(field, f"{len(text)} characters, longer than the {limit} allowed")
    return text


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}
