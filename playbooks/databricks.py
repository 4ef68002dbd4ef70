"""Databricks playbooks: heal the cluster (start, restart, scale, reinstall libraries) or the
job settings (timeout), then repair the failed run and verify it succeeds.

They have "ensure" semantics: an action is skipped when the cluster already shows it happened
since the failure, so fifty failed runs on one dead cluster make one start and fifty repairs.
"""

from __future__ import annotations

import math
import re
import time
from functools import partial
from typing import Any

from databricks.sdk import WorkspaceClient
from databricks.sdk.service.compute import AutoScale, EventType, Library, PythonPyPiLibrary, State
from databricks.sdk.service.jobs import JobSettings, RunResultState, Task

from autoheal.cloud.databricks_runs import cluster_ids, failed_tasks, succeeded, terminal
from autoheal.cloud.errors import translated
from autoheal.cloud.polling import Clock, Limits
from autoheal.domain.outcome import Outcome
from playbooks.runs import Ctx, finish, repair, start

HEAL_CLUSTER = "databricks.heal_cluster_then_repair"
SCALE_UP = "databricks.scale_up_then_repair"
LONGER_TIMEOUT = "databricks.longer_timeout_then_repair"
REINSTALL = "databricks.reinstall_libraries_then_repair"
REPAIR = "databricks.repair"

_COME_UP_EVENTS = [EventType.STARTING, EventType.RESTARTING]
_PYPI = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._\-\[\]]*)\s*(?:==\s*(\S+))?\s*$")


# ---- clusters ---------------------------------------------------------------


def _get_cluster(ctx: Ctx, cluster_id: str) -> Any:
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


def _event_since(ctx: Ctx, cluster_id: str, since_ms: int | None, types: list[EventType]) -> bool:
    if since_ms is None:
        return False
    with translated(f"events of cluster {cluster_id}"):
        return any(True for _ in ctx.w.clusters.events(cluster_id, start_time=since_ms, event_types=types))


def ensure_cluster_running(ctx: Ctx, cluster_id: str, *, restart_if_running: bool, since_ms: int | None) -> Any:
    """TERMINATED/ERROR: start. RUNNING with a hung driver: restart, unless it has been since the
    failure. PENDING/RESTARTING/RESIZING: wait. Then wait for RUNNING.

    Looked at twice: without the guard (a healthy cluster needs nothing, so forty repairs on one
    cluster do not queue), then under it before acting, since another remediation may just have.
    """
    cluster = _get_cluster(ctx, cluster_id)
    ctx.outcome.state_before.setdefault("clusters", {}).setdefault(cluster_id, _cluster_summary(cluster))
    if not _needs_action(cluster, restart_if_running):
        if cluster.state != State.RUNNING:
            ctx.outcome.step(f"cluster {cluster_id} is {cluster.state.value}: waiting")
        return _wait_running(ctx, cluster_id)
    with ctx.guarded(f"cluster:{cluster_id}"):
        cluster = _get_cluster(ctx, cluster_id)
        if cluster.state == State.TERMINATING:
            cluster = ctx.poll(
                lambda: _get_cluster(ctx, cluster_id),
                lambda c: c.state != State.TERMINATING,
                timeout=ctx.limits.cluster_timeout,
                what=f"cluster {cluster_id} to terminate",
            )
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
        return _wait_running(ctx, cluster_id)


def _needs_action(cluster: Any, restart_if_running: bool) -> bool:
    return cluster.state in (State.TERMINATING, State.TERMINATED, State.ERROR) or (
        cluster.state == State.RUNNING and restart_if_running
    )


