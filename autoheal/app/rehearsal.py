"""Rehearse playbooks against the sandbox: the scenario's failure, the catalog's playbook and attempts.

No Prefect here: this answers "what would this playbook do to that failure?" before anyone
points autoheal at a real workspace.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field

from autoheal.cloud.adf_runs import query_runs, run_filter
from autoheal.cloud.clients import adf_client, databricks_client
from autoheal.cloud.polling import ScaledClock
from autoheal.domain.catalog import Catalog
from autoheal.domain.outcome import Outcome, PlaybookFailure
from autoheal.domain.values import Target
from autoheal.settings import Settings
from playbooks.registry import run_playbook
from sandbox import Sandbox
from sandbox.scenario import Scenario


class Attempt(BaseModel):
    number: int
    ok: bool
    transient: bool | None = None
    reason: str = ""
    outcome: Outcome | None = None


class Rehearsal(BaseModel):
    scenario: str
    error_type: str
    playbook: str | None
    target: Target | None = None
    attempts: list[Attempt] = Field(default_factory=list)
    healed: bool = False
    reason: str = ""
    counts: dict[str, int] = Field(default_factory=dict)


def sandbox_settings(sb: Sandbox, scenario: Scenario | None = None, **overrides: Any) -> Settings:
    """Settings pointing at ``sb``, with the upstream links its scenario implies."""
    if sb.endpoints is None:
        raise RuntimeError("the sandbox is not started")
    e = sb.endpoints
    scenario = scenario or sb.state.scenario
    upstream = {
        p.name: a.requires_upstream
        for f in scenario.adf.factories
        for p in f.pipelines
        for a in p.activities
        if a.requires_upstream
    }
    factory = scenario.adf.factories[0] if scenario.adf.factories else None
    values: dict[str, Any] = dict(
        databricks_host=e.databricks_host,
        databricks_token=e.databricks_token,
        azure_subscription_id=e.subscription_id,
        adf_base_url=e.adf_base_url,
        adf_ca_bundle=e.ca_bundle,
        adf_token=e.adf_token,
        adf_resource_group=factory.resource_group if factory else None,
        adf_factory=factory.name if factory else None,
        upstream_pipelines=upstream,
    )
    values.update(overrides)
    return Settings(_env_file=None, **values)


def find_failure(settings: Settings, *, service: str, clock: Any, timeout: float) -> Target:
    """The first failed, not-yet-recovered run in the sandbox, found through the real SDKs."""
    deadline = clock.time() + timeout
    while clock.time() < deadline:
        found = _failed_adf(settings, clock) if service == "adf" else _failed_databricks(settings, clock)
        if found is not None:
            return found
        clock.sleep(10)
    raise TimeoutError(f"the scenario produced no failed {service} run within {timeout:g} simulated seconds")


def _failed_adf(settings: Settings, clock: Any) -> Target | None:
    client = adf_client(settings, clock=clock)
    now = datetime.now(UTC)
    rg, factory = settings.adf_resource_group or "", settings.adf_factory or ""
    try:
        runs = query_runs(
            client, rg, factory, run_filter(now - timedelta(days=1), now + timedelta(days=1), Status="Failed")
        )
    finally:
        client.close()
    if not runs:
        return None
    run = runs[-1]
    return Target(
        service="adf",
        run_id=run.run_id,
        resource_group=settings.adf_resource_group,
        factory=settings.adf_factory,
        pipeline=run.pipeline_name,
        failed_at_ms=int(run.run_end.timestamp() * 1000) if run.run_end else None,
    )


def _failed_databricks(settings: Settings, clock: Any) -> Target | None:
    w = databricks_client(settings, clock=clock)
    for run in w.jobs.list_runs(completed_only=True):
        if run.state and run.state.result_state and run.state.result_state.value != "SUCCESS":
            return Target(service="databricks", run_id=str(run.run_id), failed_at_ms=run.start_time)
    return None


def rehearse(scenario: Scenario, catalog: Catalog, *, error_type: str | None = None) -> Rehearsal:
    """Run the scenario, find its failure, and heal it the way the catalog says, attempt by attempt."""
    kind = error_type or scenario.error_type or "Unknown"
    entry = catalog.entry(kind)
    service = "adf" if scenario.adf.factories else "databricks"
    playbook = entry.playbook_for(service) if entry else None
    result = Rehearsal(scenario=scenario.name, error_type=kind, playbook=playbook)
    with Sandbox(scenario) as sb:
        clock = ScaledClock(scenario.time_scale)
        settings = sandbox_settings(sb, scenario)
        result.target = find_failure(settings, service=service, clock=clock, timeout=3600)
        if entry is None or playbook is None:
            result.reason = f"{kind} is never remediated here: escalate to a person"
            result.counts = sb.state.counts()
            return result
        for number, delay in enumerate(entry.delays, start=1):
            clock.sleep(delay)
            try:
                outcome = run_playbook(playbook, target=result.target, settings=settings, clock=clock)
            except PlaybookFailure as failure:
                result.attempts.append(
                    Attempt(
                        number=number,
                        ok=False,
                        transient=failure.transient,
                        reason=failure.reason,
                        outcome=failure.outcome,
                    )
                )
                result.reason = failure.reason
                if not failure.transient:
                    break
                continue
            result.attempts.append(Attempt(number=number, ok=True, outcome=outcome))
            result.healed, result.reason = outcome.verified, outcome.detail or "verified"
            break
        result.counts = sb.state.counts()
    return result
