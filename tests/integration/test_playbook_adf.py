"""ADF playbooks through the real azure-mgmt-datafactory client against the sandbox over TLS."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

from autoheal.cloud.polling import Limits
from autoheal.domain.outcome import PermanentFailure, TransientFailure
from playbooks import adf as adf_playbooks
from sandbox import Sandbox
from sandbox.faults import Fault
from tests.conftest import FastClock, wait_until

RG, FACTORY = "rg-data", "adf-sales"


def failed_run(sb: Sandbox, pipeline: str = "CopySales") -> str:
    """The scenario's own failed run of ``pipeline``, once it has failed."""

    def find() -> str | None:
        with sb.state.lock:
            sb.state.adf.tick()
            factory = next(iter(sb.state.adf.factories.values()))
            for run in factory.runs.values():
                if run.pipeline.spec.name == pipeline and run.status == "Failed" and not run.is_recovery:
                    return run.run_id
        return None

    return str(wait_until(find))


def rerun(adf: Any, run_id: str, clock: FastClock, limits: Limits) -> Any:
    return adf_playbooks.rerun_from_failure(
        adf, resource_group=RG, factory=FACTORY, run_id=run_id, clock=clock, limits=limits
    )


def test_rerun_from_failure_heals_and_skips_the_activity_that_succeeded(
    load: Any, adf: Any, clock: FastClock, limits: Limits
) -> None:
    sb = load("gateway-timeout")
    run_id = failed_run(sb)
    outcome = rerun(adf, run_id, clock, limits)
    assert outcome.verified and outcome.action == "rerun_from_failure"
    new_id = outcome.created_ids["run_id"]
    assert new_id != run_id
    assert outcome.state_before["status"] == "Failed" and outcome.state_after["status"] == "Succeeded"
    factory = next(iter(sb.state.adf.factories.values()))
    recovery = factory.runs[new_id]
    assert [a.spec.name for a in recovery.activities] == ["CopyOrders", "MergeOrders"]
    assert recovery.run_group_id == factory.runs[run_id].run_group_id
    assert sb.state.counts()["recovery_runs"] == 1


def test_called_twice_makes_one_rerun(load: Any, adf: Any, clock: FastClock, limits: Limits) -> None:
    sb = load("gateway-timeout")
    run_id = failed_run(sb)
    first = rerun(adf, run_id, clock, limits)
    second = rerun(adf, run_id, clock, limits)
    assert second.action == "followed_existing_rerun" and second.verified
    assert "run_id" not in second.created_ids
    assert second.state_after["run_id"] == first.created_ids["run_id"]
    assert sb.state.counts()["recovery_runs"] == 1


def test_verification_catches_a_rerun_that_fails_again_and_the_retry_heals(
    load: Any, adf: Any, clock: FastClock, limits: Limits
) -> None:
    sb = load("gateway-timeout")
    run_id = failed_run(sb)
    sb.state.adf.factories[(RG, FACTORY)].pipelines["CopySales"].spec.activities[1].fail_times = 1
    with pytest.raises(TransientFailure) as info:
        rerun(adf, run_id, clock, limits)
    failed_rerun = info.value.outcome
    assert failed_rerun is not None and not failed_rerun.verified
    assert failed_rerun.state_after["status"] == "Failed"
    assert "GatewayTimeout" in info.value.reason
    second = rerun(adf, run_id, clock, limits)
    assert second.verified
    assert second.created_ids["run_id"] != failed_rerun.created_ids["run_id"]
    assert sb.state.counts()["recovery_runs"] == 2


def test_transient_server_errors_beyond_the_sdk_retries_fail_the_attempt_then_heal(
    load: Any, adf: Any, clock: FastClock, limits: Limits
) -> None:
    sb = load("gateway-timeout")
    run_id = failed_run(sb)
    sb.state.add_fault(path="/createRun$", status=503, times=3)  # the client retries twice by itself
    with pytest.raises(TransientFailure, match="HTTP 503"):
        rerun(adf, run_id, clock, limits)
    assert sb.state.counts()["recovery_runs"] == 0
    assert rerun(adf, run_id, clock, limits).verified


def test_permission_denied_is_permanent_and_acts_on_nothing(
    load: Any, adf: Any, clock: FastClock, limits: Limits
) -> None:
    sb = load("gateway-timeout")
    run_id = failed_run(sb)
    sb.state.add_fault(
        Fault(
            path="/createRun$",
            status=403,
            error_code="AuthorizationFailed",
            message="The client does not have authorization to perform action "
            "'Microsoft.DataFactory/factories/pipelines/createRun/action'.",
        )
    )
    with pytest.raises(PermanentFailure, match="AuthorizationFailed"):
        rerun(adf, run_id, clock, limits)
    assert sb.state.counts()["recovery_runs"] == 0