def _wait_running(ctx: Ctx, cluster_id: str) -> Any:
    final = ctx.poll(
        lambda: _get_cluster(ctx, cluster_id),
        lambda c: c.state in (State.RUNNING, State.TERMINATED, State.ERROR),
        timeout=ctx.limits.cluster_timeout,
        what=f"cluster {cluster_id} to be RUNNING",
    )
    ctx.outcome.state_after.setdefault("clusters", {})[cluster_id] = _cluster_summary(final)
    if final.state != State.RUNNING:
        reason = (
            final.termination_reason.code.value if final.termination_reason and final.termination_reason.code else "?"
        )
        raise ctx.fail(f"cluster {cluster_id} did not come up: {final.state.value} ({reason})", transient=True)
    return final


def heal_cluster_then_repair(
    w: WorkspaceClient, *, run_id: int, restart_if_running: bool, since_ms: int | None, clock: Clock, limits: Limits
) -> Outcome:
    """Make every cluster of the failed tasks healthy, then repair the run."""
    ctx, run = start(w, clock, limits, HEAL_CLUSTER, run_id)
    if terminal(run) and not succeeded(run):
        for cluster_id in cluster_ids(run):
            ensure_cluster_running(ctx, cluster_id, restart_if_running=restart_if_running, since_ms=since_ms)
    final = repair(ctx, run_id)
    if ctx.outcome.action == "none":
        ctx.outcome.action = "repair"
    return finish(ctx, final)


def heal_cluster(
    w: WorkspaceClient, *, cluster_id: str, restart_if_running: bool, since_ms: int | None, clock: Clock, limits: Limits
) -> Outcome:
    """Make one cluster healthy; for a cluster alert that names no job run."""
    ctx = Ctx(w, clock, limits, Outcome(playbook=HEAL_CLUSTER, target=f"clusters/{cluster_id}"))
    ensure_cluster_running(ctx, cluster_id, restart_if_running=restart_if_running, since_ms=since_ms)
    ctx.outcome.verified = True
    ctx.outcome.duration_seconds = time.monotonic() - ctx.started
    return ctx.outcome


def repair_only(w: WorkspaceClient, *, run_id: int, clock: Clock, limits: Limits) -> Outcome:
    ctx, _ = start(w, clock, limits, REPAIR, run_id)
    final = repair(ctx, run_id)
    ctx.outcome.action = "repair"
    return finish(ctx, final)


def _one_cluster(ctx: Ctx, run: Any) -> str:
    ids = cluster_ids(run)
    if not ids:
        raise ctx.fail(
            f"run {run.run_id}: the failed tasks ran on job clusters; there is no cluster to change", transient=False
        )
    return ids[0]


def scale_up_then_repair(
    w: WorkspaceClient,
    *,
    run_id: int,
    since_ms: int | None,
    factor: float,
    max_workers: int,
    clock: Clock,
    limits: Limits,
) -> Outcome:
    """Fixed size x factor (rounded up) or autoscale max x factor, capped; then repair."""
    ctx, run = start(w, clock, limits, SCALE_UP, run_id)
    if terminal(run) and not succeeded(run):
        cluster_id = _one_cluster(ctx, run)
        with ctx.guarded(f"cluster:{cluster_id}"):
            cluster = _get_cluster(ctx, cluster_id)
            ctx.outcome.state_before.setdefault("clusters", {})[cluster_id] = _cluster_summary(cluster)
            if _event_since(ctx, cluster_id, since_ms, [EventType.RESIZING, EventType.UPSIZE_COMPLETED]):
                ctx.outcome.step(f"cluster {cluster_id} was already resized since the failure")
            else:
                _resize(ctx, cluster, factor=factor, cap=max_workers)
        ensure_cluster_running(ctx, cluster_id, restart_if_running=False, since_ms=since_ms)
    final = repair(ctx, run_id)
    return finish(ctx, final)


