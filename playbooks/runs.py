"""Databricks job runs for the playbooks: what failed, where, and the repair that verifies the fix."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from databricks.sdk import WorkspaceClient

from autoheal.cloud.databricks_runs import run_summary, succeeded, task_errors, terminal
from autoheal.cloud.errors import translated
from autoheal.cloud.polling import Clock, Limits, PollTimeout, poll
from autoheal.domain.outcome import Outcome, PermanentFailure, TransientFailure


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
