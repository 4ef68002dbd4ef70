"""Databricks playbooks: heal the cluster (start, restart, scale, reinstall libraries) or the
job settings (timeout), then repair the failed run and verify it succeeds.

They have "ensure" semantics: an action is skipped when the cluster already shows it happened
since the failure, so fifty failed runs on one dead cluster make one start and fifty repairs.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from typing import Any

from databricks.sdk import WorkspaceClient
from databricks.sdk.service.compute import AutoScale, EventType, Library, PythonPyPiLibrary, State
from databricks.sdk.service.jobs import JobSettings, RunLifeCycleState, RunResultState, Task

from playbooks.clock import Clock, Limits, PollTimeout, poll
from playbooks.errors import translated
from playbooks.outcome import Outcome, PermanentFailure, TransientFailure

HEAL_CLUSTER = "databricks.heal_cluster_then_repair"
SCALE_UP = "databricks.scale_up_then_repair"
LONGER_TIMEOUT = "databricks.longer_timeout_then_repair"
REINSTALL = "databricks.reinstall_libraries_then_repair"
REPAIR = "databricks.repair"

_TERMINAL_RUN = {RunLifeCycleState.TERMINATED, RunLifeCycleState.SKIPPED, RunLifeCycleState.INTERNAL_ERROR}
_BAD_RESULTS = {RunResultState.FAILED, RunResultState.TIMEDOUT, RunResultState.CANCELED,
                RunResultState.UPSTREAM_FAILED, RunResultState.MAXIMUM_CONCURRENT_RUNS_REACHED}
_COME_UP_EVENTS = [EventType.STARTING, EventType.RESTARTING]
_PYPI = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._\-\[\]]*)\s*(?:==\s*(\S+))?\s*$")


class _Ctx:
    """What every Databricks playbook carries: the client, the clock, the limits and the record."""

    def __init__(self, w: WorkspaceClient, clock: Clock, limits: Limits, outcome: Outcome) -> None:
        self.w, self.clock, self.limits, self.outcome = w, clock, limits, outcome
        self.started = time.monotonic()

    def poll(self, fetch: Callable[[], Any], done: Callable[[Any], bool], *, timeout: float, what: str) -> Any:
        try:
            return poll(fetch, done, clock=self.clock, interval=self.limits.poll_interval, timeout=timeout, what=what)
        except PollTimeout as exc:
            raise TransientFailure(str(exc), outcome=self.outcome) from exc

    def fail(self, reason: str, *, transient: bool) -> TransientFailure | PermanentFailure:
        self.outcome.duration_seconds = time.monotonic() - self.started
        cls = TransientFailure if transient else PermanentFailure
        return cls(reason, outcome=self.outcome)


# ---- runs -------------------------------------------------------------------


def _get_run(ctx: _Ctx, run_id: int) -> Any:
    with translated(f"get run {run_id}"):
        return ctx.w.jobs.get_run(run_id, include_history=True)


def _failed_tasks(run: Any) -> list[Any]:
    return [t for t in run.tasks or [] if t.state and t.state.result_state in _BAD_RESULTS]


def _cluster_ids(run: Any) -> list[str]:
    ids: list[str] = []
    for task in _failed_tasks(run):
        cid = task.existing_cluster_id or (task.cluster_instance.cluster_id if task.cluster_instance else None)
        if cid and cid not in ids:
            ids.append(cid)
    return ids


def _run_summary(run: Any) -> dict[str, Any]:
    state = run.state
    return {"run_id": run.run_id,
            "life_cycle_state": state.life_cycle_state.value if state and state.life_cycle_state else None,
            "result_state": state.result_state.value if state and state.result_state else None,
            "failed_tasks": [t.task_key for t in _failed_tasks(run)]}


def _terminal(run: Any) -> bool:
    return bool(run.state and run.state.life_cycle_state in _TERMINAL_RUN)


def _succeeded(run: Any) -> bool:
    return _terminal(run) and run.state.result_state == RunResultState.SUCCESS


def task_errors(w: WorkspaceClient, run: Any) -> list[dict[str, str]]:
    """``get-output`` of each failed task: its error and trace."""
    found = []
    for task in _failed_tasks(run):
        with translated(f"get output of task run {task.run_id}"):
            output = w.jobs.get_run_output(task.run_id)
        found.append({"task_key": task.task_key or "", "run_id": str(task.run_id),
                      "result_state": task.state.result_state.value if task.state.result_state else "",
                      "error": output.error or (task.state.state_message or ""),
                      "error_trace": output.error_trace or ""})
    return found


def repair(ctx: _Ctx, run_id: int) -> Any:
    """Repair the run's failed tasks and poll it to a terminal state; an in-flight repair is followed."""
    run = _get_run(ctx, run_id)
    if not _terminal(run):
        ctx.outcome.step(f"run {run_id} is {run.state.life_cycle_state.value}: following it")
        run = ctx.poll(lambda: _get_run(ctx, run_id), _terminal, timeout=ctx.limits.run_timeout, what=f"run {run_id}")
    if _succeeded(run):
        ctx.outcome.step(f"run {run_id} already succeeded; no repair needed")
        return run
    repairs = [h.id for h in run.repair_history or [] if h.type and h.type.value == "REPAIR" and h.id]
    latest = repairs[-1] if repairs else None
    with translated(f"repair run {run_id}"):
        waiter = ctx.w.jobs.repair_run(run_id, rerun_all_failed_tasks=True, latest_repair_id=latest)
    repair_id = waiter.response.repair_id
    ctx.outcome.created_ids["repair_id"] = str(repair_id)
    ctx.outcome.step(f"repair {repair_id} of run {run_id} (failed tasks: {', '.join(_run_summary(run)['failed_tasks'])})")
    final = ctx.poll(lambda: _get_run(ctx, run_id), _terminal, timeout=ctx.limits.run_timeout,
                     what=f"repair {repair_id} of run {run_id}")
    ctx.outcome.state_after["run"] = _run_summary(final)
    if not _succeeded(final):
        errors = task_errors(ctx.w, final)
        ctx.outcome.detail = "; ".join(f"{e['task_key']}: {e['error']}" for e in errors)[:2000]
        raise ctx.fail(f"repair {repair_id} of run {run_id} ended {final.state.result_state.value}: "
                       f"{ctx.outcome.detail}", transient=True)
    return final


