"""Every catalog playbook, through the registry, on its bundled scenario: throttling honoured,
transient errors retried, idempotency, and verification that catches a fix that did not hold."""

from __future__ import annotations

from typing import Any

import pytest

from autoheal.app.rehearsal import find_failure, sandbox_settings
from autoheal.domain.catalog import load_catalog
from autoheal.domain.outcome import TransientFailure
from autoheal.domain.values import Target
from playbooks.registry import run_playbook
from sandbox import Sandbox
from sandbox.scenario import bundled_scenarios, load_scenario
from tests.conftest import FastClock

CATALOG = load_catalog()
SCENARIOS = bundled_scenarios(single_type=True)
# The GET every playbook of a service makes first, and a fault that outlasts that SDK's own retries.
FIRST_READ = {"databricks": "/jobs/runs/get$", "adf": "/pipelineruns/[^/]+$"}
OUTLASTS_SDK = {"databricks": {"status": 500, "times": 1}, "adf": {"status": 503, "times": 3}}


def prepare(load: Any, name: str) -> tuple[Sandbox, str, str, Target, Any]:
    scenario = load_scenario(name)
    for cluster in scenario.databricks.clusters:
        cluster.fail_starts = 0  # heal on the first attempt; test_playbook_databricks covers failed starts
    sb = load(scenario)
    service = "adf" if scenario.adf.factories else "databricks"
    entry = CATALOG.entry(scenario.error_type or "")
    assert entry is not None
    playbook = entry.playbook_for(service)
    assert playbook is not None
    settings = sandbox_settings(sb, scenario, databricks_retry_timeout_seconds=30)
    target = find_failure(settings, service=service, clock=FastClock(), timeout=3600)
    return sb, service, playbook, target, settings


def created(outcome: Any) -> set[str]:
    return set(outcome.created_ids.values())


def make_next_fix_fail(sb: Sandbox, service: str) -> None:
    with sb.state.lock:
        if service == "adf":
            factory = next(iter(sb.state.adf.factories.values()))
            pipeline = factory.pipelines["CopySales"].spec
            pipeline.activities[-1].fail_times = 1
        elif sb.state.scenario.error_type == "DatabricksTimeoutError":
            sb.state.workspace.jobs[101].spec.tasks[1].duration_seconds = 500  # longer than 200 s x 2
        else:
            sb.state.workspace.jobs[101].spec.tasks[1].fail_times = 1


@pytest.mark.parametrize("name", SCENARIOS)
def test_called_twice_acts_once(load: Any, name: str) -> None:
    sb, _, playbook, target, settings = prepare(load, name)
    first = run_playbook(playbook, target=target, settings=settings, clock=FastClock())
    assert first.verified and created(first)
    before = sb.state.counts()
    second = run_playbook(playbook, target=target, settings=settings, clock=FastClock())
    assert second.verified and not created(second)
    assert sb.state.counts() == before


@pytest.mark.parametrize("name", SCENARIOS)
def test_retry_after_is_honoured(load: Any, name: str) -> None:
    sb, service, playbook, target, settings = prepare(load, name)
    sb.state.add_fault(path=FIRST_READ[service], method="GET", status=429, retry_after=7, times=1)
    clock = FastClock()
    assert run_playbook(playbook, target=target, settings=settings, clock=clock).verified
    assert any(7 <= s < 8 for s in clock.sleeps)
    assert len(sb.state.faults.fired) == 1


@pytest.mark.parametrize("name", SCENARIOS)
def test_transient_failure_then_success(load: Any, name: str) -> None:
    sb, service, playbook, target, settings = prepare(load, name)
    sb.state.add_fault(path=FIRST_READ[service], method="GET", **OUTLASTS_SDK[service])
    with pytest.raises(TransientFailure):
        run_playbook(playbook, target=target, settings=settings, clock=FastClock())
    assert sb.state.counts()["repairs"] == 0 and sb.state.counts()["recovery_runs"] == 0
    assert run_playbook(playbook, target=target, settings=settings, clock=FastClock()).verified


@pytest.mark.parametrize("name", SCENARIOS)
def test_verification_catches_a_fix_that_did_not_hold(load: Any, name: str) -> None:
    sb, service, playbook, target, settings = prepare(load, name)
    make_next_fix_fail(sb, service)
    with pytest.raises(TransientFailure) as info:
        run_playbook(playbook, target=target, settings=settings, clock=FastClock())
    assert info.value.outcome is not None and not info.value.outcome.verified
    assert created(info.value.outcome)
    again = run_playbook(playbook, target=target, settings=settings, clock=FastClock())
    assert again.verified and created(again) - created(info.value.outcome)
