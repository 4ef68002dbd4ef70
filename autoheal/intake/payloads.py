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


# The deepest nesting a payload may have. Azure Monitor's common schema and Databricks'
# notifications are 6 to 8 deep; 10,000 deep once raised RecursionError in json.loads (a 500, and
# the payload not kept).
MAX_DEPTH = 64


def _not_json_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON (RFC 8259 has no NaN or Infinity)")


def _finite(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"the number {text[:40]} is too large")
    return value


def depth(value: Any, limit: int = MAX_DEPTH) -> int:
    """How deep ``value`` nests, counted without recursion and not past ``limit + 1``."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if not isinstance(item, (dict, list)):
            continue
        deepest = max(deepest, level)
        if deepest > limit:
            return deepest
        stack.extend((child, level + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def loads(raw_text: str) -> Any:
    """Strict JSON: no NaN or Infinity, no number that overflows to infinity, bounded nesting.
    Raises ValueError with the reason."""
    try:
        payload = json.loads(raw_text, parse_constant=_not_json_constant, parse_float=_finite)
    except RecursionError:
        raise ValueError(f"nested deeper than {MAX_DEPTH} levels") from None
    if depth(payload) > MAX_DEPTH:
        raise ValueError(f"nested deeper than {MAX_DEPTH} levels")
    return payload


def examine(body: bytes | str | dict[str, Any], *, source: str) -> Intake:
    """Parse ``body`` into alerts, or say why not; writes nothing (the receiver does this on its event
    loop and leaves only the writes to its writer thread)."""
    if isinstance(body, dict):
        payload: Any = body
        raw_text = json.dumps(body)
    else:
        raw_text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
        try:
            payload = loads(raw_text)
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
