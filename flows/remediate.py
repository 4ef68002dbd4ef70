"""The main job: an alert in; a classified, decided, remediated and recorded incident out."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from prefect import flow, get_client
from prefect.artifacts import acreate_markdown_artifact
from prefect.client.schemas.objects import State
from prefect.context import SyncClientContext
from prefect.runtime import flow_run

from autoheal.domain.alerts import Alert
from autoheal.domain.classification import UNRECOGNISED
from autoheal.domain.decision import Decision
from autoheal.domain.outcome import Outcome
from autoheal.domain.values import Answer, IncidentStatus, Remediation
from autoheal.intake.outbox import full_alert
from autoheal.services import get_store
from autoheal.settings import get_settings
from autoheal.store.notices import Notices
from autoheal.store.rails import BreakerState
from autoheal.store.report import incident_markdown, links
from autoheal.store.tables import IncidentChange
from flows.approval import ASKS, wait_for_answer
from flows.states import final_state, outcome_tag, remediation_of
from tasks.incident import (
    analyze_incident,
    classify_incident,
    close_incident,
    decide_incident,
    enrich_incident,
    expand,
    open_incident,
)
from tasks.notification import notify_breaker, notify_incident
from tasks.rails import (
    approval_expired,
    breaker_state,
    grant_action,
    record_approval,
    request_approval,
    trip_breaker_if_failing,
)
from tasks.remediation import remediate_attempt
from tasks.ticket import comment_duplicates, open_ticket


def _run_name() -> str:
    alert = flow_run.parameters.get("alert")
    if isinstance(alert, dict):
        alert = Alert.model_validate(alert)
    return f"remediate-{alert.label()}" if isinstance(alert, Alert) else "remediate"


_ADDED: dict[str, set[str]] = {}  # tags this process added to each flow run (the context keeps the first ones)


def _note(*tags: str) -> None:
    """Tags for this run, sent with the next :func:`_tag`: the outcome's at the end of the run sends them all
    in one call, instead of one call more before the first action (22 ms of it, and an API call a run)."""
    if flow_run.id is not None:
        _ADDED.setdefault(str(flow_run.id), set()).update(tags)


async def _tag(*tags: str) -> None:
    if flow_run.id is None:
        return
    _note(*tags)
    added = _ADDED[str(flow_run.id)]
    async with get_client() as client:  # the run's tags are in its context: one call, not a read and a write
        await client.update_flow_run(flow_run.id, tags=sorted({*flow_run.tags, *added}))


@flow(name="remediate", flow_run_name=_run_name, log_prints=True)
async def remediate(
    alert: Alert,
    raw: dict[str, Any] | None = None,
    rerun: bool = False,
    requested_by: str | None = None,
    stranded_by: str | None = None,
) -> State[Remediation]:
    """Open the incident, enrich, classify, decide, remediate with the catalog's retries, close.

    ``rerun`` (a person asked, from the CLI or the UI's run form) bypasses deduplication: it claims the
    stored incident again once nobody is working on it, with a fresh attempt budget.

    ``stranded_by`` (the reconciler, or a rerun of a stranded incident) names a dead flow run whose
    open or remediating incident this run takes over, with the attempts already spent.

    The final state is named for what happened (flows/states.py): Resolved, Duplicate, Skipped, Dry run,
    Expanded (Completed), or Escalated (Failed: a person must act). Callers read the `Remediation` with
    ``run_remediate`` (or ``remediation_of`` on the state).
    """
    # The tasks are sync: without a client in context Prefect builds one (and its TLS context) per task.
    with SyncClientContext.get_or_create():
        result = await _remediate(alert, raw, rerun, requested_by, stranded_by)
    await _tag(outcome_tag(result))
    return final_state(result)


async def run_remediate(alert: Alert, **kwargs: Any) -> Remediation:
    """Run the flow here and return its `Remediation`, escalated or not."""
    state = await remediate(alert=alert, return_state=True, **kwargs)
    return await remediation_of(state)


async def _remediate(
    alert: Alert, raw: dict[str, Any] | None, rerun: bool, requested_by: str | None, stranded_by: str | None = None
) -> Remediation:
    run_id = str(flow_run.id) if flow_run.id else None
    incident_id, created = open_incident(alert, raw, run_id, force=rerun, stranded_by=stranded_by)
    if not created:
        _note(f"service:{alert.service}", "decision:duplicate")
        joined = get_store().get(incident_id)
        if joined is not None and joined.ticket_key:  # a duplicate alert comments on the ticket, once per count
            comment_duplicates(incident_id, return_state=True)
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
    decision = decide_incident(incident_id, classification, facts, alert.service, fresh_budget=rerun, analysis=analysis)
    kind = classification.error_type if classification.recognised else UNRECOGNISED  # a guess is no finding
    _note(f"service:{alert.service}", f"error-type:{kind}", f"decision:{decision.action}")
    answer: Answer | None = None
    if decision.action == "approve-first":
        await _tag()  # a run waiting for a person is found by its tags in the UI before it ends
        decision, answer = await _approval(incident_id, decision)
    if decision.action == "remediate" and decision.playbook:
        decision = grant_action(incident_id, decision, alert.resource)
        if decision.action == "escalate" and decision.reason.startswith("the circuit breaker tripped"):
            _tell_breaker(breaker_state())
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
        state = attempt(incident_id, decision.playbook, facts.target, first, requested_by, answer, return_state=True)
        if state.is_completed():
            outcome = await state.result()  # type: ignore[misc]
        else:
            error = str(state.data) if isinstance(state.data, BaseException) else state.message
        if outcome is None or not outcome.verified:
            _tell_breaker(trip_breaker_if_failing())
    status = close_incident(incident_id, decision, outcome, error)
    _tell_people(incident_id, status)
    await _report(incident_id)
    return Remediation(
        incident_id=incident_id, status=status, error_type=classification.error_type, decision=decision.action
    )


async def _approval(incident_id: int, decision: Decision) -> tuple[Decision, Answer | None]:
    """Ask a person: remediate on an approval, escalate on a rejection or when nobody answered in time.
    An answer from someone the policy does not list is refused, recorded, and the question asked again."""
    deadline = request_approval(incident_id, decision)
    notify_incident(incident_id, "approval", _run_url(), return_state=True)  # once: a resumed run is not told again
    for ask in range(ASKS):
        left = (deadline - datetime.now(UTC)).total_seconds()
        answer = await wait_for_answer(incident_id, left, ask) if left > 0 else None
        if answer is None:
            approval_expired(incident_id)
            reason = f"nobody answered the request for approval by {deadline.isoformat(timespec='minutes')}"
            return decision.model_copy(update={"action": "escalate", "reason": reason}), None
        verdict = record_approval(incident_id, ask, answer, "prefect")
        comment = f": {answer.comment}" if answer.comment else ""
        if verdict == "approved":
            reason = f"approved by {answer.by}{comment}; {decision.reason}"
            return decision.model_copy(update={"action": "remediate", "reason": reason}), answer
        if verdict == "rejected":
            return decision.model_copy(
                update={"action": "escalate", "reason": f"rejected by {answer.by}{comment}"}
            ), None
    reason = f"{ASKS} answers came from people the policy does not list as approvers"
    return decision.model_copy(update={"action": "escalate", "reason": reason}), None


async def _expand(incident_id: int, alert: Alert) -> Remediation:
    """A metric alert: one child flow run per failed run it counted."""
    concrete = expand(alert)
    results = [await run_remediate(child) for child in concrete]
    get_store().update(
        incident_id,
        IncidentChange(
            status=IncidentStatus.EXPANDED,
            decision="skip",
            decision_reason=f"metric alert: {len(concrete)} failed run(s) looked up, each its own incident",
        ),
    )
    _note(f"service:{alert.service}", "decision:expanded")
    return Remediation(incident_id=incident_id, status=IncidentStatus.EXPANDED, children=results)


def _run_url() -> str | None:
    base = get_settings().prefect_ui_url
    if base and flow_run.id:
        return f"{base.rstrip('/')}/runs/flow-run/{flow_run.id}"
    return flow_run.ui_url if flow_run.id else None


def _tell_breaker(state: BreakerState) -> None:
    """A breaker that is open now: one message per trip (the channels' ledger keys it by its minute)."""
    if state.open and state.reason:
        notify_breaker("global", state.reason, state.tripped_at, return_state=True)


def _tell_people(incident_id: int, status: IncidentStatus) -> None:
    """After close: a ticket for an escalation (its key goes into the message), then the notification.
    Neither can fail the run: their errors are recorded on the incident."""
    # return_state: a task that fails anyway (the store unreachable) shows in the UI, but the run goes on.
    if status == IncidentStatus.ESCALATED:
        open_ticket(incident_id, _run_url(), return_state=True)
        notify_incident(incident_id, "escalation", _run_url(), return_state=True)
    elif status == IncidentStatus.RESOLVED and "heal" in get_settings().notify_on:
        notify_incident(incident_id, "heal", _run_url(), return_state=True)


async def _report(incident_id: int) -> None:
    store = get_store()
    incident = store.get(incident_id)
    if incident is None:
        return
    await acreate_markdown_artifact(
        key=f"incident-{incident_id}",
        markdown=incident_markdown(
            incident,
            store.attempts(incident_id),
            links=links(incident, get_settings(), flow_run_url=_run_url()),
            notifications=Notices(store).of_incident(incident_id),
        ),
        description=f"autoheal incident {incident_id}: {incident.status}",
    )
