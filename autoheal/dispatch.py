"""Alerts to Prefect: persist first, then send the `autoheal.alert.received` event; an outbox
sends what Prefect did not take (it was down) once it is back.

The event id is derived from the alert's fingerprint, so a re-sent event is the same event: Prefect
makes one flow run of it, and the flow's claim on the incident makes one remediation even if the
server forgot the id (it does across restarts).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

import httpx

from autoheal.alerts import Alert
from autoheal.models import Incident
from autoheal.store import Store

EVENT = "autoheal.alert.received"
log = logging.getLogger("autoheal.dispatch")


def event_for(alert: Alert) -> dict[str, Any]:
    return {
        "id": alert.event_id,
        "occurred": datetime.now(UTC).isoformat(),
        "event": EVENT,
        "resource": {
            "prefect.resource.id": f"autoheal.alert.{alert.fingerprint}",
            "prefect.resource.name": alert.label(),
            "autoheal.service": alert.service,
        },
        "payload": {"alert": alert.model_dump(mode="json")},
        "related": [],
    }


class Dispatcher:
    """Sends events to ``api_url``/events; marks each incident's outbox entry sent or failed."""

    def __init__(self, store: Store, api_url: str, *, timeout: float = 5.0) -> None:
        self.store = store
        self.url = api_url.rstrip("/") + "/events"
        self.client = httpx.Client(timeout=timeout)

    def send(self, incident_id: int, alert: Alert) -> bool:
        try:
            response = self.client.post(self.url, json=[event_for(alert)])
            response.raise_for_status()
        except httpx.HTTPError as exc:
            self.store.mark_event(incident_id, error=f"{type(exc).__name__}: {exc}"[:500])
            log.warning(
                "Prefect did not take the event for incident %s (%s); it stays in the outbox",
                incident_id,
                type(exc).__name__,
            )
            return False
        self.store.mark_event(incident_id, error=None)
        return True

    def drain(self, *, limit: int = 100) -> int:
        """Send what is waiting in the outbox, oldest first; stop at the first failure. Returns sent."""
        sent = 0
        for incident in self.store.pending_events(limit=limit):
            if not self.send(int(incident.id or 0), alert_of(incident)):
                break
            sent += 1
        return sent

    async def run_forever(self, *, interval: float = 2.0) -> None:
        while True:
            try:
                await asyncio.to_thread(self.drain)
            except Exception:  # the loop must survive a database hiccup; it retries
                log.exception("outbox drain failed; retrying")
            await asyncio.sleep(interval)

    def close(self) -> None:
        self.client.close()


def alert_of(incident: Incident) -> Alert:
    return Alert.model_validate_json(incident.alert_json)
