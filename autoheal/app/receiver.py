"""The webhook receiver: authenticate, size-check, parse, persist; the outbox then sends the Prefect event.

`POST /alerts/azure-monitor`, `POST /alerts/databricks`, `GET /healthz`. Every valid alert is in
the store before the sender gets its answer; if Prefect is down the event waits in the outbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hmac
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from autoheal.app.writer import Writer
from autoheal.domain.redaction import redact
from autoheal.intake.outbox import Dispatcher
from autoheal.intake.payloads import Intake, examine, record
from autoheal.settings import Settings
from autoheal.store.database import StoreUnavailable
from autoheal.store.store import Store

log = logging.getLogger("autoheal.app.receiver")
RETRY_AFTER_SECONDS = 10  # what a 503 asks senders to wait; Azure Monitor and Databricks retry


def _token_ok(request: Request, expected: str | None) -> bool:
    if expected is None:
        return True
    given = request.headers.get("x-autoheal-token") or request.query_params.get("token") or ""
    auth = request.headers.get("authorization", "")
    if not given and auth.lower().startswith("bearer "):
        given = auth[7:]
    return hmac.compare_digest(given.encode(), expected.encode())


async def _body(request: Request, limit: int) -> bytes | None:
    """The body, or None when it is over ``limit`` (announced or actual)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def build_receiver(settings: Settings, store: Store, *, prefect_api_url: str | None) -> FastAPI:
    token = settings.webhook_token.get_secret_value() if settings.webhook_token else None
    # One writer thread: SQLite takes one writer at a time, and fifty threads queueing on its lock
    # cost far more than a queue in front of one (PostgreSQL is no slower this way at these rates).
    # Each call on it is bounded (autoheal/app/writer.py): a stalled database answers 503, not a hang.
    writer = Writer(store, timeout=settings.store_timeout_seconds)
    dispatcher = Dispatcher(store, prefect_api_url, store_thread=writer) if prefect_api_url else None
    batches = GroupCommit(store, writer)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Everything imported and built so far lives as long as the process: move it out of the
        # collector's way, so a full collection under load scans only what requests create.
        gc.collect()
        gc.freeze()
        task = None
        if dispatcher is not None:
            outbox = dispatcher.run_forever(interval=settings.outbox_interval_seconds)
            task = asyncio.create_task(outbox)
        yield
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if dispatcher is not None:
            dispatcher.close()
        writer.shutdown()

    app = FastAPI(title="autoheal receiver", lifespan=lifespan, docs_url=None, redoc_url=None)

    async def receive(request: Request, source: str) -> JSONResponse:
        """The answer to one delivery: never a 5xx for anything the sender posted. With the store
        down or stalled it is 503 with Retry-After (Azure Monitor and Databricks retry), and nothing
        unstored is acknowledged."""
        try:
            return await _receive(request, source)
        except StoreUnavailable as exc:
            log.warning("503 on %s: %s", request.url.path, exc)
            return unavailable()

    def unavailable() -> JSONResponse:
        # The reason (which database, how it failed) goes to the log, not to the sender.
        return JSONResponse(
            {"error": "the store is unavailable; retry later"},
            status_code=503,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )

    async def _receive(request: Request, source: str) -> JSONResponse:
        if not _token_ok(request, token):
            log.warning(
                "401 from %s on %s: missing or wrong token",
                request.client.host if request.client else "?",
                request.url.path,
            )
            return JSONResponse({"error": "missing or wrong token"}, status_code=401)
        body = await _body(request, settings.max_body_bytes)
        if body is None:
            await writer(
                store.reject,
                source=source,
                reason=f"body over {settings.max_body_bytes} bytes",
                body=b"(not kept)",
                field="$",
            )
            return JSONResponse({"error": f"body larger than {settings.max_body_bytes} bytes"}, status_code=413)
        try:
            intake = examine(body, source=source)
        except Exception as exc:  # a parser bug must not become a 500: the payload is kept, the reason named
            # Its type and redacted words only: a traceback could carry the payload's text.
            log.error("the payload could not be examined: %s: %s", type(exc).__name__, redact(str(exc)[:300]))
            intake = Intake(
                status="rejected",
                reason=f"the payload could not be read ({type(exc).__name__})",
                field="$",
                raw_text=body.decode("utf-8", errors="replace"),
            )
        if intake.status != "accepted":
            intake = await writer(record, intake, source=source, store=store)
        if intake.status == "rejected":
            code = 400 if (intake.reason or "").startswith("not valid JSON") else 422
            return JSONResponse(
                {"error": intake.reason, "field": intake.field, "rejected_id": intake.record_id}, status_code=code
            )
        if intake.status == "ignored":
            return JSONResponse({"status": "ignored", "reason": intake.reason, "record_id": intake.record_id})
        stored = await batches.put([(alert, intake.payload) for alert in intake.alerts])
        results = [
            _result(alert, incident_id, created)
            for alert, (incident_id, created) in zip(intake.alerts, stored, strict=True)
        ]
        if dispatcher is not None and any(r["status"] == "accepted" for r in results):
            dispatcher.wake()
        status = 202 if any(r["status"] == "accepted" for r in results) else 200
        return JSONResponse({"alerts": results, **(results[0] if len(results) == 1 else {})}, status_code=status)

    @app.post("/alerts/azure-monitor")
    async def azure_monitor(request: Request) -> JSONResponse:
        return await receive(request, "azure-monitor")

    @app.post("/alerts/databricks")
    async def databricks(request: Request) -> JSONResponse:
        return await receive(request, "databricks")

    @app.get("/healthz", response_model=None)
    async def healthz() -> dict[str, Any] | JSONResponse:
        try:
            pending = await writer(lambda: len(store.pending_events(limit=10_000)))
        except StoreUnavailable as exc:
            log.warning("503 on /healthz: %s", exc)
            return unavailable()
        return {"status": "ok", "outbox_pending": pending, "prefect": prefect_api_url or "not configured"}

    return app


