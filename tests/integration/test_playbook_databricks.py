"""Databricks playbooks through the real databricks-sdk client against the sandbox."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
from databricks.sdk.service.compute import EventType, State

from autoheal.cloud.polling import Limits
from autoheal.domain.outcome import PermanentFailure, TransientFailure
from playbooks import databricks as pb
from sandbox import Sandbox
from sandbox.faults import Fault
from sandbox.scenario import Autoscale, load_scenario
from tests.conftest import FastClock, wait_until

CLUSTER = "0923-164208-etl001"
FALLBACKS = {"pandas": ["2.1.4", "2.1.0", "2.0.3", "1.5.3"]}


def failed_run(sb: Sandbox) -> int:
    def find() -> int | None:
        with sb.state.lock:
            sb.state.workspace.tick()
            for run in sb.state.workspace.runs.values():
                if run.terminal and run.result_state != "SUCCESS":
                    return run.run_id
        return None

    return int(wait_until(find))


def counts(sb: Sandbox) -> dict[str, int]:
    return sb.state.counts()


def heal(
    dbx: Any, run_id: int, clock: FastClock, limits: Limits, *, restart: bool = False, since_ms: int | None = None
) -> Any:
    return pb.heal_cluster_then_repair(
        dbx, run_id=run_id, restart_if_running=restart, since_ms=since_ms, clock=clock, limits=limits
    )


def test_terminated_cluster_is_started_then_the_run_repaired(
    load: Any, dbx: Any, clock: FastClock, limits: Limits
) -> None:
    sb = load("cluster-unexpected-termination")
    run_id = failed_run(sb)
    outcome = heal(dbx, run_id, clock, limits)
    assert outcome.verified and outcome.action == "cluster_started"
    assert outcome.state_before["clusters"][CLUSTER]["state"] == "TERMINATED"
    assert outcome.state_after["clusters"][CLUSTER]["state"] == "RUNNING"
    assert outcome.state_after["run"]["result_state"] == "SUCCESS"
    assert outcome.created_ids["repair_id"]
    assert counts(sb)["cluster_starts"] == 1 and counts(sb)["repairs"] == 1
    run = dbx.jobs.get_run(run_id, include_history=True)
    assert [h.type.value for h in run.repair_history] == ["ORIGINAL", "REPAIR"]
    assert all(t.attempt_number == 1 for t in run.tasks)


def test_failed_start_is_transient_and_the_next_attempt_heals(
    load: Any, dbx: Any, clock: FastClock, limits: Limits
) -> None:
    sb = load("cluster-start-failure")
    run_id = failed_run(sb)
    with pytest.raises(TransientFailure, match="did not come up: TERMINATED \\(CLOUD_PROVIDER_LAUNCH_FAILURE\\)"):
        heal(dbx, run_id, clock, limits)
    assert counts(sb)["repairs"] == 0
    assert heal(dbx, run_id, clock, limits).verified
    assert counts(sb)["cluster_starts"] == 2 and counts(sb)["repairs"] == 1


def test_hung_driver_is_restarted_once_and_a_second_call_does_nothing_more(
    load: Any, dbx: Any, clock: FastClock, limits: Limits
) -> None:
    sb = load("driver-not-responding")
    run_id = failed_run(sb)
    since = sb.state.workspace.runs[run_id].start_time * 1000
    first = heal(dbx, run_id, clock, limits, restart=True, since_ms=int(since))
    assert first.verified and first.action == "cluster_restarted"
    second = heal(dbx, run_id, clock, limits, restart=True, since_ms=int(since))
    assert second.verified and "repair_id" not in second.created_ids
    assert counts(sb)["cluster_restarts"] == 1 and counts(sb)["repairs"] == 1


def test_someone_elses_restart_after_the_failure_is_not_repeated(
    load: Any, dbx: Any, clock: FastClock, limits: Limits
) -> None:
    sb = load("driver-not-responding")
    run_id = failed_run(sb)
    since = int(sb.state.workspace.runs[run_id].start_time * 1000)
    # Before the failure, the cluster has no restart: left alone, the playbook would restart it.
    come_up = [EventType.STARTING, EventType.RESTARTING]
    assert list(dbx.clusters.events(CLUSTER, start_time=since, event_types=come_up)) == []
    sb.state.add_cluster_activity(CLUSTER, action="restart", user="jane@example.com")
    wait_until(lambda: dbx.clusters.get(CLUSTER).state == State.RUNNING)
    restarts = list(dbx.clusters.events(CLUSTER, start_time=since, event_types=come_up))
    assert [(e.type, e.details.user) for e in restarts] == [(EventType.RESTARTING, "jane@example.com")]
    outcome = heal(dbx, run_id, clock, limits, restart=True, since_ms=since)
    assert outcome.verified and outcome.action == "repair"
    assert f"cluster {CLUSTER} was already restarted since the failure" in outcome.steps
    assert counts(sb)["cluster_restarts"] == 0 and counts(sb)["repairs"] == 1


def test_a_restart_before_the_failure_does_not_count(load: Any, dbx: Any, clock: FastClock, limits: Limits) -> None:
    from sandbox.scenario import ClusterActivity

    scenario = load_scenario("driver-not-responding")
    scenario.databricks.clusters[0].activity = [ClusterActivity(action="restart", after_seconds=-600)]
    sb = load(scenario)
    run_id = failed_run(sb)
    since = int(sb.state.workspace.runs[run_id].start_time * 1000)
    outcome = heal(dbx, run_id, clock, limits, restart=True, since_ms=since)
    assert outcome.verified and outcome.action == "cluster_restarted"
    assert counts(sb)["cluster_restarts"] == 1


def test_many_failed_runs_on_one_cluster_make_one_restart(
    load: Any, dbx: Any, clock: FastClock, limits: Limits
) -> None:
    sb = load("driver-not-responding")
    first = failed_run(sb)
    since = int(sb.state.workspace.runs[first].start_time * 1000)
    with sb.state.lock:
        others = [sb.state.workspace.run_now(101).run_id for _ in range(3)]
    wait_until(lambda: all(sb.state.workspace.run(r).terminal for r in others))
    for run_id in [first, *others]:
        assert heal(dbx, run_id, clock, limits, restart=True, since_ms=since).verified
    assert counts(sb)["cluster_restarts"] == 1 and counts(sb)["repairs"] == 4


def test_verification_catches_a_repair_that_fails_again(load: Any, dbx: Any, clock: FastClock, limits: Limits) -> None:
    sb = load("cluster-unexpected-termination")
    run_id = failed_run(sb)
    with sb.state.lock:
        sb.state.workspace.jobs[101].spec.tasks[1].fail_times = 1
        sb.state.workspace.jobs[101].spec.tasks[1].error = "Py4JJavaError: An error occurred while calling o412.save"
    with pytest.raises(TransientFailure, match="ended FAILED: transform: Py4JJavaError") as info:
        heal(dbx, run_id, clock, limits)
    assert info.value.outcome is not None and not info.value.outcome.verified
    assert heal(dbx, run_id, clock, limits).verified
    assert counts(sb)["cluster_starts"] == 1 and counts(sb)["repairs"] == 2


def test_missing_cluster_is_permanent(load: Any, dbx: Any, clock: FastClock, limits: Limits) -> None:
    scenario = load_scenario("cluster-unexpected-termination")
    for task in scenario.databricks.jobs[0].tasks:
        task.existing_cluster_id = "0101-000000-deleted"
    sb = load(scenario)
    run_id = failed_run(sb)
    with pytest.raises(PermanentFailure, match=r"INVALID_PARAMETER_VALUE.*does not exist"):
        heal(dbx, run_id, clock, limits)
    assert counts(sb)["repairs"] == 0


def test_permission_denied_is_permanent(load: Any, dbx: Any, clock: FastClock, limits: Limits) -> None:
    sb = load("cluster-unexpected-termination")
    run_id = failed_run(sb)
    sb.state.add_fault(
        Fault(
            path="/clusters/start$",
            status=403,
            error_code="PERMISSION_DENIED",
            message="User does not have permission to start cluster.",
        )
    )
    with pytest.raises(PermanentFailure, match="PERMISSION_DENIED"):
        heal(dbx, run_id, clock, limits)
    assert counts(sb)["cluster_starts"] == 0 and counts(sb)["repairs"] == 0


def test_retry_after_is_honoured_on_our_clock(load: Any, dbx: Any, clock: FastClock, limits: Limits) -> None:
    sb = load("cluster-unexpected-termination")
    run_id = failed_run(sb)
    sb.state.add_fault(path="/clusters/get$", status=429, retry_after=7, times=2)
    assert heal(dbx, run_id, clock, limits).verified
    assert sum(1 for s in clock.sleeps if 7 <= s <= 8) == 2  # the SDK adds up to 1 s of jitter


def test_throttling_past_the_bound_fails_the_attempt(load: Any, dbx: Any, clock: FastClock, limits: Limits) -> None:
    sb = load("cluster-unexpected-termination")
    run_id = failed_run(sb)
    sb.state.add_fault(path="/clusters/get$", status=429, retry_after=600, times=1)
    with pytest.raises(TransientFailure) as info:
        heal(dbx, run_id, clock, limits)
    assert info.value.retry_after == 600
    assert counts(sb)["cluster_starts"] == 0


def test_server_errors_until_the_sdk_gives_up_are_transient(
    load: Any, dbx: Any, clock: FastClock, limits: Limits
) -> None:
    sb = load("cluster-unexpected-termination")
    run_id = failed_run(sb)
    sb.state.add_fault(path="/clusters/get$", status=503, retry_after=10, times=50)
    with pytest.raises(TransientFailure, match="retries ran out"):
        heal(dbx, run_id, clock, limits)
    sb.state.faults.clear()
    assert heal(dbx, run_id, clock, limits).verified


def test_scale_up_fixed_size_by_half_rounded_up(load: Any, dbx: Any, clock: FastClock, limits: Limits) -> None:
    sb = load("resource-exhausted")
    run_id = failed_run(sb)
    outcome = pb.scale_up_then_repair(
        dbx, run_id=run_id, since_ms=None, factor=1.5, max_workers=20, clock=clock, limits=limits
    )
    assert outcome.verified and outcome.changes == {"num_workers": {"old": 2, "new": 3}}
    assert dbx.clusters.get(CLUSTER).num_workers == 3
    assert counts(sb)["cluster_resizes"] == 1


def test_scale_up_autoscale_raises_max_workers_within_the_cap(
    load: Any, dbx: Any, clock: FastClock, limits: Limits
) -> None:
    scenario = load_scenario("resource-exhausted")
    scenario.databricks.clusters[0].autoscale = Autoscale(min_workers=1, max_workers=2)
    scenario.databricks.jobs[0].tasks[1].min_workers = 3
    sb = load(scenario)
    run_id = failed_run(sb)
    outcome = pb.scale_up_then_repair(
        dbx, run_id=run_id, since_ms=None, factor=1.5, max_workers=3, clock=clock, limits=limits
    )
    assert outcome.verified
    assert outcome.changes == {"autoscale.max_workers": {"old": 2, "new": 3}}
    assert dbx.clusters.get(CLUSTER).autoscale.max_workers == 3


def test_scale_up_at_the_cap_is_permanent(load: Any, dbx: Any, clock: FastClock, limits: Limits) -> None:
    sb = load("resource-exhausted")
    run_id = failed_run(sb)
    with pytest.raises(PermanentFailure, match="at the cap of 2"):
        pb.scale_up_then_repair(
            dbx, run_id=run_id, since_ms=None, factor=1.5, max_workers=2, clock=clock, limits=limits
        )
    assert counts(sb)["cluster_resizes"] == 0 and counts(sb)["repairs"] == 0


def test_longer_timeout_then_repair_and_no_second_raise(load: Any, dbx: Any, clock: FastClock, limits: Limits) -> None:
    sb = load("timeout")
    run_id = failed_run(sb)
    outcome = pb.longer_timeout_then_repair(
        dbx, run_id=run_id, factor=2, max_timeout_seconds=3600, clock=clock, limits=limits
    )
    assert outcome.verified and outcome.changes == {"transform.timeout_seconds": {"old": 200, "new": 400}}
    job = dbx.jobs.get(101)
    assert {t.task_key: t.timeout_seconds for t in job.settings.tasks}["transform"] == 400
    again = pb.longer_timeout_then_repair(
        dbx, run_id=run_id, factor=2, max_timeout_seconds=3600, clock=clock, limits=limits
    )
    assert again.changes == {} and counts(sb)["repairs"] == 1


def test_longer_timeout_at_the_cap_is_permanent(load: Any, dbx: Any, clock: FastClock, limits: Limits) -> None:
    sb = load("timeout")
    run_id = failed_run(sb)
    with pytest.raises(PermanentFailure, match="at the cap"):
        pb.longer_timeout_then_repair(dbx, run_id=run_id, factor=2, max_timeout_seconds=200, clock=clock, limits=limits)


def test_reinstall_tries_fallbacks_until_one_installs(load: Any, dbx: Any, clock: FastClock, limits: Limits) -> None:
    sb = load("library-install-failure")
    run_id = failed_run(sb)
    outcome = pb.reinstall_libraries_then_repair(dbx, run_id=run_id, fallbacks=FALLBACKS, clock=clock, limits=limits)
    assert outcome.verified and outcome.changes == {"pandas": {"old": "2.2.0", "new": "2.1.0"}}
    statuses = {s.library.pypi.package: s.status.value for s in dbx.libraries.cluster_status(CLUSTER)}
    assert statuses == {"pandas==2.1.0": "INSTALLED"}
    assert any("pandas==2.1.4 failed to install too" in s for s in outcome.steps)


def test_reinstall_without_fallbacks_is_permanent(load: Any, dbx: Any, clock: FastClock, limits: Limits) -> None:
    sb = load("library-install-failure")
    run_id = failed_run(sb)
    with pytest.raises(PermanentFailure, match="no fallback versions are configured for pandas"):
        pb.reinstall_libraries_then_repair(dbx, run_id=run_id, fallbacks={}, clock=clock, limits=limits)
    assert counts(sb)["repairs"] == 0


def test_reinstall_when_every_fallback_fails_is_transient(
    load: Any, dbx: Any, clock: FastClock, limits: Limits
) -> None:
    sb = load("library-install-failure")
    run_id = failed_run(sb)
    with pytest.raises(TransientFailure, match="none of the fallback versions of pandas installed"):
        pb.reinstall_libraries_then_repair(
            dbx, run_id=run_id, fallbacks={"pandas": ["2.1.4"]}, clock=clock, limits=limits
        )


class RecordingGuard:
    """A guard that records what was taken, and fails if one holder takes the same thing twice."""

    def __init__(self) -> None:
        self.held: list[str] = []
        self.entered: list[str] = []

    @contextlib.contextmanager
    def __call__(self, resource: str) -> Iterator[None]:
        assert resource not in self.held, f"{resource} taken twice by one holder: a real lock would deadlock"
        self.entered.append(resource)
        self.held.append(resource)
        try:
            yield
        finally:
            self.held.remove(resource)


def guarded_limits(limits: Limits, guard: RecordingGuard) -> Limits:
    return Limits(
        poll_interval=limits.poll_interval,
        cluster_timeout=limits.cluster_timeout,
        run_timeout=limits.run_timeout,
        upstream_wait=limits.upstream_wait,
        guard=guard,
    )


def test_a_cluster_start_is_guarded_and_a_healthy_cluster_takes_no_guard(
    load: Any, dbx: Any, clock: FastClock, limits: Limits
) -> None:
    sb = load("cluster-unexpected-termination")
    first = failed_run(sb)
    guard = RecordingGuard()
    assert heal(dbx, first, clock, guarded_limits(limits, guard)).action == "cluster_started"
    assert guard.entered == [f"cluster:{CLUSTER}"]
    with sb.state.lock:
        second = sb.state.workspace.run_now(101).run_id
    wait_until(lambda: sb.state.workspace.run(second).terminal)
    guard.entered.clear()
    # The cluster is up: a repair of another run on it needs no guard, so repairs do not queue.
    heal(dbx, second, clock, guarded_limits(limits, guard))
    assert guard.entered == []


def test_a_library_swap_restarts_the_cluster_it_already_holds(
    load: Any, dbx: Any, clock: FastClock, limits: Limits
) -> None:
    sb = load("library-install-failure")
    run_id = failed_run(sb)
    guard = RecordingGuard()
    outcome = pb.reinstall_libraries_then_repair(
        dbx, run_id=run_id, fallbacks=FALLBACKS, clock=clock, limits=guarded_limits(limits, guard)
    )
    assert outcome.verified and guard.entered == [f"cluster:{CLUSTER}"] and guard.held == []