def _finish(ctx: _Ctx, run: Any) -> Outcome:
    ctx.outcome.state_after["run"] = _run_summary(run)
    ctx.outcome.verified = _succeeded(run)
    ctx.outcome.duration_seconds = time.monotonic() - ctx.started
    return ctx.outcome


def _start(w: WorkspaceClient, clock: Clock, limits: Limits, playbook: str, run_id: int) -> tuple[_Ctx, Any]:
    ctx = _Ctx(w, clock, limits, Outcome(playbook=playbook, target=f"jobs/runs/{run_id}"))
    run = _get_run(ctx, run_id)
    ctx.outcome.state_before["run"] = _run_summary(run)
    return ctx, run


# ---- clusters ---------------------------------------------------------------


def _get_cluster(ctx: _Ctx, cluster_id: str) -> Any:
    with translated(f"get cluster {cluster_id}"):
        return ctx.w.clusters.get(cluster_id)


def _cluster_summary(c: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"cluster_id": c.cluster_id, "state": c.state.value if c.state else None}
    if c.autoscale:
        out["autoscale"] = {"min_workers": c.autoscale.min_workers, "max_workers": c.autoscale.max_workers}
    else:
        out["num_workers"] = c.num_workers
    if c.termination_reason and c.termination_reason.code:
        out["termination_reason"] = c.termination_reason.code.value
    return out


def _event_since(ctx: _Ctx, cluster_id: str, since_ms: int | None, types: list[EventType]) -> bool:
    if since_ms is None:
        return False
    with translated(f"events of cluster {cluster_id}"):
        return any(True for _ in ctx.w.clusters.events(cluster_id, start_time=since_ms, event_types=types))


