"""Notifications through Prefect's blocks (Slack, Teams Workflows, SMTP email, a webhook) to loopback
servers that record what each channel received: the request shapes, one message per incident, the
per-channel rate limit with its summary, and a failing channel that is recorded and stops nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from autoheal.domain.alerts import Alert
from autoheal.domain.values import IncidentStatus
from autoheal.settings import Settings
from autoheal.store.notices import Notices
from autoheal.store.store import Store
from autoheal.store.tables import IncidentChange
from sandbox.outside import NotificationSink, SmtpSink
from tasks.notification import flush, notify

SLACK = "https://hooks.slack.com/services/T0001/B0001/XXXXXXXXXXXXXXXX"
TEAMS_PATH = (
    "/workflows/6f2c9a/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0"
    "&sig=s3cr3t-signature"
)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(f"sqlite:///{tmp_path / 'autoheal.db'}")
    yield s
    s.engine.dispose()


@pytest.fixture
def sinks(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[NotificationSink, NotificationSink, SmtpSink]]:
    """Slack and Teams need https: a sink with its own CA, trusted through requests' REQUESTS_CA_BUNDLE;
    apprise's Slack plugin is pointed at it (it posts to hooks.slack.com otherwise)."""
    from apprise.plugins.slack import NotifySlack

    tls, plain, smtp = NotificationSink(tls=True), NotificationSink(), SmtpSink()
    tls.start(), plain.start(), smtp.start()
    assert tls.ca_bundle is not None
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", tls.ca_bundle)
    monkeypatch.setattr(NotifySlack, "webhook_url", f"{tls.url}/services")
    yield tls, plain, smtp
    tls.stop(), plain.stop(), smtp.stop()


def configured(sinks: tuple[NotificationSink, NotificationSink, SmtpSink], **extra: Any) -> Settings:
    tls, plain, smtp = sinks
    return Settings(
        notify_slack_url=SecretStr(SLACK),
        notify_teams_url=SecretStr(tls.url + TEAMS_PATH),
        notify_email_url=SecretStr(
            f"mailto://127.0.0.1:{smtp.port}?from=autoheal@example.com&to=oncall@example.com&mode=insecure"
        ),
        notify_webhook_url=SecretStr(f"{plain.url}/hook/ops"),
        prefect_ui_url="http://127.0.0.1:4200",
        **extra,
    )


def escalated(store: Store, run: str = "run-1", secret: str = "") -> int:
    alert = Alert(
        source="azure-monitor",
        service="adf",
        factory="adf-sales",
        resource_group="rg-data",
        subscription_id="sub-1",
        pipeline="CopySales",
        run_id=run,
        error_code="2011",
        error_message=f"Forbidden: the identity lacks access {secret}",
    )
    incident, _ = store.open_incident(alert)
    assert incident.id is not None
    store.update(
        incident.id,
        IncidentChange(
            status=IncidentStatus.ESCALATED,
            error_type="PermissionDenied",
            remediable=False,
            classifier="rules",
            rule="adf-forbidden",
            confidence=0.95,
            decision="escalate",
            outcome="PermissionDenied is never remediated: a person must grant or renew access",
        ),
    )
    return incident.id


