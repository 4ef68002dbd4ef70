"""Waiting for a person: Prefect's own input mechanism, so the form is on the run's page in the UI.

A run of the `remediate` deployment is *suspended* (``suspend_flow_run``): its process exits and
frees the runner's slot, and resuming it with the form's input runs the flow again from the start;
every step before this one is idempotent (the claim is kept by the same flow run, nothing acted
yet), and the suspension, asked again with the same key, returns the stored input. A run outside a
deployment (``autoheal run``, tests) cannot be re-run by Prefect, so it *pauses* instead
(``pause_flow_run``): its process waits, polling. README, "Approval", has what each costs.
"""

from __future__ import annotations

import time
from typing import Any
from uuid import UUID

from prefect import get_client
from prefect.client.schemas.responses import SetStateStatus
from prefect.context import FlowRunContext
from prefect.exceptions import FlowPauseTimeout
from prefect.flow_runs import apause_flow_run, asuspend_flow_run
from prefect.input import RunInput
from prefect.states import Running

from autoheal.domain.values import Answer

# What Prefect's server answers a resume that comes before the paused run has stored its form's schema.
_NO_FORM_YET = "Run input schema not found."
ASKS = 5  # a refused answer (not an approver) asks again, this many times at most


class ApprovalInput(RunInput):
    """The form the Prefect UI shows on a run waiting for approval."""

    approve: bool
    by: str
    comment: str = ""


async def wait_for_answer(
    incident_id: int, timeout_seconds: float, ask: int, *, poll_seconds: int = 2
) -> Answer | None:
    """The person's answer, or None when the deadline passed first. ``ask`` numbers the question, so
    a run re-run after suspension gets each earlier answer back instead of asking again."""
    key = f"approval-{incident_id}-{ask}"
    timeout = max(1, int(timeout_seconds))
    context = FlowRunContext.get()
    try:
        if context is not None and context.flow_run is not None and context.flow_run.deployment_id:
            answer: Any = await asuspend_flow_run(wait_for_input=ApprovalInput, timeout=timeout, key=key)
        else:
            answer = await apause_flow_run(
                wait_for_input=ApprovalInput, timeout=timeout, poll_interval=poll_seconds, key=key
            )
    except FlowPauseTimeout:
        # The run is still Paused on the server: take it back to Running, so that the escalation
        # that follows ends it in its own final state (not "paused and never resumed").
        if context is not None and context.flow_run is not None:
            async with get_client() as client:
                await client.set_flow_run_state(context.flow_run.id, Running(), force=True)
        return None
    return Answer(approve=bool(answer.approve), by=str(answer.by), comment=str(answer.comment or ""))


def answer(flow_run_id: str, value: Answer, *, wait_seconds: float = 30) -> None:
    """Resume the waiting run with an answer, as the UI's form does. The store says "waiting" a moment
    before Prefect has the run paused (the request is recorded first), and Prefect pauses the run a moment
    before it stores the form's schema (``prefect.flow_runs.pause_flow_run``): in between, its server turns
    an answer away ("Run input schema not found."). Wait for both, briefly."""
    run_id = UUID(flow_run_id)
    deadline = time.monotonic() + wait_seconds
    refused = ""  # the last refusal, so that a deadline passed while paused names it, not the state
    with get_client(sync_client=True) as client:
        while True:
            state = client.read_flow_run(run_id).state
            if state is not None and state.is_paused():
                result = client.resume_flow_run(run_id, run_input=value.model_dump())
                if result.status == SetStateStatus.ACCEPT:
                    return
                refused = getattr(result.details, "reason", None) or result.status.value
                if refused != _NO_FORM_YET:
                    raise RuntimeError(f"flow run {flow_run_id} did not take the answer: {refused}")
            else:
                refused = ""
            if time.monotonic() >= deadline:
                if refused:
                    raise RuntimeError(
                        f"flow run {flow_run_id} is paused but did not take the answer within {wait_seconds:g} s:"
                        f" Prefect kept answering {refused!r} (the run's approval form was never stored)"
                    )
                raise RuntimeError(
                    f"flow run {flow_run_id} is not waiting for an answer (it is {state.name if state else '?'})"
                )
            time.sleep(0.2)