def ensure_cluster_running(ctx: _Ctx, cluster_id: str, *, restart_if_running: bool, since_ms: int | None) -> Any:
    """TERMINATED/ERROR: start. RUNNING with a hung driver: restart, unless it has been since the
    failure. PENDING/RESTARTING/RESIZING: wait. Then wait for RUNNING."""
    cluster = _get_cluster(ctx, cluster_id)
    ctx.outcome.state_before.setdefault("clusters", {}).setdefault(cluster_id, _cluster_summary(cluster))
    if cluster.state == State.TERMINATING:
        cluster = ctx.poll(lambda: _get_cluster(ctx, cluster_id), lambda c: c.state != State.TERMINATING,
                           timeout=ctx.limits.cluster_timeout, what=f"cluster {cluster_id} to terminate")
    if cluster.state in (State.TERMINATED, State.ERROR):
        with translated(f"start cluster {cluster_id}"):
            ctx.w.clusters.start(cluster_id)
        ctx.outcome.step(f"started cluster {cluster_id} (was {cluster.state.value})")
        ctx.outcome.action = "cluster_started"
    elif cluster.state == State.RUNNING and restart_if_running:
        if _event_since(ctx, cluster_id, since_ms, _COME_UP_EVENTS):
            ctx.outcome.step(f"cluster {cluster_id} was already restarted since the failure")
        else:
            with translated(f"restart cluster {cluster_id}"):
                ctx.w.clusters.restart(cluster_id)
            ctx.outcome.step(f"restarted cluster {cluster_id}")
            ctx.outcome.action = "cluster_restarted"
    elif cluster.state != State.RUNNING:
        ctx.outcome.step(f"cluster {cluster_id} is {cluster.state.value}: waiting")
    final = ctx.poll(lambda: _get_cluster(ctx, cluster_id),
                     lambda c: c.state in (State.RUNNING, State.TERMINATED, State.ERROR),
                     timeout=ctx.limits.cluster_timeout, what=f"cluster {cluster_id} to be RUNNING")
    ctx.outcome.state_after.setdefault("clusters", {})[cluster_id] = _cluster_summary(final)
    if final.state != State.RUNNING:
        reason = final.termination_reason.code.value if final.termination_reason and final.termination_reason.code else "?"
        raise ctx.fail(f"cluster {cluster_id} did not come up: {final.state.value} ({reason})", transient=True)
    return final


def heal_cluster_then_repair(w: WorkspaceClient, *, run_id: int, restart_if_running: bool, since_ms: int | None,
                             clock: Clock, limits: Limits) -> Outcome:
    """Make every cluster of the failed tasks healthy, then repair the run."""
    ctx, run = _start(w, clock, limits, HEAL_CLUSTER, run_id)
    if _terminal(run) and not _succeeded(run):
        for cluster_id in _cluster_ids(run):
            ensure_cluster_running(ctx, cluster_id, restart_if_running=restart_if_running, since_ms=since_ms)
    final = repair(ctx, run_id)
    if ctx.outcome.action == "none":
        ctx.outcome.action = "repair"
    return _finish(ctx, final)


def repair_only(w: WorkspaceClient, *, run_id: int, clock: Clock, limits: Limits) -> Outcome:
    ctx, _ = _start(w, clock, limits, REPAIR, run_id)
    final = repair(ctx, run_id)
    ctx.outcome.action = "repair"
    return _finish(ctx, final)


def _one_cluster(ctx: _Ctx, run: Any) -> str:
    ids = _cluster_ids(run)
    if not ids:
        raise ctx.fail(f"run {run.run_id}: the failed tasks ran on job clusters; there is no cluster to change",
                       transient=False)
    return ids[0]


