"""The sweep: failed runs of the last window that no webhook reported go through the same path."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from prefect import flow, get_client, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.states import Cancelled

from autoheal.cloud.discovery import failed_runs
from autoheal.domain.alerts import Alert
from autoheal.domain.values import IncidentStatus
from autoheal.services import get_store
from autoheal.settings import get_settings
from autoheal.store.tables import IncidentChange
from tasks.notification import flush_notifications
from tasks.ticket import comment_new_duplicates


@task(name="find-unreported-failures", cache_policy=NO_CACHE)
def find_unreported(window_minutes: int) -> list[Alert]:
    since = datetime.now(UTC) - timedelta(minutes=window_minutes)
    store = get_store()
    return [a for a in failed_runs(get_settings(), since=since) if store.by_fingerprint(a.fingerprint) is None]


@task(name="send-through-the-alert-path", cache_policy=NO_CACHE)
def send(alerts: list[Alert]) -> list[int]:
    """Record each alert, then let the outbox send their events, exactly as the receiver does."""
    from prefect.settings import PREFECT_API_URL

    from autoheal.intake.outbox import Dispatcher

    store = get_store()
    received = [store.receive(alert) for alert in alerts]
    dispatcher = Dispatcher(store, str(PREFECT_API_URL.value()))
    try:
        dispatcher.drain()
    finally:
        dispatcher.close()
    return [int(incident.id or 0) for incident, created in received if created]


@task(name="expire-approvals", cache_policy=NO_CACHE)
def expire_approvals() -> list[int]:
    """Suspended runs whose request for approval went unanswered past its deadline: their process is
    gone, so nothing else notices. Escalate each incident and cancel its run (a late answer is refused)."""
    store, now = get_store(), datetime.now(UTC)
    expired = store.waiting_approval(expired_at=now)
    for incident in expired:
        assert incident.id is not None
        why = f"nobody answered the request for approval by {incident.approval_deadline}"
        store.record_approval(incident.id, decision="expired", by=None, comment=None, via="timeout")
        store.update(incident.id, IncidentChange(status=IncidentStatus.ESCALATED, outcome=why))
        if incident.flow_run_id:
            with get_client(sync_client=True) as client:
                client.set_flow_run_state(UUID(incident.flow_run_id), Cancelled(message=why), force=True)
    if expired:
        get_run_logger().info("escalated %d incident(s) whose approval expired", len(expired))
    return [int(i.id or 0) for i in expired]


@flow(name="sweep", log_prints=True)
async def sweep(window_minutes: int = 60) -> dict[str, Any]:
    """Catches lost webhooks, and lets a team start with no webhook at all; expires unanswered approvals."""
    expire_approvals()
    unreported = find_unreported(window_minutes)
    incidents = send(unreported)
    print(f"{len(incidents)} failure(s) no webhook reported were sent through the alert path")
    flush_notifications()  # one summary per channel for what its rate limit held
    comment_new_duplicates()  # tickets hear about alerts that joined their incident
    return {"found": len(unreported), "incidents": incidents}
