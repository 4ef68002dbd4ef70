"""Playbooks by name, behind one call: ``run_playbook(name, target=..., ...)``.

The catalog names a playbook for each remediable error type; this module turns the
name and a :class:`Target` into the right call with the right settings.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from autoheal.cloud.clients import adf_client, databricks_client
from autoheal.cloud.polling import Clock, Guard, Limits, SystemClock, no_guard
from autoheal.domain.outcome import Outcome, PermanentFailure
from autoheal.domain.values import Target
from autoheal.settings import Settings
from playbooks import adf, databricks, http
from playbooks.http import PlaybookRequest


def limits_from(settings: Settings, guard: Guard = no_guard) -> Limits:
    return Limits(
        guard=guard,
        poll_interval=settings.poll_interval_seconds,
        cluster_timeout=settings.cluster_timeout_seconds,
        run_timeout=settings.run_timeout_seconds,
        upstream_wait=settings.upstream_wait_seconds,
        upstream_lookback_hours=settings.upstream_lookback_hours,
    )


Runner = Callable[[Target, Settings, Any, Clock, Limits], Outcome]


def _adf_rerun(t: Target, s: Settings, client: Any, clock: Clock, limits: Limits) -> Outcome:
    rg, factory = t.require_adf(s)
    return adf.rerun_from_failure(
        client, resource_group=rg, factory=factory, run_id=t.run_id, clock=clock, limits=limits
    )


def _adf_upstream(t: Target, s: Settings, client: Any, clock: Clock, limits: Limits) -> Outcome:
    rg, factory = t.require_adf(s)
    pipeline = t.pipeline
    if pipeline is None:
        pipeline = client.pipeline_runs.get(rg, factory, t.run_id).pipeline_name
    return adf.rerun_after_upstream(
        client,
        resource_group=rg,
        factory=factory,
        run_id=t.run_id,
        upstream_pipeline=s.upstream_pipelines.get(pipeline or ""),
        clock=clock,
        limits=limits,
    )


def _heal(restart_if_running: bool) -> Runner:
    def run(t: Target, s: Settings, w: Any, clock: Clock, limits: Limits) -> Outcome:
        if not t.run_id and t.cluster_id:  # a cluster alert with no job run: heal the cluster alone
            return databricks.heal_cluster(
                w,
                cluster_id=t.cluster_id,
                restart_if_running=restart_if_running,
                since_ms=t.failed_at_ms,
                clock=clock,
                limits=limits,
            )
        return databricks.heal_cluster_then_repair(
            w,
            run_id=t.databricks_run_id(),
            restart_if_running=restart_if_running,
            since_ms=t.failed_at_ms,
            clock=clock,
            limits=limits,
        )

    return run


def _scale(t: Target, s: Settings, w: Any, clock: Clock, limits: Limits) -> Outcome:
    return databricks.scale_up_then_repair(
        w,
        run_id=t.databricks_run_id(),
        since_ms=t.failed_at_ms,
        factor=s.scale_factor,
        max_workers=s.max_workers,
        clock=clock,
        limits=limits,
    )


def _timeout(t: Target, s: Settings, w: Any, clock: Clock, limits: Limits) -> Outcome:
    return databricks.longer_timeout_then_repair(
        w,
        run_id=t.databricks_run_id(),
        factor=s.timeout_factor,
        max_timeout_seconds=s.max_timeout_seconds,
        clock=clock,
        limits=limits,
    )


def _libraries(t: Target, s: Settings, w: Any, clock: Clock, limits: Limits) -> Outcome:
    return databricks.reinstall_libraries_then_repair(
        w, run_id=t.databricks_run_id(), fallbacks=s.library_fallbacks, clock=clock, limits=limits
    )


def _repair(t: Target, s: Settings, w: Any, clock: Clock, limits: Limits) -> Outcome:
    return databricks.repair_only(w, run_id=t.databricks_run_id(), clock=clock, limits=limits)


PLAYBOOKS: dict[str, tuple[Literal["adf", "databricks"], Runner]] = {
    adf.RERUN: ("adf", _adf_rerun),
    adf.UPSTREAM: ("adf", _adf_upstream),
    "databricks.start_cluster_then_repair": ("databricks", _heal(restart_if_running=False)),
    "databricks.restart_cluster_then_repair": ("databricks", _heal(restart_if_running=True)),
    databricks.SCALE_UP: ("databricks", _scale),
    databricks.LONGER_TIMEOUT: ("databricks", _timeout),
    databricks.REINSTALL: ("databricks", _libraries),
    databricks.REPAIR: ("databricks", _repair),
}


def run_playbook(
    name: str,
    *,
    target: Target,
    settings: Settings,
    clock: Clock | None = None,
    client: Any = None,
    guard: Guard = no_guard,
    request: PlaybookRequest | None = None,
) -> Outcome:
    """Run the named playbook against ``target``; raises TransientFailure or PermanentFailure.

    ``http.NAME`` playbooks POST ``request`` (the incident) to AUTOHEAL_HTTP_PLAYBOOKS[NAME], then verify."""
    if name.startswith(http.PREFIX):
        clock = clock or SystemClock()
        if client is None:
            client = (
                adf_client(settings, clock=clock)
                if target.service == "adf"
                else databricks_client(settings, clock=clock)
            )
        request = request or PlaybookRequest(playbook=name, service=target.service, run_id=target.run_id)
        return http.run_http(name, target, settings, client, clock, limits_from(settings, guard), request)
    if name not in PLAYBOOKS:
        raise PermanentFailure(f"unknown playbook {name!r}; known: {', '.join(sorted(PLAYBOOKS))}")
    service, runner = PLAYBOOKS[name]
    if service != target.service:
        raise PermanentFailure(f"playbook {name} acts on {service}, but the failure is in {target.service}")
    clock = clock or SystemClock()
    if client is None:
        client = adf_client(settings, clock=clock) if service == "adf" else databricks_client(settings, clock=clock)
    return runner(target, settings, client, clock, limits_from(settings, guard))
