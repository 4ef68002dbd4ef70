"""One place where a posted payload becomes alerts to act on, or is recorded and set aside.

Nothing is dropped: a payload we cannot parse is kept as a rejected payload with the reason, and
a Resolved or succeeded alert is kept as an ignored alert.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, Field

from autoheal.domain.alerts import Alert, PayloadError
from autoheal.domain.parsers import parse_payload
from autoheal.store.store import Store


class Intake(BaseModel):
    status: Literal["accepted", "ignored", "rejected"]
    shape: str | None = None
    reason: str | None = None
    field: str | None = None
    alerts: list[Alert] = Field(default_factory=list)
    payload: Any = Field(default=None, exclude=True)
    raw_text: str = Field(default="", exclude=True)
    record_id: int | None = None


def examine(body: bytes | str | dict[str, Any], *, source: str) -> Intake:
    """Parse ``body`` into alerts, or say why not; writes nothing (the receiver does this on its event
    loop and leaves only the writes to its writer thread)."""
    if isinstance(body, dict):
        payload: Any = body
        raw_text = json.dumps(body)
    else:
        raw_text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
        try:
            payload = json.loads(raw_text)
        except ValueError as exc:
            return Intake(status="rejected", reason=f"not valid JSON: {exc}", field="$", raw_text=raw_text)
    try:
        parsed = parse_payload(payload)
    except PayloadError as exc:
        return Intake(status="rejected", reason=str(exc), field=exc.field, payload=payload, raw_text=raw_text)
    status: Literal["accepted", "ignored"] = "ignored" if parsed.ignored else "accepted"
    return Intake(status=status, shape=parsed.shape, reason=parsed.ignored, alerts=parsed.alerts, payload=payload)


def record(intake: Intake, *, source: str, store: Store) -> Intake:
    """Keep what is not acted on: a rejected payload with its reason, an ignored alert."""
    if intake.status == "rejected":
        reason = intake.reason or "rejected"
        intake.record_id = store.reject(source=source, reason=reason, body=intake.raw_text, field=intake.field)
    elif intake.status == "ignored":
        intake.record_id = store.ignore(
            shape=intake.shape or "?", reason=intake.reason or "", alert=intake.alerts[0], raw=intake.payload
        )
    return intake


def accept(body: bytes | str | dict[str, Any], *, source: str, store: Store) -> Intake:
    """Parse ``body``; record what is not acted on; return the alerts to remediate."""
    return record(examine(body, source=source), source=source, store=store)
