"""One place where a posted payload becomes alerts to act on, or is recorded and set aside.

Nothing is dropped: a payload we cannot parse is kept as a rejected payload with the reason, and
a Resolved or succeeded alert is kept as an ignored alert.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, Field

from autoheal.alerts import Alert, PayloadError
from autoheal.parsers import parse_payload
from autoheal.store import Store


class Intake(BaseModel):
    status: Literal["accepted", "ignored", "rejected"]
    shape: str | None = None
    reason: str | None = None
    field: str | None = None
    alerts: list[Alert] = Field(default_factory=list)
    payload: Any = Field(default=None, exclude=True)
    record_id: int | None = None


def accept(body: bytes | str | dict[str, Any], *, source: str, store: Store) -> Intake:
    """Parse ``body``; record what is not acted on; return the alerts to remediate."""
    if isinstance(body, dict):
        payload: Any = body
        raw_text = json.dumps(body)
    else:
        raw_text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
        try:
            payload = json.loads(raw_text)
        except ValueError as exc:
            reason = f"not valid JSON: {exc}"
            return Intake(
                status="rejected",
                reason=reason,
                field="$",
                record_id=store.reject(source=source, reason=reason, body=raw_text, field="$"),
            )
    try:
        parsed = parse_payload(payload)
    except PayloadError as exc:
        return Intake(
            status="rejected",
            reason=str(exc),
            field=exc.field,
            payload=payload,
            record_id=store.reject(source=source, reason=str(exc), body=raw_text, field=exc.field),
        )
    if parsed.ignored:
        record = store.ignore(shape=parsed.shape, reason=parsed.ignored, alert=parsed.alerts[0], raw=payload)
        return Intake(
            status="ignored",
            shape=parsed.shape,
            reason=parsed.ignored,
            alerts=parsed.alerts,
            payload=payload,
            record_id=record,
        )
    return Intake(status="accepted", shape=parsed.shape, alerts=parsed.alerts, payload=payload)
