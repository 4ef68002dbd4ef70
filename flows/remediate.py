"""The main job: an alert in; a classified, decided, remediated and recorded incident out."""

from __future__ import annotations

import asyncio
from typing import Any

from prefect import flow, get_client
from prefect.artifacts import acreate_markdown_artifact
from prefect.context import SyncClientContext
from prefect.runtime import flow_run

from autoheal.domain.alerts import Alert
from autoheal.domain.outcome import Outcome
from autoheal.domain.values import IncidentStatus, Remediation
from autoheal.intake.outbox import full_alert
from autoheal.services import get_store
from autoheal.settings import get_settings
from autoheal.store.report import incident_markdown
from autoheal.store.tables import IncidentChange
from tasks.incident import (
    analyze_incident,
    classify_incident,
    close_incident,
    decide_incident,
    enrich_incident,
    expand,
    open_incident,
)
from tasks.remediation import remediate_attempt


def _run_name() -> str:
    alert = flow_run.parameters.get("alert")
    if isinstance(alert, dict):
        alert = Alert.model_validate(alert)
    return f"remediate-{alert.label()}" if isinstance(alert, Alert) else "remediate"


async def _tag(*tags: str) -> None:
    if flow_run.id is None:
        return
    async with get_client() as client:  # the run's tags are in its context: one call, not a read and a write
        await client.update_flow_run(flow_run.id, tags=sorted({*flow_run.tags, *tags}))


@flow(name="remediate", flow_run_name=_run_name, log_prints=True)
async def remediate(
    alert: Alert,
    raw: dict[str, Any] | None = None,
    rerun: bool = False,
    requested_by: str | None = None,
    stranded_by: str | None = None,
) -> Remediation:
    """Open the incident, enrich, classify, decide, remediate with the catalog's retries, close.

    ``rerun`` (a person asked, from the CLI or the UI's run form) bypasses deduplication: it claims the
    stored incident again once nobody is working on it, with a fresh attempt budget.
    ``stranded_by`` (the reconciler, or a rerun of a stranded incident) names a dead flow run whose
    open or remediating incident this run takes over, with the attempts already spent.
    """
    # The tasks are sync: without a client in context Prefect builds one (and its TLS context) per task.
    with SyncClientContext.get_or_create():
        return await _remediate(alert, raw, rerun, requested_by, stranded_by)


async def _remediate(
    alert: Alert, raw: dict[str, Any] | None, rerun: bool, requested_by: str | None, stranded_by: str | None = None
) -> Remediation:
    run_id = str(flow_run.id) if flow_run.id else None
    incident_id, created = open_incident(alert, raw, run_id, force=rerun, stranded_by=stranded_by)
    if not created:
        await _tag(f"service:{alert.service}", "decision:duplicate")
        return Remediation(incident_id=incident_id, duplicate=True)
    alert = full_alert(get_store(), incident_id, alert)  # the parameters carry a cut error text
    if alert.needs_lookup:
        return await _expand(incident_id, alert)
    facts = enrich_incident(incident_id, alert)
    classification = classify_incident(incident_id, facts, alert.service)
    # Only with a model configured: rules-only runs skip the task and its cost.
    analysis = (
        analyze_incident(incident_id, facts, classification, alert.service)
        if get_settings().ai_provider != "none"
        else None
    )
    decision = decide_incident(
        incident_id, classification, facts, alert.service, fresh_budget=rerun, analysis=analysis
    )
    await _tag(f"service:{alert.service}", f"error-type:{classification.error_type}", f"decision:{decision.action}")
    outcome: Outcome | None = None
    error: str | None = None
    if decision.action == "remediate" and decision.playbook:
        await asyncio.sleep(decision.first_delay)
        attempt = remediate_attempt.with_options(
            retries=decision.attempts_left - 1, retry_delay_seconds=decision.retry_delays or 0
        )
        first = len(get_store().attempts(incident_id)) + 1
        # The playbook guards the resource it changes (a cluster start, a rerun), not the whole attempt:
        # forty repairs of runs on one cluster wait for its start, not for each other's verification.
        state = attempt(incident_id, decision.playbook, facts.target, first, requested_by, return_state=True)
        if state.is_completed():
            outcome = await state.result()  # type: ignore[misc]
        else:
            error = str(state.data) if isinstance(state.data, BaseException) else state.message
    status = close_incident(incident_id, decision, outcome, error)
    await _report(incident_id)
    return Remediation(
        incident_id=incident_id, status=status, error_type=classification.error_type, decision=decision.action
    )


async def _expand(incident_id: int, alert: Alert) -> Remediation:
    """A metric alert: one child flow run per failed run it counted."""
    concrete = expand(alert)
    results = [await remediate(alert=child) for child in concrete]
    get_store().update(
        incident_id,
        IncidentChange(
            status=IncidentStatus.EXPANDED,
            decision="skip",
            decision_reason=f"metric alert: {len(concrete)} failed run(s) looked up, each its own incident",
        ),
    )
    await _tag(f"service:{alert.service}", "decision:expanded")
    return Remediation(incident_id=incident_id, status=IncidentStatus.EXPANDED, children=results)


async def _report(incident_id: int) -> None:
    store = get_store()
    incident = store.get(incident_id)
    if incident is None:
        return
    await acreate_markdown_artifact(
        key=f"incident-{incident_id}",
        markdown=incident_markdown(incident, store.attempts(incident_id)),
        description=f"autoheal incident {incident_id}",
    )
