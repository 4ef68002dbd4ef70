"""What the alert lacks, fetched through the SDKs: the failed activity's error (ADF), the failed
tasks' errors and traces (Databricks), the run group that reruns share, and the failed runs behind
a metric alert."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from databricks.sdk.service.compute import State

from autoheal.cloud.adf_runs import failed_activity_error, query_runs, run_filter
from autoheal.cloud.clients import adf_client, databricks_client
from autoheal.cloud.databricks_runs import cluster_ids, failed_tasks, task_errors
from autoheal.cloud.errors import translated
from autoheal.cloud.polling import Clock
from autoheal.domain.alerts import Alert, PayloadError
from autoheal.domain.values import Facts, Target
from autoheal.settings import Settings


def enrich(alert: Alert, settings: Settings, *, clock: Clock | None = None) -> Facts:
    if alert.service == "adf":
        return _adf(alert, settings, clock)
    return _databricks(alert, settings, clock)


def _adf(alert: Alert, settings: Settings, clock: Clock | None) -> Facts:
    rg = alert.resource_group or settings.adf_resource_group
    factory = alert.factory or settings.adf_factory
    target = Target(
        service="adf", run_id=alert.run_id or "", resource_group=rg, factory=factory, pipeline=alert.pipeline
    )
    facts = Facts(
        target=target,
        lineage=f"adf:{factory}:{alert.run_id}",
        error_code=alert.error_code,
        error_message=alert.error_message,
        failure_type=alert.failure_type,
        failed_at=alert.failed_at,
    )
    if not rg or not factory or not alert.run_id:
        return facts
    client = adf_client(settings, clock=clock)
    try:
        with translated(f"get pipeline run {alert.run_id}"):
            run = client.pipeline_runs.get(rg, factory, alert.run_id)
        error = failed_activity_error(client, resource_group=rg, factory=factory, run=run)
        facts.tags = _pipeline_tags(client, rg, factory, run.pipeline_name)
    finally:
        client.close()
    facts.lineage = f"adf:{factory.lower()}:{run.run_group_id or run.run_id}"
    facts.run_state = run.status
    facts.target.pipeline = run.pipeline_name
    facts.failed_at = run.run_end or facts.failed_at
    if facts.failed_at is not None:
        facts.target.failed_at_ms = int(facts.failed_at.timestamp() * 1000)
    if error:
        facts.error_code = error.get("errorCode") or facts.error_code
        facts.error_message = error.get("message") or facts.error_message
        facts.failure_type = error.get("failureType") or facts.failure_type
        facts.activity_type = error.get("activityType")
        facts.details.append({k: v for k, v in error.items() if k in ("activity", "errorCode", "failureType")})
    return facts


def _databricks(alert: Alert, settings: Settings, clock: Clock | None) -> Facts:
    w = databricks_client(settings, clock=clock)
    if not alert.run_id:
        target = Target(service="databricks", run_id="", cluster_id=alert.cluster_id, failed_at_ms=_ms(alert.failed_at))
        facts = Facts(
            target=target,
            lineage=f"databricks:cluster:{alert.cluster_id}:{alert.run_key}",
            error_code=alert.error_code,
            error_message=alert.error_message,
            failure_type=alert.failure_type,
            failed_at=alert.failed_at,
            job_id=alert.job_id,
            job_name=alert.job_name,
        )
        return _with_termination(facts, w, alert.cluster_id)
    with translated(f"get run {alert.run_id}"):
        run = w.jobs.get_run(int(alert.run_id))
    errors = task_errors(w, run)
    started = datetime.fromtimestamp(run.start_time / 1000, tz=UTC) if run.start_time else alert.failed_at
    state = run.state.result_state.value if run.state and run.state.result_state else None
    codes = [t.state.result_state.value for t in failed_tasks(run) if t.state and t.state.result_state]
    message = "\n".join(f"[{e['task_key']}] {e['error']}" for e in errors) or alert.error_message
    details = run.status.termination_details if run.status else None
    facts = Facts(
        target=Target(service="databricks", run_id=str(alert.run_id), failed_at_ms=_ms(started)),
        lineage=f"databricks:run:{alert.run_id}",
        error_code=alert.error_code or ("TIMEDOUT" if "TIMEDOUT" in codes else None),
        error_message=message,
        failure_type=alert.failure_type,
        run_termination_code=details.code.value if details and details.code else None,
        run_termination_type=details.type.value if details and details.type else None,
        run_state=state,
        failed_at=started,
        details=[{k: v for k, v in e.items() if k != "error_trace"} for e in errors],
    )
    facts.job_id = str(run.job_id) if run.job_id else alert.job_id
    facts.job_name, facts.tags = _job_name_and_tags(w, run.job_id, alert.job_name)
    clusters = cluster_ids(run)
    return _with_termination(facts, w, clusters[0]) if clusters else facts


def _job_name_and_tags(w: Any, job_id: int | None, name: str | None) -> tuple[str | None, dict[str, str]]:
    """The job's name and tags (an ``env`` tag is what the policy's env: patterns match)."""
    if not job_id:
        return name, {}
    with translated(f"get job {job_id}"):
        job = w.jobs.get(job_id)
    settings = job.settings
    return (settings.name if settings else None) or name, dict(settings.tags or {}) if settings else {}


def _pipeline_tags(client: Any, rg: str, factory: str, pipeline: str | None) -> dict[str, str]:
    """An ADF pipeline's annotations (each a key; ``env:prod`` or ``env=prod`` becomes env) and folder."""
    if not pipeline:
        return {}
    with translated(f"get pipeline {pipeline}"):
        found = client.pipelines.get(rg, factory, pipeline)
    tags: dict[str, str] = {}
    for note in found.annotations or []:
        key, sep, value = str(note).replace("=", ":").partition(":")
        tags[key.strip()] = value.strip() if sep else ""
    if found.folder is not None and found.folder.name:
        tags["folder"] = found.folder.name
    return tags


