"""The remediation task: one playbook call per attempt; Prefect retries it only on transient failures."""

from __future__ import annotations

import json
from typing import Any

from prefect import Task, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State, TaskRun
from prefect.runtime import flow_run, task_run

from autoheal.domain.outcome import Outcome, PermanentFailure, PlaybookFailure, TransientFailure
from autoheal.domain.values import Answer, Target
from autoheal.services import get_store
from autoheal.settings import get_settings
from playbooks.http import PREFIX as HTTP_PREFIX
from playbooks.http import PlaybookRequest
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
            outcome = run_playbook(
                playbook,
                target=target,
                settings=get_settings(),
                guard=resource_guard,
                request=playbook_request(incident_id, playbook, target, number),
            )
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
        done = "; ".join(failure.outcome.steps) if failure.outcome and failure.outcome.steps else "nothing changed"
        get_run_logger().info(
            "attempt %s of %s: %s (%s); %s",
            number,
            playbook,
            failure.reason,
            "transient: may retry" if failure.transient else "permanent",
            done,
        )
        raise
    store.finish_attempt(
        attempt_id,
        outcome="healed" if outcome.verified else "unverified",
        verified=outcome.verified,
        created_ids=outcome.created_ids,
        detail=outcome.model_dump(mode="json"),
    )
    get_run_logger().info("attempt %s of %s: %s", number, playbook, describe(outcome))
    return outcome


def playbook_request(incident_id: int, playbook: str, target: Target, number: int) -> PlaybookRequest | None:
    """The incident as an HTTP playbook's body (only for ``http.`` playbooks)."""
    if not playbook.startswith(HTTP_PREFIX):
        return None
    incident = get_store().get(incident_id)
    alert = json.loads(incident.alert_json) if incident else {}
    return PlaybookRequest(
        playbook=playbook,
        incident_id=incident_id,
        attempt=number,
        service=target.service,
        error_type=incident.error_type if incident else None,
        error_code=incident.error_code if incident else None,
        error_message=incident.message if incident else None,  # redacted when stored
        subscription_id=alert.get("subscription_id") or get_settings().azure_subscription_id,
        resource_group=target.resource_group,
        factory_name=target.factory,
        pipeline_name=target.pipeline,
        run_id=target.run_id or None,
        job_id=alert.get("job_id"),
        cluster_id=target.cluster_id,
        failed_at=incident.failed_at if incident else None,
    )


def describe(outcome: Outcome) -> str:
    """'started cluster 0923-... (was TERMINATED); verified: run 42 SUCCESS after 3 min'."""
    after = outcome.state_after
    state = after.get("status") or after.get("result_state") or after.get("state") or ""
    run = after.get("run_id") or outcome.created_ids.get("run_id") or outcome.target
    took = outcome.duration_seconds
    when = f"{took / 60:.0f} min" if took >= 90 else f"{took:.0f} s"
    verdict = f"verified: run {run} {state} after {when}" if outcome.verified else f"not verified: {outcome.detail}"
    return "; ".join([*outcome.steps, verdict])