def _resize(ctx: Ctx, cluster: Any, *, factor: float, cap: int) -> None:
    cid = cluster.cluster_id
    if cluster.autoscale:
        old = cluster.autoscale.max_workers or 0
        new = min(cap, math.ceil(old * factor))
        key, workers = "autoscale.max_workers", None
        autoscale: AutoScale | None = AutoScale(min_workers=cluster.autoscale.min_workers, max_workers=new)
    else:
        old = cluster.num_workers or 0
        new = min(cap, max(1, math.ceil(old * factor)))
        key, workers, autoscale = "num_workers", new, None
    if new <= old:
        raise ctx.fail(
            f"cluster {cid} already has {key}={old}, at the cap of {cap}; scaling up cannot help", transient=False
        )
    ctx.outcome.changes[key] = {"old": old, "new": new}
    if cluster.state == State.RUNNING:
        with translated(f"resize cluster {cid}"):
            ctx.w.clusters.resize(cid, num_workers=workers, autoscale=autoscale)
        ctx.outcome.step(f"resized cluster {cid}: {key} {old} -> {new}")
    else:
        with translated(f"edit cluster {cid}"):
            ctx.w.clusters.edit(
                cid,
                cluster.spark_version,
                cluster_name=cluster.cluster_name,
                node_type_id=cluster.node_type_id,
                num_workers=workers,
                autoscale=autoscale,
            )
        ctx.outcome.step(f"edited cluster {cid} ({cluster.state.value}): {key} {old} -> {new}")
    ctx.outcome.action = "cluster_scaled"
    ctx.poll(
        lambda: _get_cluster(ctx, cid),
        lambda c: c.state != State.RESIZING,
        timeout=ctx.limits.cluster_timeout,
        what=f"cluster {cid} to finish resizing",
    )


def longer_timeout_then_repair(
    w: WorkspaceClient, *, run_id: int, factor: float, max_timeout_seconds: int, clock: Clock, limits: Limits
) -> Outcome:
    """Raise the timed-out tasks' timeout by ``factor`` (capped) in the job, then repair."""
    ctx, run = start(w, clock, limits, LONGER_TIMEOUT, run_id)
    if terminal(run) and not succeeded(run):
        with ctx.guarded(f"job:{run.job_id}"):
            with translated(f"get job {run.job_id}"):
                settings = w.jobs.get(run.job_id).settings or JobSettings()
            updates = _longer_timeouts(ctx, run, settings, factor=factor, cap=max_timeout_seconds)
            if updates:
                with translated(f"update job {run.job_id}"):
                    w.jobs.update(run.job_id, new_settings=JobSettings(tasks=updates))
                ctx.outcome.action = "timeout_raised"
                changes = ", ".join(f"{k} {v['old']}s -> {v['new']}s" for k, v in ctx.outcome.changes.items())
                ctx.outcome.step(f"raised timeouts: {changes}")
    final = repair(ctx, run_id)
    return finish(ctx, final)


def _longer_timeouts(ctx: Ctx, run: Any, settings: JobSettings, *, factor: float, cap: int) -> list[Task]:
    """The task settings to change; none where an earlier attempt already raised the timeout."""
    configured = {t.task_key: t.timeout_seconds for t in settings.tasks or []}
    timed_out = [t for t in failed_tasks(run) if t.state.result_state == RunResultState.TIMEDOUT]
    if not timed_out:
        raise ctx.fail(f"run {run.run_id} has no timed-out task; a longer timeout cannot help", transient=False)
    updates = []
    for task in timed_out:
        ran_with = task.timeout_seconds or settings.timeout_seconds or 0
        current = configured.get(task.task_key) or settings.timeout_seconds or 0
        if current > ran_with:
            ctx.outcome.step(f"task {task.task_key}: timeout already raised to {current}s since the failure")
            continue
        new = min(cap, math.ceil(max(current, 1) * factor))
        if new <= current:
            raise ctx.fail(f"task {task.task_key} timeout is {current}s, at the cap of {cap}s", transient=False)
        updates.append(Task(task_key=task.task_key, timeout_seconds=new))
        ctx.outcome.changes[f"{task.task_key}.timeout_seconds"] = {"old": current, "new": new}
    return updates


