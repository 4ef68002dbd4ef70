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
from collections.abc import Callable
from concurrent.futures import Future
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

import httpx

from autoheal.domain.alerts import Alert
from autoheal.store.store import Store
from autoheal.store.tables import Incident

EVENT = "autoheal.alert.received"
# The most of an alert's error text an event (and so the flow run's parameters) carries: its head
# and tail. Prefect refuses flow-run parameters over 512 KB and then makes no run, with only a
# warning in its log; a 242 KB body of emoji, under the receiver's 256 KiB limit, grows past that
# once JSON-escaped. The whole (redacted) text stays in the store, and the flow reads it from there
# (bounded_alert, full_alert).
EVENT_MESSAGE_CHARS = 4000
T = TypeVar("T")
log = logging.getLogger("autoheal.intake.outbox")


def bounded_alert(alert: Alert, limit: int = EVENT_MESSAGE_CHARS) -> Alert:
    """``alert`` with its error text cut to ``limit`` characters (head and tail), marked with the
    length it had (``message_chars``), so that whoever gets it knows to read the store."""
    message = alert.error_message
    if message is None or len(message) <= limit:
        return alert
    head, tail = message[: limit * 3 // 4], message[-(limit // 4 - 40) :]
    cut = f"{head} [... {len(message) - len(head) - len(tail)} characters cut ...] {tail}"
    return alert.model_copy(update={"error_message": cut, "message_chars": len(message)})


def full_alert(store: Store, incident_id: int, alert: Alert) -> Alert:
    """The alert with its whole error text, from the store, when ``alert`` carries a cut one."""
    if alert.message_chars is None:
        return alert
    incident = store.get(incident_id)
    if incident is None:
        return alert
    return alert_of(incident)


def event_for(alert: Alert, incident_id: int | None = None) -> dict[str, Any]:
    alert = bounded_alert(alert)
    return {
        "id": alert.event_id,
        "occurred": datetime.now(UTC).isoformat(),
        "event": EVENT,
        "resource": {
            "prefect.resource.id": f"autoheal.alert.{alert.fingerprint}",
            "prefect.resource.name": alert.label(),
            "autoheal.service": alert.service,
        },
        "payload": {"alert": alert.model_dump(mode="json"), "incident_id": incident_id},
        "related": [],
    }


class Submits(Protocol):
    """An executor's submit: the receiver's store thread (autoheal/app/writer.py)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]: ...


class Dispatcher:
    """Sends the outbox to ``api_url``/events in batches, and marks each incident's event sent or failed.

    The receiver only stores an alert and wakes the dispatcher, so a webhook's answer never waits
    on Prefect; the dispatcher sends whatever is waiting in one request.
    """

    def __init__(
        self,
        store: Store,
        api_url: str,
        *,
        timeout: float = 5.0,
        batch: int = 200,
        store_thread: Submits | None = None,
    ) -> None:
        self.store = store
        self.url = api_url.rstrip("/") + "/events"
        self.client = httpx.Client(timeout=timeout)
        self.batch = batch
        # The receiver's writer thread: the outbox's reads and writes queue there with the alerts',
        # so they never contend with them for SQLite's lock; the POSTs stay off it.
        self.store_thread = store_thread
        self._wake: asyncio.Event | None = None

    def _in_store(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        if self.store_thread is None:
            return fn(*args, **kwargs)
        result: T = self.store_thread.submit(fn, *args, **kwargs).result()
        return result

    def _send(self, pending: list[Incident]) -> str | None:
        """POST one batch of events; None when Prefect took them, else the error."""
        try:
            response = self.client.post(self.url, json=[event_for(alert_of(i), i.id) for i in pending])
            response.raise_for_status()
        except httpx.HTTPError as exc:
            name = type(exc).__name__
            log.warning("Prefect did not take %d event(s) (%s); they stay in the outbox", len(pending), name)
            return f"{type(exc).__name__}: {exc}"[:500]
        return None

    def drain(self) -> int:
        """Send what is waiting in the outbox, oldest first, a batch per request. Returns the number sent."""
        sent = 0
        while True:
            pending = self._in_store(self.store.pending_events, limit=self.batch)
            if not pending:
                return sent
            error = self._send(pending)
            self._in_store(self.store.mark_events, [int(i.id or 0) for i in pending], error=error)
            if error is not None:
                return sent
            sent += len(pending)
            if len(pending) < self.batch:
                return sent

    def wake(self) -> None:
        """Called from the event loop when an alert was stored: send it now rather than at the next tick."""
        if self._wake is not None:
            self._wake.set()

    async def run_forever(self, *, interval: float = 2.0) -> None:
        """Drain now, then whenever an alert is stored or ``interval`` has passed; off the event loop."""
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
