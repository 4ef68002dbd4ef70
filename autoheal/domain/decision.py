"""Decide what to do about a classified failure: remediate, ask a person first, escalate or skip,
always with a reason. The classification says what is transient; the catalog what heals it; the
policy (autoheal/domain/policy.py) and the rails' state what is allowed now."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from autoheal.domain.catalog import Catalog
from autoheal.domain.classification import Classification
from autoheal.domain.policy import Policy

Mode = Literal["off", "dry-run", "on"]
Action = Literal["remediate", "approve-first", "escalate", "skip"]


class Decision(BaseModel):
    action: Action
    reason: str
    playbook: str | None = None
    attempts_left: int = 0
    first_delay: float = 0.0
    retry_delays: list[float] = []
    dry_run: bool = False
    approval_timeout_seconds: float = 0.0  # for approve-first


class Rails(BaseModel):
    """The rails' state for this failure, read from the store just before deciding."""

    breaker_open: str | None = None  # why it is open
    resource_actions: int = 0  # actions on this resource within the budget's window
    recurrences: int = 0  # fixes of this class on this resource that did not hold, within the window


def decide(
    *,
    mode: Mode,
    classification: Classification,
    service: str,
    catalog: Catalog,
    attempts_spent: int,
    joined: int | None = None,
    delay_scale: float = 1.0,
    policy: Policy | None = None,
    rails: Rails | None = None,
    resource_keys: list[str] | None = None,
    suggested: str | None = None,
) -> Decision:
    """Nothing acts unless the mode is ``on``; the rails are checked in order and the first that
    stops the remediation says why; then the approval policy says whether a person goes first."""
    policy = policy or Policy()
    rails = rails or Rails()
    keys = resource_keys or []
    kind = classification.error_type
    if joined is not None:
        return Decision(action="skip", reason=f"incident {joined} is already handling this run or its rerun")
    ask = False
    why_ask = ""
    if not classification.remediable:
        asks = policy.approval.unknown_with_suggestion == "ask"
        if suggested and catalog.entry(suggested) and asks and not classification.vetoed_by:
            kind, ask, why_ask = suggested, True, f"the rules found no transient cause; the model suggests {suggested}"
        elif classification.abstained and catalog.entry(kind) and policy.approval.default != "never":
            ask, why_ask = True, f"{kind} on weak evidence (confidence {classification.confidence:.2f})"
        else:
            if not classification.recognised:
                return Decision(action="escalate", reason=f"nothing recognised: {kind} is a guess, a person decides")
            why = classification.vetoed_by or catalog.never.get(kind) or "not safe to remediate automatically"
            return Decision(action="escalate", reason=f"{kind} is not remediated: {why}")
    entry = catalog.entry(kind)
    playbook = entry.playbook_for(service) if entry else None
    if entry is None or playbook is None:
        return Decision(action="escalate", reason=f"{kind} has no playbook for {service}")
    if not policy.enabled(playbook):
        return Decision(action="escalate", playbook=playbook, reason=f"playbook {playbook} is switched off by policy")
    allowed, why_not = policy.allowed(keys)
    if not allowed:
        return Decision(action="escalate", playbook=playbook, reason=f"not touched: {why_not}")
    left = entry.attempts - attempts_spent
    if left <= 0:
        return Decision(
            action="escalate",
            playbook=playbook,
            reason=f"attempts exhausted: {attempts_spent} of {entry.attempts} already spent on this run",
        )
    if policy.breaker.enabled and rails.breaker_open:
        return Decision(
            action="escalate", playbook=playbook, reason=f"the circuit breaker is open: {rails.breaker_open}"
        )
    if policy.recurrence.enabled and rails.recurrences >= policy.recurrence.max:
        return Decision(
            action="escalate",
            playbook=playbook,
            reason=f"{kind} keeps coming back on this resource: {rails.recurrences} fixes did not hold "
            f"within {policy.recurrence.window_hours:g} h (at most {policy.recurrence.max})",
        )
    if policy.budget.enabled and rails.resource_actions >= policy.budget.actions:
        return Decision(
            action="escalate",
            playbook=playbook,
            reason=f"budget spent: {rails.resource_actions} actions on this resource within "
            f"{policy.budget.window_hours:g} h (at most {policy.budget.actions})",
        )
    first_delay, _, retry_delays = entry.schedule(delay_scale, spent=attempts_spent)
    delays = [first_delay, *retry_delays]
    plan = f"{playbook}, up to {left} attempt(s), waiting {', '.join(f'{d:g}s' for d in delays)}"
    if not ask:
        rule, because = policy.approval_for(playbook, keys)
        if rule == "always":
            ask, why_ask = True, f"policy: {because} always asks"
        elif rule == "low-confidence" and classification.confidence < policy.approval.threshold:
            ask = True
            why_ask = f"confidence {classification.confidence:.2f} is below {policy.approval.threshold:g} ({because})"
    if mode == "off":
        return Decision(action="skip", playbook=playbook, reason=f"mode is off: would run {plan}")
    if mode == "dry-run":
        first = "ask for approval, then " if ask else ""
        return Decision(action="skip", playbook=playbook, dry_run=True, reason=f"dry-run: would {first}run {plan}")
    action: Action = "approve-first" if ask else "remediate"
    reason = f"approval needed ({why_ask}): {plan}" if ask else f"{kind} is transient: {plan}"
    return Decision(
        action=action,
        playbook=playbook,
        attempts_left=left,
        first_delay=first_delay,
        retry_delays=retry_delays,
        reason=reason,
        approval_timeout_seconds=policy.approval.timeout_hours * 3600 if ask else 0.0,
    )