def scale_up_then_repair(w: WorkspaceClient, *, run_id: int, since_ms: int | None, factor: float,
                         max_workers: int, clock: Clock, limits: Limits) -> Outcome:
    """Fixed size x factor (rounded up) or autoscale max x factor, capped; then repair."""
    ctx, run = _start(w, clock, limits, SCALE_UP, run_id)
    if _terminal(run) and not _succeeded(run):
        cluster_id = _one_cluster(ctx, run)
        cluster = _get_cluster(ctx, cluster_id)
        ctx.outcome.state_before.setdefault("clusters", {})[cluster_id] = _cluster_summary(cluster)
        if _event_since(ctx, cluster_id, since_ms, [EventType.RESIZING, EventType.UPSIZE_COMPLETED]):
            ctx.outcome.step(f"cluster {cluster_id} was already resized since the failure")
        else:
            _resize(ctx, cluster, factor=factor, cap=max_workers)
        ensure_cluster_running(ctx, cluster_id, restart_if_running=False, since_ms=since_ms)
    final = repair(ctx, run_id)
    return _finish(ctx, final)


def _resize(ctx: _Ctx, cluster: Any, *, factor: float, cap: int) -> None:
    cid = cluster.cluster_id
    if cluster.autoscale:
        old = cluster.autoscale.max_workers or 0
        new = min(cap, math.ceil(old * factor))
        key, change = "autoscale.max_workers", {"autoscale": AutoScale(min_workers=cluster.autoscale.min_workers,
                                                                         max_workers=new)}
    else:
        old = cluster.num_workers or 0
        new = min(cap, max(1, math.ceil(old * factor)))
        key, change = "num_workers", {"num_workers": new}
    if new <= old:
        raise ctx.fail(f"cluster {cid} already has {key}={old}, at the cap of {cap}; scaling up cannot help",
                       transient=False)
    ctx.outcome.changes[key] = {"old": old, "new": new}
    if cluster.state == State.RUNNING:
        with translated(f"resize cluster {cid}"):
            ctx.w.clusters.resize(cid, **change)
        ctx.outcome.step(f"resized cluster {cid}: {key} {old} -> {new}")
    else:
        with translated(f"edit cluster {cid}"):
            ctx.w.clusters.edit(cid, cluster.spark_version, cluster_name=cluster.cluster_name,
                                node_type_id=cluster.node_type_id, **change)
        ctx.outcome.step(f"edited cluster {cid} ({cluster.state.value}): {key} {old} -> {new}")
    ctx.outcome.action = "cluster_scaled"
    ctx.poll(lambda: _get_cluster(ctx, cid), lambda c: c.state != State.RESIZING,
             timeout=ctx.limits.cluster_timeout, what=f"cluster {cid} to finish resizing")


def longer_timeout_then_repair(w: WorkspaceClient, *, run_id: int, factor: float, max_timeout_seconds: int,
                               clock: Clock, limits: Limits) -> Outcome:
    """Raise the timed-out tasks' timeout by ``factor`` (capped) in the job, then repair."""
    ctx, run = _start(w, clock, limits, LONGER_TIMEOUT, run_id)
    if _terminal(run) and not _succeeded(run):
        with translated(f"get job {run.job_id}"):
            job = w.jobs.get(run.job_id)
        settings = job.settings
        by_key = {t.task_key: t for t in settings.tasks or []}
        updates = []
        for task in _failed_tasks(run):
            if task.state.result_state != RunResultState.TIMEDOUT:
                continue
            ran_with = task.timeout_seconds or settings.timeout_seconds or 0
            current = (by_key[task.task_key].timeout_seconds if task.task_key in by_key else 0) or settings.timeout_seconds or 0
            if current > ran_with:
                ctx.outcome.step(f"task {task.task_key}: timeout already raised to {current}s since the failure")
                continue
            new = min(max_timeout_seconds, math.ceil(max(current, 1) * factor))
            if new <= current:
                raise ctx.fail(f"task {task.task_key} timeout is {current}s, at the cap of {max_timeout_seconds}s",
                               transient=False)
            updates.append(Task(task_key=task.task_key, timeout_seconds=new))
            ctx.outcome.changes[f"{task.task_key}.timeout_seconds"] = {"old": current, "new": new}
        if not updates and not ctx.outcome.steps:
            raise ctx.fail(f"run {run_id} has no timed-out task; a longer timeout cannot help", transient=False)
        if updates:
            with translated(f"update job {run.job_id}"):
                w.jobs.update(run.job_id, new_settings=JobSettings(tasks=updates))
            ctx.outcome.action = "timeout_raised"
            ctx.outcome.step("raised timeouts: " + ", ".join(f"{k} {v['old']}s -> {v['new']}s"
                                                             for k, v in ctx.outcome.changes.items()))
    final = repair(ctx, run_id)
    return _finish(ctx, final)


