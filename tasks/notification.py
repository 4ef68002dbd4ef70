"""Telling people: an escalation (why, what was tried), a heal (opt in), an approval waiting, a breaker
trip, through Prefect's notification blocks (Slack, Microsoft Teams Workflows, SMTP email through
apprise, a generic webhook, or any saved block).

One message per incident, kind and channel (the ledger's unique key: duplicates, retries and reruns
never re-notify); a rate limit per channel (the first AUTOHEAL_NOTIFY_LIMIT messages in a window go
out, the rest are held and :func:`flush_notifications` sends one summary for them). A failing channel
never stops a remediation: the block runs under ``raise_on_failure`` (apprise otherwise fails
silently), and the error is recorded on the incident's notification row and logged.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal

from prefect import get_run_logger, task
from prefect.blocks.core import Block
from prefect.blocks.notifications import (
    AppriseNotificationBlock,
    CustomWebhookNotificationBlock,
    MicrosoftTeamsWebhook,
    SlackWebhook,
)
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel

from autoheal.domain.redaction import redact
from autoheal.services import get_store
from autoheal.settings import Settings, get_settings
from autoheal.store.messages import Message, incident_message, summary_message
from autoheal.store.notices import HELD, Notices
from autoheal.store.report import links
from autoheal.store.store import Store

Kind = Literal["escalation", "heal", "approval", "breaker"]


class Delivery(BaseModel):
    """What happened to one message on one channel."""

    channel: str
    status: Literal["sent", "failed", "held", "already"]
    error: str | None = None


def channels(settings: Settings) -> dict[str, Callable[[], Any]]:
    """The configured channels by name, each a function that builds its block when used: a URL a block
    refuses (a Teams URL that is not a Workflows one) or a saved block that is missing is that channel's
    error, recorded, not everyone's."""
    out: dict[str, Callable[[], Any]] = {}
    if (slack := settings.notify_slack_url) is not None:
        out["slack"] = lambda: SlackWebhook(url=slack)
    if (teams := settings.notify_teams_url) is not None:
        out["teams"] = lambda: MicrosoftTeamsWebhook(url=teams)
    if (email := settings.notify_email_url) is not None:
        out["email"] = lambda: AppriseNotificationBlock(url=email)
    if (hook := settings.notify_webhook_url) is not None:
        out["webhook"] = lambda: CustomWebhookNotificationBlock(
            name="autoheal",
            url=hook.get_secret_value(),
            json_data={"source": "autoheal", "subject": "{{subject}}", "body": "{{body}}"},
            timeout=10,
        )
    for ref in settings.notify_blocks:
        out[f"block:{ref}"] = lambda ref=ref: Block.load(ref)  # type: ignore[misc]
    return out


def _send(channel: Callable[[], Any], message: Message) -> str | None:
    """Send through the channel's block; None, or the error (redacted: a webhook URL can carry its secret)."""
    try:
        block = channel()
        with block.raise_on_failure():
            block.notify(message.body, subject=message.subject)
    except Exception as exc:  # any channel's failure is recorded, never raised into the remediation
        said = " ".join(line.strip() for line in str(getattr(exc, "log", "") or exc).splitlines() if line.strip())
        return redact(f"{type(exc).__name__}: {said or 'the channel refused the message'}"[:500])
    return None


def deliver(
    store: Store, key: str, kind: str, message: Message, *, incident_id: int | None, settings: Settings
) -> list[Delivery]:
    """Claim, then send, ``message`` on each configured channel: once per key, kind and channel."""
    notices = Notices(store)
    out: list[Delivery] = []
    for name, channel in channels(settings).items():
        row = notices.claim(
            key=key,
            channel=name,
            kind=kind,
            subject=message.subject,
            incident_id=incident_id,
            limit=settings.notify_limit,
            window_seconds=settings.notify_window_seconds,
        )
        if row is None:
            out.append(Delivery(channel=name, status="already"))
            continue
        if row.status == HELD:
            out.append(Delivery(channel=name, status="held"))
            continue
        error = _send(channel, message)
        notices.finish(int(row.id or 0), error=error)
        out.append(Delivery(channel=name, status="failed" if error else "sent", error=error))
    return out


def notify(
    store: Store, incident_id: int, kind: Kind, settings: Settings, flow_run_url: str | None = None
) -> list[Delivery]:
    incident = store.get(incident_id)
    if incident is None:
        raise KeyError(f"no incident {incident_id}")
    message = incident_message(
        incident, store.attempts(incident_id), kind, links(incident, settings, flow_run_url=flow_run_url)
    )
    return deliver(store, f"incident-{incident_id}", kind, message, incident_id=incident_id, settings=settings)


def flush(store: Store, settings: Settings) -> list[Delivery]:
    """One summary per channel for the messages its rate limit held."""
    notices = Notices(store)
    configured = channels(settings)
    out: list[Delivery] = []
    for name in notices.channels_with_held():
        held = notices.held(name)
        if name not in configured or not held:
            continue
        message = summary_message(
            [store.get(n.incident_id) if n.incident_id else None for n in held], [n.kind for n in held]
        )
        row = notices.claim(
            key=f"summary-{held[-1].id}",
            channel=name,
            kind="summary",
            subject=message.subject,
            incident_id=None,
            limit=1_000_000,
            window_seconds=1,
        )
        if row is None:
            continue
        error = _send(configured[name], message)
        notices.finish(int(row.id or 0), error=error)
        if error is None:
            notices.summarize([int(n.id or 0) for n in held], int(row.id or 0))
        out.append(Delivery(channel=name, status="failed" if error else "sent", error=error))
    return out


def _said(deliveries: list[Delivery]) -> str:
    parts = [f"{d.channel} {d.status}" + (f" ({d.error})" if d.error else "") for d in deliveries]
    return ", ".join(parts) or "no channel configured"


@task(name="notify", cache_policy=NO_CACHE)
def notify_incident(incident_id: int, kind: Kind, flow_run_url: str | None = None) -> list[Delivery]:
    """Tell the channels about this incident once; held by the rate limit, or failed, is recorded."""
    settings = get_settings()
    logger = get_run_logger()
    if kind not in settings.notify_on:
        logger.info("not notifying the %s of incident %s (AUTOHEAL_NOTIFY_ON)", kind, incident_id)
        return []
    deliveries = notify(get_store(), incident_id, kind, settings, flow_run_url)
    logger.info("notified the %s of incident %s: %s", kind, incident_id, _said(deliveries))
    return deliveries


@task(name="notify-breaker", cache_policy=NO_CACHE)
def notify_breaker(name: str, reason: str, tripped_at: datetime | None = None) -> list[Delivery]:
    """The circuit breaker's hook: one message per trip (its name and minute)."""
    when = tripped_at or datetime.now(UTC)
    message = Message(
        subject=f"autoheal breaker tripped: {name}",
        body=redact(f"*Breaker tripped*: {name}\nWhy: {reason}\nautoheal stops acting on it until it is reset.") or "",
    )
    key = f"breaker-{name}-{when:%Y%m%dT%H%M}"[:128]
    deliveries = deliver(get_store(), key, "breaker", message, incident_id=None, settings=get_settings())
    get_run_logger().info("notified the breaker trip %s: %s", name, _said(deliveries))
    return deliveries


@task(name="flush-notifications", cache_policy=NO_CACHE)
def flush_notifications() -> list[Delivery]:
    """One summary per channel for the messages its rate limit held (the sweep and the report run this)."""
    out = flush(get_store(), get_settings())
    get_run_logger().info("summaries of held notifications: %s", _said(out) if out else "none held")
    return out