def _pypi(spec: Any) -> tuple[str, str | None] | None:
    if spec is None or spec.pypi is None or not spec.pypi.package:
        return None
    match = _PYPI.match(spec.pypi.package)
    return (match.group(1), match.group(2)) if match else None


def _library_status(ctx: Ctx, cluster_id: str) -> list[Any]:
    with translated(f"library status of cluster {cluster_id}"):
        return list(ctx.w.libraries.cluster_status(cluster_id))


def reinstall_libraries_then_repair(
    w: WorkspaceClient, *, run_id: int, fallbacks: dict[str, list[str]], clock: Clock, limits: Limits
) -> Outcome:
    """Replace each FAILED PyPI library with the first fallback version that installs, then repair."""
    ctx, run = start(w, clock, limits, REINSTALL, run_id)
    if terminal(run) and not succeeded(run):
        for cluster_id in cluster_ids(run):
            with ctx.guarded(f"cluster:{cluster_id}"):
                for status in _library_status(ctx, cluster_id):
                    if status.status is None or status.status.value != "FAILED":
                        continue
                    _replace_library(ctx, cluster_id, status.library, fallbacks)
    final = repair(ctx, run_id)
    return finish(ctx, final)


def _replace_library(ctx: Ctx, cluster_id: str, failed: Any, fallbacks: dict[str, list[str]]) -> None:
    parsed = _pypi(failed)
    if parsed is None:
        raise ctx.fail(
            f"library {failed.as_dict()} on {cluster_id} failed and is not a PyPI package; no fallback is defined",
            transient=False,
        )
    name, version = parsed
    candidates = [v for v in fallbacks.get(name.lower(), []) if v != version]
    if not candidates:
        raise ctx.fail(f"no fallback versions are configured for {name} (AUTOHEAL_LIBRARY_FALLBACKS)", transient=False)
    current: Library = failed
    for candidate in candidates:
        package = f"{name}=={candidate}"
        spec = Library(pypi=PythonPyPiLibrary(package=package, repo=failed.pypi.repo))
        with translated(f"swap {_package(current)} for {package} on {cluster_id}"):
            ctx.w.libraries.uninstall(cluster_id, [current])
            ctx.w.libraries.install(cluster_id, [spec])
        ctx.outcome.step(f"uninstalled {_package(current)}, installed {package} on {cluster_id}")
        # An uninstall takes effect only when the cluster restarts.
        if _get_cluster(ctx, cluster_id).state == State.RUNNING:
            with translated(f"restart cluster {cluster_id}"):
                ctx.w.clusters.restart(cluster_id)
            ctx.outcome.step(f"restarted cluster {cluster_id} to apply the library change")
        ensure_cluster_running(ctx, cluster_id, restart_if_running=False, since_ms=None)
        settled = ctx.poll(
            lambda: _library_status(ctx, cluster_id),
            partial(_settled, package=package),
            timeout=ctx.limits.cluster_timeout,
            what=f"{package} to install on {cluster_id}",
        )
        if _status_of(settled, package) == "INSTALLED":
            ctx.outcome.changes[name] = {"old": version, "new": candidate}
            ctx.outcome.action = "library_replaced"
            return
        ctx.outcome.step(f"{package} failed to install too")
        current = spec
    raise ctx.fail(
        f"none of the fallback versions of {name} installed on {cluster_id}: {', '.join(candidates)}", transient=True
    )


def _package(library: Library) -> str:
    return library.pypi.package if library.pypi else str(library.as_dict())


def _status_of(statuses: list[Any], package: str) -> str | None:
    for st in statuses:
        if st.library and st.library.pypi and st.library.pypi.package == package and st.status:
            return str(st.status.value)
    return None


def _settled(statuses: list[Any], *, package: str) -> bool:
    return _status_of(statuses, package) in ("INSTALLED", "FAILED")
