"""The remediation task: one playbook call per attempt; Prefect retries it only on transient failures."""

from __future__ import annotations

from typing import Any

from prefect import Task, task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State, TaskRun
from prefect.runtime import flow_run, task_run

from autoheal.domain.outcome import Outcome, PermanentFailure, PlaybookFailure, TransientFailure
from autoheal.domain.values import Answer, Target
from autoheal.services import get_store
from autoheal.settings import get_settings
from playbooks.registry import run_playbook
from tasks.locks import resource_guard


def only_transient(task: Task[Any, Any], run: TaskRun, state: State[Any]) -> bool:
    """Retry a transient failure (throttling, 5xx, a fix that did not hold); never a permanent one."""
    return isinstance(state.data, TransientFailure)


@task(name="remediate", cache_policy=NO_CACHE, retry_condition_fn=only_transient)
def remediate_attempt(
    incident_id: int,
    playbook: str,
    target: Target,
    first_number: int = 1,
    requested_by: str | None = None,
    approval: Answer | None = None,
) -> Outcome:
    """Run the playbook once and record the attempt; raises TransientFailure or PermanentFailure."""
    store = get_store()
    number = first_number + int(task_run.run_count or 1) - 1  # Prefect counts this task run's attempts
    attempt_id = store.start_attempt(
        incident_id,
        number=number,
        playbook=playbook,
        requested_by=requested_by,
        approved_by=approval.by if approval else None,
        approval_comment=approval.comment if approval else None,
        flow_run_id=str(flow_run.id) if flow_run.id else None,
        task_run_id=str(task_run.id) if task_run.id else None,
    )
    try:
        try:
            outcome = run_playbook(playbook, target=target, settings=get_settings(), guard=resource_guard)
        except PlaybookFailure:
            raise
        except Exception as exc:  # anything else is recorded too, never left "running" with no detail
            raise PermanentFailure(f"{type(exc).__name__}: {exc}") from exc
    except PlaybookFailure as failure:
        detail = failure.outcome.model_dump(mode="json") if failure.outcome else {}
        store.finish_attempt(
            attempt_id,
            outcome="transient" if failure.transient else "permanent",
            verified=False,
            created_ids=failure.outcome.created_ids if failure.outcome else None,
            detail={"reason": failure.reason, "retry_after": failure.retry_after, **detail},
        )
        raise
    store.finish_attempt(
        attempt_id,
        outcome="healed" if outcome.verified else "unverified",
        verified=outcome.verified,
        created_ids=outcome.created_ids,
        detail=outcome.model_dump(mode="json"),
    )
    return outcome