def test_unknown_run_is_permanent(load: Any, adf: Any, clock: FastClock, limits: Limits) -> None:
    load("gateway-timeout")
    with pytest.raises(PermanentFailure, match="PipelineRunNotFound"):
        rerun(adf, "00000000-0000-0000-0000-00000000dead", clock, limits)


def test_retry_after_is_honoured_on_our_clock(load: Any, adf: Any, clock: FastClock, limits: Limits) -> None:
    sb = load("gateway-timeout")
    run_id = failed_run(sb)
    sb.state.add_fault(path="/pipelineruns/", method="GET", status=429, retry_after=7, times=1)
    assert rerun(adf, run_id, clock, limits).verified
    assert 7 in clock.sleeps


def test_retry_after_longer_than_allowed_fails_the_attempt_with_the_wait(
    load: Any, adf: Any, clock: FastClock, limits: Limits
) -> None:
    sb = load("gateway-timeout")
    run_id = failed_run(sb)
    sb.state.add_fault(path="/pipelineruns/", method="GET", status=429, retry_after=600, times=1)
    with pytest.raises(TransientFailure) as info:
        rerun(adf, run_id, clock, limits)
    assert info.value.retry_after == 600
    assert 600 not in clock.sleeps


def test_a_dropped_connection_is_retried(load: Any, adf: Any, clock: FastClock, limits: Limits) -> None:
    sb = load("gateway-timeout")
    run_id = failed_run(sb)
    sb.state.add_fault(path="/pipelineruns/", method="GET", kind="drop", times=1)
    assert rerun(adf, run_id, clock, limits).verified
    assert (
        "GET",
        f"/subscriptions/{sb.state.adf.subscription_id}/resourceGroups/{RG}/providers/"
        f"Microsoft.DataFactory/factories/{FACTORY}/pipelineruns/{run_id}",
        "drop",
    ) in sb.state.faults.fired


def upstream(adf: Any, run_id: str, name: str | None, clock: FastClock, limits: Limits) -> Any:
    return adf_playbooks.rerun_after_upstream(
        adf, resource_group=RG, factory=FACTORY, run_id=run_id, upstream_pipeline=name, clock=clock, limits=limits
    )


def test_upstream_still_running_is_waited_for_then_rerun(load: Any, adf: Any, clock: FastClock, limits: Limits) -> None:
    sb = load("source-blob-missing")
    run_id = failed_run(sb)
    outcome = upstream(adf, run_id, "IngestRaw", clock, limits)
    assert outcome.verified and outcome.playbook == adf_playbooks.UPSTREAM
    assert outcome.state_before["upstream"]["status"] == "Succeeded"
    assert sb.state.counts()["recovery_runs"] == 1


def test_upstream_that_failed_stops_with_that_reason(load: Any, adf: Any, clock: FastClock, limits: Limits) -> None:
    sb = load("source-blob-missing")
    with sb.state.lock:
        sb.state.adf.factories[(RG, FACTORY)].pipelines["IngestRaw"].spec.activities[0].fail_times = 1
    run_id = failed_run(sb)
    with pytest.raises(PermanentFailure, match=r"IngestRaw run .* ended Failed"):
        upstream(adf, run_id, "IngestRaw", clock, limits)
    assert sb.state.counts()["recovery_runs"] == 0


def test_upstream_that_never_ran_stops(load: Any, adf: Any, clock: FastClock, limits: Limits) -> None:
    sb = load("source-blob-missing")
    run_id = failed_run(sb)
    with pytest.raises(PermanentFailure, match="has not run"):
        upstream(adf, run_id, "ExportPartners", clock, limits)
    with pytest.raises(PermanentFailure, match="no upstream pipeline is configured"):
        upstream(adf, run_id, None, clock, limits)
    assert sb.state.counts()["recovery_runs"] == 0


def test_looking_for_a_rerun_and_starting_one_are_guarded_together_and_verification_is_not(
    load: Any, adf: Any, clock: FastClock, limits: Limits
) -> None:
    sb = load("gateway-timeout")
    run_id = failed_run(sb)
    calls_while_held: list[int] = []

    @contextlib.contextmanager
    def guard(resource: str) -> Iterator[None]:
        before = len(sb.state.journal)
        yield
        calls_while_held.append(len(sb.state.journal) - before)
        taken.append(resource)

    taken: list[str] = []
    guarded = Limits(poll_interval=limits.poll_interval, run_timeout=limits.run_timeout, guard=guard)
    outcome = rerun(adf, run_id, clock, guarded)
    assert outcome.verified and taken == [f"pipeline-run:adf-sales/{run_id}"]
    # Held for the run-group query and the createRun only; the polls that verify come after.
    assert calls_while_held == [2]
    paths = [c.path for c in sb.state.journal]
    assert paths.index(next(p for p in paths if p.endswith("/createRun"))) < len(paths) - 1
