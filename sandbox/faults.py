"""Injected faults: throttling, server errors, slowness and dropped connections.

Faults are matched on method and path before the request reaches the
emulated service, so they look to a client exactly like a flaky cloud.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from typing import Any, Literal

from pydantic import BaseModel, Field

Kind = Literal["status", "slow", "drop"]

_BODIES = {
    "databricks": {
        429: ("REQUEST_LIMIT_EXCEEDED", "Too many requests. Please wait a moment and try again."),
        500: ("INTERNAL_ERROR", "Internal error. Please try again later."),
        503: ("TEMPORARILY_UNAVAILABLE", "The service at /api/2.1 is temporarily unavailable."),
    },
    "adf": {
        429: ("TooManyRequests", "The request was throttled. Please retry after some time."),
        500: ("InternalServerError", "An internal server error occurred. Please retry."),
        503: ("ServiceUnavailable", "The service is temporarily unavailable. Please retry."),
    },
}


class Fault(BaseModel):
    """One rule: requests whose method and path match get ``kind`` for ``times`` requests."""

    path: str = Field(description="regular expression searched in the request path")
    method: str | None = None
    kind: Kind = "status"
    status: int = 503
    retry_after: int | None = None
    delay_seconds: float = 0.0
    times: int = 1
    error_code: str | None = None
    message: str | None = None

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method.upper() != method.upper():
            return False
        return re.search(self.path, path) is not None


class FaultBook:
    """Thread-safe list of pending faults; each match uses up one of ``times``."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self.fired: list[tuple[str, str, str]] = []

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
            self.fired.clear()

    def take(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.times > 0 and fault.matches(method, path):
                    fault.times -= 1
                    self.fired.append((method, path, fault.kind))
                    return fault
        return None


def _error_body(service: str, fault: Fault) -> bytes:
    code, message = _BODIES[service].get(fault.status, ("ERROR", "Injected failure."))
    code = fault.error_code or code
    message = fault.message or message
    if service == "adf":
        return json.dumps({"error": {"code": code, "message": message}}).encode()
    return json.dumps({"error_code": code, "message": message}).encode()


class FaultMiddleware:
    """Plain ASGI wrapper, outermost, so a dropped connection drops for real."""

    def __init__(self, app: Any, book: FaultBook) -> None:
        self.app = app
        self.book = book

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/_sandbox"):
            await self.app(scope, receive, send)
            return
        fault = self.book.take(scope["method"], scope["path"])
        if fault is None:
            await self.app(scope, receive, send)
            return
        if fault.delay_seconds:
            await asyncio.sleep(fault.delay_seconds)
        if fault.kind == "slow":
            await self.app(scope, receive, send)
        elif fault.kind == "drop":
            await _drop(send)
        else:
            service = "adf" if scope["path"].startswith("/subscriptions") else "databricks"
            headers = [(b"content-type", b"application/json")]
            if fault.retry_after is not None:
                headers.append((b"retry-after", str(fault.retry_after).encode()))
            body = _error_body(service, fault)
            await send({"type": "http.response.start", "status": fault.status, "headers": headers})
            await send({"type": "http.response.body", "body": body})


async def _drop(send: Any) -> None:
    # uvicorn's send is a bound method of the request cycle, which owns the
    # transport: closing it ends the TCP connection with no response at all.
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is not None:
        transport.abort()
        return
    # Fallback for servers that hide the transport: promise a body, then stop.
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"64")]})
    raise ConnectionAbortedError("sandbox fault: connection dropped")
