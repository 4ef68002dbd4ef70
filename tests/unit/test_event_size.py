"""The event an alert becomes, and so the flow run's parameters, stay small whatever the error text
(issue 13): Prefect refuses parameters over 512 KB and then makes no run, with only a warning."""

from __future__ import annotations

import json

from autoheal.domain.alerts import Alert
from autoheal.intake.outbox import EVENT_MESSAGE_CHARS, bounded_alert, event_for

PREFECT_PARAMETER_LIMIT = 512 * 1024


def emoji_alert() -> Alert:
    text = "\U0001f525" * 60_500  # 242,000 bytes of UTF-8: under the receiver's 256 KiB body limit
    return Alert(source="azure-monitor", service="adf", factory="f", pipeline="p", run_id="r", error_message=text)


def test_242_kb_of_emoji_would_have_exceeded_prefects_limit_once_escaped() -> None:
    alert = emoji_alert()
    assert len(alert.error_message.encode()) < 256 * 1024  # type: ignore[union-attr]
    assert len(json.dumps(alert.model_dump(mode="json"))) > PREFECT_PARAMETER_LIMIT


def test_the_event_carries_a_bounded_alert_and_the_incident_id() -> None:
    event = event_for(emoji_alert(), incident_id=42)
    size = len(json.dumps(event))
    assert size < 64 * 1024, size
    alert = Alert.model_validate(event["payload"]["alert"])
    assert event["payload"]["incident_id"] == 42 and alert.message_chars == 60_500
    assert alert.error_message is not None and len(alert.error_message) <= EVENT_MESSAGE_CHARS + 60
    assert alert.error_message.startswith("\U0001f525") and "characters cut" in alert.error_message


def test_a_short_message_travels_whole() -> None:
    alert = Alert(source="manual", service="adf", factory="f", pipeline="p", run_id="r", error_message="timeout")
    assert bounded_alert(alert) is alert and alert.message_chars is None
