"""Failures no webhook reported: the failed ADF pipeline runs and Databricks job runs of a window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from autoheal.cloud.adf_runs import query_runs, run_filter
from autoheal.cloud.clients import adf_client, databricks_client
from autoheal.cloud.errors import translated
from autoheal.domain.alerts import Alert
from autoheal.settings import Settings


def failed_runs(settings: Settings, *, since: datetime) -> list[Alert]:
    """Every failed run since ``since`` in the configured factory and workspace, as alerts."""
    alerts: list[Alert] = []
    if settings.azure_subscription_id and settings.adf_resource_group and settings.adf_factory:
        alerts += _adf(settings, since)
    if settings.databricks_host:
        alerts += _databricks(settings, since)
    return alerts


def _adf(settings: Settings, since: datetime) -> list[Alert]:
    rg, factory = settings.adf_resource_group or "", settings.adf_factory or ""
    params = run_filter(since, datetime.now(UTC) + timedelta(minutes=5), Status="Failed", LatestOnly="true")
    client = adf_client(settings)
    try:
        runs = query_runs(client, rg, factory, params, what=f"query failed runs of {factory}")
    finally:
        client.close()
    return [
        Alert(
            source="sweep",
            service="adf",
            subscription_id=settings.azure_subscription_id,
            resource_group=rg,
            factory=factory,
            pipeline=r.pipeline_name,
            run_id=r.run_id,
            failed_at=r.run_end,
            error_message=r.message or None,
        )
        for r in runs
    ]


def _databricks(settings: Settings, since: datetime) -> list[Alert]:
    w = databricks_client(settings)
    alerts = []
    with translated("list job runs"):
        for run in w.jobs.list_runs(completed_only=True, start_time_from=int(since.timestamp() * 1000)):
            result = run.state.result_state.value if run.state and run.state.result_state else "SUCCESS"
            if result == "SUCCESS" or result == "CANCELED":
                continue
            alerts.append(
                Alert(
                    source="sweep",
                    service="databricks",
                    job_id=str(run.job_id),
                    run_id=str(run.run_id),
                    job_name=run.run_name,
                )
            )
    return alerts
