"""ADF playbooks: rerun a failed pipeline from its failed activity, optionally after an upstream check."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from autoheal.cloud.adf_runs import failed_activity_error, query_runs, run_filter
from autoheal.cloud.errors import translated
from autoheal.cloud.polling import Clock, Limits, PollTimeout, poll
from autoheal.domain.outcome import Outcome, PermanentFailure, TransientFailure

RERUN = "adf.rerun_from_failure"
UPSTREAM = "adf.rerun_after_upstream"
TERMINAL = {"Succeeded", "Failed", "Cancelled"}


def _summary(run: Any) -> dict[str, Any]:
    return {
        "run_id": run.run_id,
        "status": run.status,
        "pipeline": run.pipeline_name,
        "run_end": run.run_end.isoformat() if run.run_end else None,
    }


def _wait(
    client: Any, rg: str, factory: str, run_id: str, *, clock: Clock, limits: Limits, timeout: float | None = None
) -> Any:
    def fetch() -> Any:
        with translated(f"get pipeline run {run_id}"):
            return client.pipeline_runs.get(rg, factory, run_id)

    try:
        return poll(
            fetch,
            lambda r: r.status in TERMINAL,
            clock=clock,
            interval=limits.poll_interval,
            timeout=timeout if timeout is not None else limits.run_timeout,
            what=f"pipeline run {run_id}",
        )
    except PollTimeout as exc:
        raise TransientFailure(str(exc)) from exc


def rerun_from_failure(
    client: Any, *, resource_group: str, factory: str, run_id: str, clock: Clock, limits: Limits
) -> Outcome:
    """Rerun ``run_id`` from its failed activity and verify the new run succeeds.

    Idempotent: if a recovery run of that run already exists, it is followed, not duplicated.
    """
    started = time.monotonic()
    outcome = Outcome(playbook=RERUN, target=f"{factory}/pipelineruns/{run_id}")
    with translated(f"get pipeline run {run_id}"):
        failed = client.pipeline_runs.get(resource_group, factory, run_id)
    outcome.state_before = _summary(failed)
    if failed.status not in TERMINAL:
        failed = _wait(client, resource_group, factory, run_id, clock=clock, limits=limits)
    # Looking for an existing recovery run and starting one are one step: two remediations of the
    # same run must not both start one. Verification waits outside the guard.
    with limits.guard(f"pipeline-run:{factory}/{failed.run_group_id}"):
        since = (failed.run_start or datetime.now(UTC)) - timedelta(minutes=5)
        group = query_runs(
            client,
            resource_group,
            factory,
            run_filter(since, newest_first=True, RunGroupId=failed.run_group_id),
            what=f"query run group {failed.run_group_id}",
        )
        latest = max(group, key=lambda r: r.run_start or datetime.min.replace(tzinfo=UTC), default=failed)
        if latest.run_id != failed.run_id:
            outcome.step(f"recovery run {latest.run_id} already exists ({latest.status}): following it")
            latest = _wait(client, resource_group, factory, latest.run_id, clock=clock, limits=limits)
            if latest.status == "Succeeded":
                return _done(outcome, latest, started, action="followed_existing_rerun")
            outcome.step(f"recovery run {latest.run_id} ended {latest.status}")
        elif failed.status == "Succeeded":
            outcome.detail = "the run had already succeeded; nothing to rerun"
            return _done(outcome, failed, started, action="none")
        if latest.status == "Cancelled":
            raise PermanentFailure(
                f"pipeline run {latest.run_id} was cancelled; a cancellation is not healed", outcome=outcome
            )
        with translated(f"rerun {failed.pipeline_name} from the failed activity of {latest.run_id}"):
            created = client.pipelines.create_run(
                resource_group,
                factory,
                failed.pipeline_name,
                reference_pipeline_run_id=latest.run_id,
                is_recovery=True,
                start_from_failure=True,
            )
    outcome.action = "rerun_from_failure"
    outcome.created_ids["run_id"] = created.run_id
    outcome.step(f"started recovery run {created.run_id} from run {latest.run_id}")
    final = _wait(client, resource_group, factory, created.run_id, clock=clock, limits=limits)
    if final.status != "Succeeded":
        outcome.state_after = _summary(final)
        outcome.duration_seconds = time.monotonic() - started
        error = failed_activity_error(client, resource_group=resource_group, factory=factory, run=final)
        outcome.detail = error.get("message", final.message or "")
        raise TransientFailure(f"recovery run {final.run_id} ended {final.status}: {outcome.detail}", outcome=outcome)
    return _done(outcome, final, started, action="rerun_from_failure")


def _done(outcome: Outcome, run: Any, started: float, *, action: str) -> Outcome:
    outcome.action = action
    outcome.state_after = _summary(run)
    outcome.verified = run.status == "Succeeded"
    outcome.duration_seconds = time.monotonic() - started
    return outcome


def rerun_after_upstream(
    client: Any,
    *,
    resource_group: str,
    factory: str,
    run_id: str,
    upstream_pipeline: str | None,
    clock: Clock,
    limits: Limits,
) -> Outcome:
    """For a missing source blob: rerun only once the upstream pipeline has succeeded after our failure."""
    with translated(f"get pipeline run {run_id}"):
        failed = client.pipeline_runs.get(resource_group, factory, run_id)
    if not upstream_pipeline:
        raise PermanentFailure(
            f"no upstream pipeline is configured for {failed.pipeline_name} "
            "(AUTOHEAL_UPSTREAM_PIPELINES); cannot tell whether the data will arrive"
        )
    failed_at = failed.run_end or failed.run_start or datetime.now(UTC)
    after = failed_at - timedelta(hours=limits.upstream_lookback_hours)

    def latest_upstream() -> Any:
        runs = query_runs(
            client,
            resource_group,
            factory,
            run_filter(after, newest_first=True, PipelineName=upstream_pipeline),
            what=f"query runs of upstream pipeline {upstream_pipeline}",
        )
        return max(runs, key=lambda r: r.run_start or after, default=None)

    try:
        upstream = poll(
            latest_upstream,
            lambda r: r is None or r.status in TERMINAL,
            clock=clock,
            interval=limits.poll_interval,
            timeout=limits.upstream_wait,
            what=f"upstream pipeline {upstream_pipeline}",
        )
    except PollTimeout as exc:
        raise TransientFailure(f"upstream pipeline {upstream_pipeline} is still running: {exc}") from exc
    if upstream is None:
        raise PermanentFailure(
            f"upstream pipeline {upstream_pipeline} has not run in the last "
            f"{limits.upstream_lookback_hours:g} h; the source data will not appear by itself"
        )
    if upstream.status != "Succeeded":
        raise PermanentFailure(f"upstream pipeline {upstream_pipeline} run {upstream.run_id} ended {upstream.status}")
    if upstream.run_end is None or upstream.run_end <= failed_at:
        raise PermanentFailure(
            f"upstream pipeline {upstream_pipeline} last succeeded at {upstream.run_end}, "
            f"before our failure at {failed_at}: the data is missing for another reason"
        )
    outcome = rerun_from_failure(
        client, resource_group=resource_group, factory=factory, run_id=run_id, clock=clock, limits=limits
    )
    outcome.playbook = UPSTREAM
    outcome.steps.insert(0, f"upstream {upstream_pipeline} run {upstream.run_id} succeeded at {upstream.run_end}")
    outcome.state_before["upstream"] = _summary(upstream)
    return outcome
