"""Alerts to Prefect: persist first, then send the `autoheal.alert.received` event; an outbox
sends what Prefect did not take (it was down) once it is back.

The event id is derived from the alert's fingerprint, so a re-sent event is the same event: Prefect
makes one flow run of it, and the flow's claim on the incident makes one remediation even if the
server forgot the id (it does across restarts).
"""

from __future__ import annotations

import asyncio
import contextlib
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
    """Sends the outbox to ``api_url``/events in batches, and marks each incident's event sent or failed.

    The receiver only stores an alert and wakes the dispatcher, so a webhook's answer never waits
    on Prefect; the dispatcher sends whatever is waiting in one request.
    """

    def __init__(self, store: Store, api_url: str, *, timeout: float = 5.0, batch: int = 200) -> None:
        self.store = store
        self.url = api_url.rstrip("/") + "/events"
        self.client = httpx.Client(timeout=timeout)
        self.batch = batch
        self._wake: asyncio.Event | None = None

    def _post(self, items: list[tuple[int, Alert]]) -> bool:
        ids = [incident_id for incident_id, _ in items]
        try:
            response = self.client.post(self.url, json=[event_for(alert) for _, alert in items])
            response.raise_for_status()
        except httpx.HTTPError as exc:
            self.store.mark_events(ids, error=f"{type(exc).__name__}: {exc}"[:500])
            log.warning("Prefect did not take %d event(s) (%s); they stay in the outbox", len(ids), type(exc).__name__)
            return False
        self.store.mark_events(ids, error=None)
        return True

    def drain(self) -> int:
        """Send what is waiting in the outbox, oldest first, a batch per request. Returns the number sent."""
        sent = 0
        while True:
            pending = self.store.pending_events(limit=self.batch)
            if not pending or not self._post([(int(i.id or 0), alert_of(i)) for i in pending]):
                return sent
            sent += len(pending)
            if len(pending) < self.batch:
                return sent

    def wake(self) -> None:
        """Called from the event loop when an alert was stored: send it now rather than at the next tick."""
        if self._wake is not None:
            self._wake.set()

    async def run_forever(self, *, interval: float = 2.0) -> None:
        self._wake = asyncio.Event()
        while True:
            try:
                await asyncio.to_thread(self.drain)
            except Exception:  # the loop must survive a database hiccup; it retries
                log.exception("outbox drain failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=interval)
            self._wake.clear()

    def close(self) -> None:
        self.client.close()


def alert_of(incident: Incident) -> Alert:
    return Alert.model_validate_json(incident.alert_json)