def _result(alert: Any, incident_id: int, created: bool) -> dict[str, Any]:
    if not created:
        return {
            "status": "duplicate",
            "incident_id": incident_id,
            "joined": incident_id,
            "fingerprint": alert.fingerprint,
        }
    return {
        "status": "accepted",
        "incident_id": incident_id,
        "fingerprint": alert.fingerprint,
        "event": "queued: the outbox sends it to Prefect now, or when Prefect answers",
    }


class GroupCommit:
    """Alerts that arrive while the writer is busy are stored together, in its next transaction.

    With fifty requests in flight, one commit per alert left the writer thread the bottleneck; a
    batch costs one query, one commit and one thread hop for all of them. No alert waits for a
    batch to fill: the writer takes whatever is waiting the moment it is free.
    """

    def __init__(self, store: Store, run: Any) -> None:
        self.store, self.run = store, run
        self.waiting: list[tuple[list[tuple[Any, Any]], asyncio.Future[list[tuple[int, bool]]]]] = []
        self.busy = False
        self.task: asyncio.Task[None] | None = None

    async def put(self, items: list[tuple[Any, Any]]) -> list[tuple[int, bool]]:
        future: asyncio.Future[list[tuple[int, bool]]] = asyncio.get_running_loop().create_future()
        self.waiting.append((items, future))
        if not self.busy:
            self.busy = True
            self.task = asyncio.create_task(self._drain())  # kept: the loop holds tasks only weakly
        return await future

    async def _drain(self) -> None:
        try:
            while self.waiting:
                batch, self.waiting = self.waiting, []
                flat = [item for items, _ in batch for item in items]
                try:
                    stored = await self.run(self.store.receive_many, flat)
                except Exception as exc:  # every request of the batch gets the error (a 500), none is lost silently
                    for _, future in batch:
                        future.set_exception(exc)
                    continue
                offset = 0
                for items, future in batch:
                    future.set_result(stored[offset : offset + len(items)])
                    offset += len(items)
        finally:
            self.busy = False