def _with_termination(facts: Facts, w: Any, cluster_id: str | None) -> Facts:
    """The cluster's termination reason (code, type, parameters) while it is down: the structured
    signal the classifier reads before any text."""
    if not cluster_id:
        return facts
    with translated(f"get cluster {cluster_id}"):
        cluster = w.clusters.get(cluster_id)
    down = cluster.state in (State.TERMINATED, State.TERMINATING, State.ERROR)
    reason = cluster.termination_reason
    if down and reason is not None and reason.code is not None:
        facts.termination_code = reason.code.value
        facts.termination_type = reason.type.value if reason.type else None
        facts.termination_parameters = {str(k): str(v) for k, v in (reason.parameters or {}).items()}
    return facts


def _ms(value: datetime | None) -> int | None:
    return int(value.timestamp() * 1000) if value else None


def failed_runs_behind(alert: Alert, settings: Settings, *, clock: Clock | None = None) -> list[Alert]:
    """The failed runs a metric alert counted: one concrete alert each."""
    rg = alert.resource_group or settings.adf_resource_group
    factory = alert.factory or settings.adf_factory
    if not rg or not factory:
        raise PayloadError(
            "data.essentials.alertTargetIDs",
            "the metric alert names no factory, and AUTOHEAL_ADF_RESOURCE_GROUP / AUTOHEAL_ADF_FACTORY are not set",
        )
    end = alert.window_end or datetime.now(UTC)
    start = alert.window_start or end - timedelta(hours=1)
    after, before = start - timedelta(minutes=5), end + timedelta(minutes=5)
    if alert.pipeline:
        params = run_filter(after, before, Status="Failed", PipelineName=alert.pipeline)
    else:
        params = run_filter(after, before, Status="Failed")
    client = adf_client(settings, clock=clock)
    try:
        runs = query_runs(client, rg, factory, params, what=f"query failed runs of {alert.pipeline or factory}")
    finally:
        client.close()
    return [
        alert.model_copy(
            update={
                "run_id": r.run_id,
                "pipeline": r.pipeline_name,
                "needs_lookup": False,
                "resource_group": rg,
                "factory": factory,
                "failed_at": r.run_end,
                "window_start": None,
                "window_end": None,
            }
        )
        for r in runs
    ]
