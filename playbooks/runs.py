"""Databricks job runs for the playbooks: what failed, where, and the repair that verifies the fix."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from databricks.sdk import WorkspaceClient
from databricks.sdk.service.jobs import RunLifeCycleState, RunResultState

from playbooks.clock import Clock, Limits, PollTimeout, poll
from playbooks.errors import translated
from playbooks.outcome import Outcome, PermanentFailure, TransientFailure

_TERMINAL_RUN = {RunLifeCycleState.TERMINATED, RunLifeCycleState.SKIPPED, RunLifeCycleState.INTERNAL_ERROR}
_BAD_RESULTS = {
    RunResultState.FAILED,
    RunResultState.TIMEDOUT,
    RunResultState.CANCELED,
    RunResultState.UPSTREAM_FAILED,
    RunResultState.MAXIMUM_CONCURRENT_RUNS_REACHED,
}


class Ctx:
    """What every Databricks playbook carries: the client, the clock, the limits and the record."""

    def __init__(self, w: WorkspaceClient, clock: Clock, limits: Limits, outcome: Outcome) -> None:
        self.w, self.clock, self.limits, self.outcome = w, clock, limits, outcome
        self.started = time.monotonic()
        self.held: set[str] = set()

    @contextmanager
    def guarded(self, resource: str) -> Iterator[None]:
        """Hold ``resource`` while changing it; re-entrant within one playbook (a library swap restarts
        the cluster it holds)."""
        if resource in self.held:
            yield
            return
        with self.limits.guard(resource):
            self.held.add(resource)
            try:
                yield
            finally:
                self.held.discard(resource)

    def poll(self, fetch: Callable[[], Any], done: Callable[[Any], bool], *, timeout: float, what: str) -> Any:
        try:
            return poll(fetch, done, clock=self.clock, interval=self.limits.poll_interval, timeout=timeout, what=what)
        except PollTimeout as exc:
            raise TransientFailure(str(exc), outcome=self.outcome) from exc

    def fail(self, reason: str, *, transient: bool) -> TransientFailure | PermanentFailure:
        self.outcome.duration_seconds = time.monotonic() - self.started
        cls = TransientFailure if transient else PermanentFailure
        return cls(reason, outcome=self.outcome)


def get_run(ctx: Ctx, run_id: int) -> Any:
    with translated(f"get run {run_id}"):
        return ctx.w.jobs.get_run(run_id, include_history=True)


def failed_tasks(run: Any) -> list[Any]:
    return [t for t in run.tasks or [] if t.state and t.state.result_state in _BAD_RESULTS]


def cluster_ids(run: Any) -> list[str]:
    ids: list[str] = []
    for task in failed_tasks(run):
        cid = task.existing_cluster_id or (task.cluster_instance.cluster_id if task.cluster_instance else None)
        if cid and cid not in ids:
            ids.append(cid)
    return ids


def run_summary(run: Any) -> dict[str, Any]:
    state = run.state
    return {
        "run_id": run.run_id,
        "life_cycle_state": state.life_cycle_state.value if state and state.life_cycle_state else None,
        "result_state": state.result_state.value if state and state.result_state else None,
        "failed_tasks": [t.task_key for t in failed_tasks(run)],
    }


def terminal(run: Any) -> bool:
    return bool(run.state and run.state.life_cycle_state in _TERMINAL_RUN)


def succeeded(run: Any) -> bool:
    return terminal(run) and run.state.result_state == RunResultState.SUCCESS


def task_errors(w: WorkspaceClient, run: Any) -> list[dict[str, str]]:
    """``get-output`` of each failed task: its error and trace."""
    found = []
    for task in failed_tasks(run):
        with translated(f"get output of task run {task.run_id}"):
            output = w.jobs.get_run_output(task.run_id)
        found.append(
            {
                "task_key": task.task_key or "",
                "run_id": str(task.run_id),
                "result_state": task.state.result_state.value if task.state.result_state else "",
                "error": output.error or (task.state.state_message or ""),
                "error_trace": output.error_trace or "",
            }
        )
    return found


def repair(ctx: Ctx, run_id: int) -> Any:
    """Repair the run's failed tasks and poll it to a terminal state; an in-flight repair is followed."""
    run = get_run(ctx, run_id)
    if not terminal(run):
        ctx.outcome.step(f"run {run_id} is {run.state.life_cycle_state.value}: following it")
        run = ctx.poll(lambda: get_run(ctx, run_id), terminal, timeout=ctx.limits.run_timeout, what=f"run {run_id}")
    if succeeded(run):
        ctx.outcome.step(f"run {run_id} already succeeded; no repair needed")
        return run
    repairs = [h.id for h in run.repair_history or [] if h.type and h.type.value == "REPAIR" and h.id]
    latest = repairs[-1] if repairs else None
    with translated(f"repair run {run_id}"):
        waiter = ctx.w.jobs.repair_run(run_id, rerun_all_failed_tasks=True, latest_repair_id=latest)
    repair_id: int = waiter.response.repair_id  # type: ignore[attr-defined]
    ctx.outcome.created_ids["repair_id"] = str(repair_id)
    ctx.outcome.step(
        f"repair {repair_id} of run {run_id} (failed tasks: {', '.join(run_summary(run)['failed_tasks'])})"
    )
    final = ctx.poll(
        lambda: get_run(ctx, run_id),
        terminal,
        timeout=ctx.limits.run_timeout,
        what=f"repair {repair_id} of run {run_id}",
    )
    ctx.outcome.state_after["run"] = run_summary(final)
    if not succeeded(final):
        errors = task_errors(ctx.w, final)
        ctx.outcome.detail = "; ".join(f"{e['task_key']}: {e['error']}" for e in errors)[:2000]
        raise ctx.fail(
            f"repair {repair_id} of run {run_id} ended {final.state.result_state.value}: {ctx.outcome.detail}",
            transient=True,
        )
    return final


def finish(ctx: Ctx, run: Any) -> Outcome:
    ctx.outcome.state_after["run"] = run_summary(run)
    ctx.outcome.verified = succeeded(run)
    ctx.outcome.duration_seconds = time.monotonic() - ctx.started
    return ctx.outcome


def start(w: WorkspaceClient, clock: Clock, limits: Limits, playbook: str, run_id: int) -> tuple[Ctx, Any]:
    ctx = Ctx(w, clock, limits, Outcome(playbook=playbook, target=f"jobs/runs/{run_id}"))
    run = get_run(ctx, run_id)
    ctx.outcome.state_before["run"] = run_summary(run)
    return ctx, run
