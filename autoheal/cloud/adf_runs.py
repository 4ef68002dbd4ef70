"""The one paginated ADF run query, and the failed activity's error: read by enrichment, the sweep's
look-ups, the playbooks and the rehearsal, always through :func:`query_runs`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from autoheal.cloud.errors import translated


def run_filter(after: datetime, before: datetime | None = None, *, newest_first: bool = False, **equals: str) -> Any:
    """``RunFilterParameters`` for runs updated in [after, before] whose fields equal ``equals``
    (``Status="Failed"``, ``PipelineName=...``, ``RunGroupId=...``, ``LatestOnly="true"``)."""
    from azure.mgmt.datafactory.models import RunFilterParameters, RunQueryFilter, RunQueryOrderBy

    return RunFilterParameters(
        last_updated_after=after,
        last_updated_before=before or datetime.now(UTC) + timedelta(days=1),
        filters=[RunQueryFilter(operand=k, operator="Equals", values_property=[v]) for k, v in equals.items()],
        order_by=[RunQueryOrderBy(order_by="RunStart", order="DESC")] if newest_first else None,
    )


def query_runs(client: Any, rg: str, factory: str, params: Any, *, what: str | None = None) -> list[Any]:
    """Every page of ``queryPipelineRuns`` for ``params``, with the SDK's errors translated."""
    runs: list[Any] = []
    with translated(what or f"query pipeline runs of {factory}"):
        while True:
            page = client.pipeline_runs.query_by_factory(rg, factory, params)
            runs.extend(page.value or [])
            if not page.continuation_token:
                return runs
            params.continuation_token = page.continuation_token


def failed_activity_error(client: Any, *, resource_group: str, factory: str, run: Any) -> dict[str, str]:
    """The first failed activity's error (activity, activityType, errorCode, message, failureType), or {}."""
    after = (run.run_start or datetime.now(UTC)) - timedelta(hours=1)
    with translated(f"query activity runs of {run.run_id}"):
        page = client.activity_runs.query_by_pipeline_run(
            resource_group, factory, run.run_id, run_filter(after, newest_first=True)
        )
    for act in page.value or []:
        if act.status == "Failed" and isinstance(act.error, dict):
            found = {"activity": act.activity_name, **{k: str(v) for k, v in act.error.items()}}
            if act.activity_type:
                found["activityType"] = act.activity_type
            return found
    return {}
