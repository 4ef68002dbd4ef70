"""The `remediate` flow run's final state, named for what happened, so the Prefect UI's runs list
reads at a glance and its state filter finds every escalation.

- Resolved, Duplicate, Skipped, Dry run, Expanded: `Completed` states with that name. The flow did
  what it was designed to do and nobody has to act.
- **Escalated: a `Failed` state named "Escalated".** A person must act, so the run is red in the
  runs list and the dashboard, counts in Prefect's failed-run figures, and the automations a team
  already has on failed flow runs fire for it. The run did not crash: its result is the
  `Remediation`, read with ``state.result(raise_on_failure=False)`` (:func:`remediation_of`).
  Every escalated run is also tagged ``outcome:escalated``.
- The approval gate (built beside this) adds "Awaiting approval" (its pause) and "Rejected"
  (`Completed`: a person decided); :data:`NAMES` is the one place to map its statuses.
"""

from __future__ import annotations

from typing import Any

from prefect.client.schemas.objects import State
from prefect.states import Completed, Failed

from autoheal.domain.values import IncidentStatus, Remediation

NAMES: dict[str, str] = {
    IncidentStatus.RESOLVED: "Resolved",
    IncidentStatus.ESCALATED: "Escalated",
    IncidentStatus.SKIPPED: "Skipped",
    IncidentStatus.DRY_RUN: "Dry run",
    IncidentStatus.EXPANDED: "Expanded",
    "awaiting-approval": "Awaiting approval",  # the approval gate's hook
    "rejected": "Rejected",
}
NEEDS_A_PERSON = frozenset({IncidentStatus.ESCALATED})


def state_name(result: Remediation) -> str:
    if result.duplicate:
        return "Duplicate"
    status = str(result.status or "")
    return NAMES.get(status, status.replace("-", " ").capitalize() or "Completed")


def outcome_tag(result: Remediation) -> str:
    return "outcome:duplicate" if result.duplicate else f"outcome:{result.status}"


def final_state(result: Remediation, message: str | None = None) -> State[Any]:
    """A named Completed state, or a Failed "Escalated" one where a person must act."""
    name = state_name(result)
    if result.status in NEEDS_A_PERSON:
        return Failed(name=name, data=result, message=message or "escalated: a person must act")
    return Completed(name=name, data=result, message=message)


async def remediation_of(state: State[Any]) -> Remediation:
    """The flow's `Remediation` from its final state, escalated or not; a crash is raised."""
    value = await state.result(raise_on_failure=False)  # type: ignore[misc]
    if isinstance(value, BaseException):
        raise value
    if not isinstance(value, Remediation):
        raise TypeError(f"the remediate flow returned {type(value).__name__}, not a Remediation")
    return value
