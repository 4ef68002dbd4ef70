"""Decide what to do about a classified failure: remediate, escalate or skip, always with a reason."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from autoheal.domain.catalog import Catalog
from autoheal.domain.classifier import Classification

Mode = Literal["off", "dry-run", "on"]


class Decision(BaseModel):
    action: Literal["remediate", "escalate", "skip"]
    reason: str
    playbook: str | None = None
    attempts_left: int = 0
    first_delay: float = 0.0
    retry_delays: list[float] = []
    dry_run: bool = False


def decide(
    *,
    mode: Mode,
    classification: Classification,
    service: str,
    catalog: Catalog,
    attempts_spent: int,
    joined: int | None = None,
    delay_scale: float = 1.0,
) -> Decision:
    """The rules' classification decides; nothing acts unless the mode is ``on``."""
    kind = classification.error_type
    if joined is not None:
        return Decision(action="skip", reason=f"incident {joined} is already handling this run or its rerun")
    entry = catalog.entry(kind)
    if entry is None or not classification.remediable:
        why = catalog.never.get(kind) or "not safe to remediate automatically"
        return Decision(action="escalate", reason=f"{kind} is never remediated: {why}")
    playbook = entry.playbook_for(service)
    if playbook is None:
        return Decision(action="escalate", reason=f"{kind} has no playbook for {service}")
    left = entry.attempts - attempts_spent
    if left <= 0:
        return Decision(
            action="escalate",
            playbook=playbook,
            reason=f"attempts exhausted: {attempts_spent} of {entry.attempts} already spent on this run",
        )
    first_delay, _, retry_delays = entry.schedule(delay_scale, spent=attempts_spent)
    delays = [first_delay, *retry_delays]
    plan = f"{playbook}, up to {left} attempt(s), waiting {', '.join(f'{d:g}s' for d in delays)}"
    if mode == "off":
        return Decision(action="skip", playbook=playbook, reason=f"mode is off: would run {plan}")
    if mode == "dry-run":
        return Decision(action="skip", playbook=playbook, dry_run=True, reason=f"dry-run: would run {plan}")
    return Decision(
        action="remediate",
        playbook=playbook,
        attempts_left=left,
        first_delay=first_delay,
        retry_delays=retry_delays,
        reason=f"{kind} is transient: {plan}",
    )