def test_an_escalation_reaches_slack_teams_email_and_the_webhook_in_their_shapes(store: Store, sinks: Any) -> None:
    tls, plain, smtp = sinks
    incident_id = escalated(store, secret="Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl")
    deliveries = notify(store, incident_id, "escalation", configured(sinks), "http://127.0.0.1:4200/runs/flow-run/42")
    assert {d.channel: d.status for d in deliveries} == {
        "slack": "sent",
        "teams": "sent",
        "email": "sent",
        "webhook": "sent",
    }
    (slack,) = tls.of("slack")
    assert slack.path == "/services/T0001/B0001/XXXXXXXXXXXXXXXX"
    attachment = slack.body["attachments"][0]  # Slack's incoming-webhook message: attachments with title and text
    assert attachment["title"].startswith("autoheal escalated: adf adf-sales/CopySales run run-1: PermissionDenied")
    assert "Why: PermissionDenied is never remediated" in attachment["text"]
    assert "Tried: nothing" in attachment["text"]
    assert "https://adf.azure.com/en/monitoring/pipelineruns/run-1?factory=" in attachment["text"]
    assert "http://127.0.0.1:4200/runs/flow-run/42" in attachment["text"]
    (teams,) = tls.of("teams")
    assert teams.path == "/workflows/6f2c9a/triggers/manual/paths/invoke"
    card = teams.body["attachments"][0]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert "PermissionDenied" in str(card["content"]["body"])
    (mail,) = smtp.messages
    assert mail["to"] == ["<oncall@example.com>"] and mail["subject"].startswith("autoheal escalated:")
    assert "Why: PermissionDenied" in mail["body"]
    (hook,) = plain.of("webhook:ops")
    assert hook.body["source"] == "autoheal" and hook.body["subject"].startswith("autoheal escalated:")
    assert hook.headers["content-type"] == "application/json"
    everything = str([slack.body, teams.body, mail, hook.body])
    assert "eyJzdWIiOiIxIn0" not in everything and "s3cr3t-signature" not in everything  # redacted, no URL secret


def test_one_message_per_incident_even_when_asked_again(store: Store, sinks: Any) -> None:
    tls, plain, _ = sinks
    incident_id = escalated(store)
    settings = configured(sinks)
    notify(store, incident_id, "escalation", settings)
    again = notify(store, incident_id, "escalation", settings)  # a retried task, a re-run, a duplicate alert
    assert {d.status for d in again} == {"already"}
    assert len(tls.of("slack")) == 1 and len(plain.of("webhook:ops")) == 1


def test_a_storm_of_200_escalations_is_three_messages_and_one_summary_per_channel(store: Store, sinks: Any) -> None:
    _, plain, _ = sinks
    settings = Settings(notify_webhook_url=SecretStr(f"{plain.url}/hook/ops"), notify_limit=3)
    ids = [escalated(store, run=f"run-{n}") for n in range(200)]
    statuses = [notify(store, i, "escalation", settings)[0].status for i in ids]
    assert statuses.count("sent") == 3 and statuses.count("held") == 197
    assert len(plain.of("webhook:ops")) == 3
    (summary,) = flush(store, settings)
    assert summary.status == "sent"
    last = plain.of("webhook:ops")[-1].body
    assert last["subject"] == "autoheal: 197 notifications held (197 escalation)"
    assert "incident 4: adf adf-sales/CopySales run run-3" in last["body"] and "and 177 more" in last["body"]
    assert flush(store, settings) == []  # nothing held any more
    assert {n.status for n in Notices(store).all() if n.kind == "escalation"} == {"sent", "summarized"}


def test_a_failing_channel_is_recorded_and_the_others_still_get_the_message(store: Store, sinks: Any) -> None:
    tls, _, _ = sinks
    tls.failing["teams"] = 500
    incident_id = escalated(store)
    deliveries = {d.channel: d for d in notify(store, incident_id, "escalation", configured(sinks))}
    assert deliveries["teams"].status == "failed" and "500" in (deliveries["teams"].error or "")
    assert deliveries["slack"].status == deliveries["webhook"].status == "sent"
    rows = {n.channel: n for n in Notices(store).of_incident(incident_id)}
    assert rows["teams"].status == "failed" and "500" in (rows["teams"].error or "")
    assert "s3cr3t-signature" not in (rows["teams"].error or "")


def test_an_unreachable_webhook_and_a_bad_url_are_errors_of_their_channel_only(
    store: Store, sinks: Any
) -> None:
    _ = sinks  # the TLS trust and Slack endpoint it sets up
    settings = Settings(
        notify_webhook_url=SecretStr("http://127.0.0.1:9/hook"),
        notify_teams_url=SecretStr("https://example.com/not-a-workflow"),
        notify_slack_url=SecretStr(SLACK),
    )
    deliveries = {d.channel: d for d in notify(store, escalated(store), "escalation", settings)}
    assert deliveries["webhook"].status == "failed" and "ConnectError" in (deliveries["webhook"].error or "")
    assert deliveries["teams"].status == "failed" and "Invalid Microsoft Teams Workflow URL" in (
        deliveries["teams"].error or ""
    )
    assert deliveries["slack"].status == "sent"