def _pypi(spec: Any) -> tuple[str, str | None] | None:
    if spec is None or spec.pypi is None or not spec.pypi.package:
        return None
    match = _PYPI.match(spec.pypi.package)
    return (match.group(1), match.group(2)) if match else None


def _library_status(ctx: _Ctx, cluster_id: str) -> list[Any]:
    with translated(f"library status of cluster {cluster_id}"):
        return list(ctx.w.libraries.cluster_status(cluster_id))


def reinstall_libraries_then_repair(w: WorkspaceClient, *, run_id: int, fallbacks: dict[str, list[str]],
                                    clock: Clock, limits: Limits) -> Outcome:
    """Replace each FAILED PyPI library with the first fallback version that installs, then repair."""
    ctx, run = _start(w, clock, limits, REINSTALL, run_id)
    if _terminal(run) and not _succeeded(run):
        for cluster_id in _cluster_ids(run):
            for status in _library_status(ctx, cluster_id):
                if status.status is None or status.status.value != "FAILED":
                    continue
                _replace_library(ctx, cluster_id, status.library, fallbacks)
    final = repair(ctx, run_id)
    return _finish(ctx, final)


def _replace_library(ctx: _Ctx, cluster_id: str, failed: Any, fallbacks: dict[str, list[str]]) -> None:
    parsed = _pypi(failed)
    if parsed is None:
        raise ctx.fail(f"library {failed.as_dict()} on {cluster_id} failed and is not a PyPI package; "
                       "no fallback is defined", transient=False)
    name, version = parsed
    candidates = [v for v in fallbacks.get(name.lower(), []) if v != version]
    if not candidates:
        raise ctx.fail(f"no fallback versions are configured for {name} (AUTOHEAL_LIBRARY_FALLBACKS)",
                       transient=False)
    current = failed
    for candidate in candidates:
        spec = Library(pypi=PythonPyPiLibrary(package=f"{name}=={candidate}", repo=failed.pypi.repo))
        with translated(f"swap {current.pypi.package} for {spec.pypi.package} on {cluster_id}"):
            ctx.w.libraries.uninstall(cluster_id, [current])
            ctx.w.libraries.install(cluster_id, [spec])
        ctx.outcome.step(f"uninstalled {current.pypi.package}, installed {spec.pypi.package} on {cluster_id}")
        # An uninstall takes effect only when the cluster restarts.
        cluster = _get_cluster(ctx, cluster_id)
        if cluster.state == State.RUNNING:
            with translated(f"restart cluster {cluster_id}"):
                ctx.w.clusters.restart(cluster_id)
            ctx.outcome.step(f"restarted cluster {cluster_id} to apply the library change")
        ensure_cluster_running(ctx, cluster_id, restart_if_running=False, since_ms=None)
        installed = ctx.poll(lambda: _library_status(ctx, cluster_id),
                             lambda st: _settled(st, spec.pypi.package), timeout=ctx.limits.cluster_timeout,
                             what=f"{spec.pypi.package} to install on {cluster_id}")
        if _status_of(installed, spec.pypi.package) == "INSTALLED":
            ctx.outcome.changes[name] = {"old": version, "new": candidate}
            ctx.outcome.action = "library_replaced"
            return
        ctx.outcome.step(f"{spec.pypi.package} failed to install too")
        current = spec
    raise ctx.fail(f"none of the fallback versions of {name} installed on {cluster_id}: {', '.join(candidates)}",
                   transient=True)


def _status_of(statuses: list[Any], package: str) -> str | None:
    for st in statuses:
        if st.library and st.library.pypi and st.library.pypi.package == package and st.status:
            return str(st.status.value)
    return None


def _settled(statuses: list[Any], package: str) -> bool:
    return _status_of(statuses, package) in ("INSTALLED", "FAILED")
