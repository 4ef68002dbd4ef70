"""Tasks of the safety rails: the action grant (budget and breaker), asking a person, recording the
answer, and tripping the breaker after failed verifications. The state is in the store
(autoheal/store/rails.py); the policy comes from settings (autoheal/services.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from autoheal.domain.decision import Decision
from autoheal.domain.values import Answer
from autoheal.services import get_policy, get_store
from autoheal.store.rails import BreakerState
from autoheal.store.tables import IncidentChange

Verdict = Literal["approved", "rejected", "refused"]


@task(name="grant", cache_policy=NO_CACHE)
def grant_action(incident_id: int, decision: Decision, resource: str) -> Decision:
    """One remediation may act: counted against the resource's budget and the breaker, atomically,
    so concurrent flow runs cannot overshoot. Refused: the decision becomes an escalation."""
    assert decision.playbook is not None
    store = get_store()
    refused = store.grant_action(incident_id, resource=resource, playbook=decision.playbook, policy=get_policy())
    if refused is None:
        get_run_logger().info("granted %s on %s", decision.playbook, resource)
        return decision
    get_run_logger().info("not granted: %s", refused)
    escalated = decision.model_copy(update={"action": "escalate", "reason": refused})
    store.update(incident_id, IncidentChange(decision="escalate", decision_reason=refused))
    return escalated


@task(name="request-approval", cache_policy=NO_CACHE)
def request_approval(incident_id: int, decision: Decision) -> datetime:
    """The incident waits for a person, until the returned deadline; idempotent (a resumed run asks again)."""
    wanted = datetime.now(UTC) + timedelta(seconds=decision.approval_timeout_seconds)
    deadline = get_store().request_approval(incident_id, deadline=wanted)
    get_run_logger().info(
        "waiting for approval until %s: %s (autoheal approve %d, or the form on this run's page)",
        deadline.isoformat(timespec="seconds"),
        decision.reason,
        incident_id,
    )
    return deadline


@task(name="record-approval", cache_policy=NO_CACHE)
def record_approval(incident_id: int, ask: int, answer: Answer, via: str) -> Verdict:
    """Record the answer once; an approver the policy does not list is refused (and recorded)."""
    store, policy = get_store(), get_policy()
    allowed = not policy.approval.approvers or answer.by in policy.approval.approvers
    verdict: Verdict = ("approved" if answer.approve else "rejected") if allowed else "refused"
    store.record_answer(incident_id, ask=ask, decision=verdict, by=answer.by, comment=answer.comment, via=via)
    if verdict == "refused":
        get_run_logger().warning("refused an answer from %s: not among the approvers the policy lists", answer.by)
    else:
        comment = f": {answer.comment}" if answer.comment else ""
        get_run_logger().info("%s by %s%s", verdict, answer.by, comment)
    return verdict


@task(name="approval-expired", cache_policy=NO_CACHE)
def approval_expired(incident_id: int) -> None:
    get_store().record_approval(incident_id, decision="expired", by=None, comment=None, via="timeout")
    get_run_logger().info("nobody answered before the deadline: escalating")


@task(name="breaker-check", cache_policy=NO_CACHE)
def trip_breaker_if_failing() -> BreakerState:
    """After a remediation failed verification: the breaker's state, tripped if the window now holds too many."""
    state = get_store().trip_if_failing(get_policy())
    if state.open:
        get_run_logger().warning("circuit breaker open: %s", state.reason)
    return state


@task(name="breaker-state", cache_policy=NO_CACHE)
def breaker_state() -> BreakerState:
    return get_store().breaker(get_policy())
