"""Jira tickets against a loopback Jira (REST API v2) that checks request shapes: create, comment, the
retry after a 5xx, idempotency (one ticket per incident, also when a create's answer was lost), and
the clear errors for bad credentials and a missing project, recorded on the incident."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from autoheal.domain.alerts import Alert
from autoheal.domain.values import IncidentStatus
from autoheal.outside.jira import JiraClient
from autoheal.settings import Settings
from autoheal.store.messages import fingerprint_label
from autoheal.store.store import Store
from autoheal.store.tables import IncidentChange
from sandbox.outside import JiraFake
from tasks.ticket import comment_on_duplicates, ensure_ticket

TOKEN = "atlassian-api-token-0123456789"


@pytest.fixture
def jira() -> Iterator[JiraFake]:
    fake = JiraFake(user="bot@example.com", token=TOKEN, projects=("OPS",))
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(f"sqlite:///{tmp_path / 'autoheal.db'}")
    yield s
    s.engine.dispose()


def settings_for(jira: JiraFake, **extra: object) -> Settings:
    values: dict[str, object] = {
        "jira_url": jira.url,
        "jira_user": "bot@example.com",
        "jira_token": SecretStr(TOKEN),
        "jira_project": "OPS",
        "jira_issue_type": "Bug",
        "jira_fields": {"priority": {"name": "High"}},
        "jira_retries": 2,
        **extra,
    }
    return Settings(**values)  # type: ignore[arg-type]


def escalated(store: Store, **change: object) -> int:
    alert = Alert(source="databricks", service="databricks", job_id="101", run_id="42", error_message="KeyError: 'x'")
    incident, _ = store.open_incident(alert)
    assert incident.id is not None
    store.update(
        incident.id,
        IncidentChange(
            status=IncidentStatus.ESCALATED,
            error_type="CodeError",
            remediable=False,
            classifier="rules",
            rule="python-exception",
            confidence=0.9,
            outcome="CodeError is never remediated: a bug in a notebook, script or expression",
        ).model_copy(update=change),
    )
    return incident.id


def test_an_escalation_opens_one_ticket_with_the_incident_in_it(store: Store, jira: JiraFake) -> None:
    incident_id = escalated(store)
    settings = settings_for(jira, databricks_host="https://adb-1.azuredatabricks.net")
    ticket = ensure_ticket(store, incident_id, settings, "http://127.0.0.1:4200/runs/flow-run/7")
    assert ticket.key == "OPS-1" and ticket.created
    (create,) = [r for r in jira.requests if r.method == "POST"]
    assert create.path == "/rest/api/2/issue"
    assert create.headers["authorization"] == "Basic " + base64.b64encode(f"bot@example.com:{TOKEN}".encode()).decode()
    fields = create.body["fields"]
    assert fields["project"] == {"key": "OPS"} and fields["issuetype"] == {"name": "Bug"}
    assert fields["priority"] == {"name": "High"}  # the team's field mapping
    assert fields["summary"] == "[autoheal] databricks jobs/101 run 42: CodeError"
    incident = store.get(incident_id)
    assert incident is not None
    assert fields["labels"] == ["autoheal", fingerprint_label(incident.fingerprint), "autoheal-CodeError"]
    description = fields["description"]
    for part in ("CodeError is never remediated", "python-exception", "KeyError: 'x'", "- none", incident.fingerprint):
        assert part in description
    assert "[Prefect flow run|http://127.0.0.1:4200/runs/flow-run/7]" in description
    assert "[Databricks run page|https://adb-1.azuredatabricks.net/jobs/101/runs/42]" in description
    assert incident.ticket_key == "OPS-1" and incident.ticket_error is None
    assert ensure_ticket(store, incident_id, settings).key == "OPS-1"  # a retry or re-run: the same ticket
    assert len(jira.issues) == 1


def test_a_class_the_rules_only_guessed_is_not_told_as_a_finding(store: Store, jira: JiraFake) -> None:
    incident_id = escalated(store, error_type="InvalidConfiguration", rule="no-evidence", confidence=0.3)
    ensure_ticket(store, incident_id, settings_for(jira))
    (create,) = [r for r in jira.requests if r.method == "POST"]
    fields = create.body["fields"]
    assert fields["summary"] == "[autoheal] databricks jobs/101 run 42: not recognised (likeliest InvalidConfiguration)"
    assert fields["labels"][-1] == "autoheal-unrecognised"


def test_a_create_whose_answer_was_lost_is_found_by_the_fingerprint_label(store: Store, jira: JiraFake) -> None:
    incident_id = escalated(store)
    settings = settings_for(jira)
    incident = store.get(incident_id)
    assert incident is not None
    with JiraClient.from_settings(settings) as client:  # type: ignore[union-attr]
        client.create(
            {
                "project": {"key": "OPS"},
                "issuetype": {"name": "Bug"},
                "summary": "created by the first try",
                "labels": [fingerprint_label(incident.fingerprint)],
            }
        )
    ticket = ensure_ticket(store, incident_id, settings)
    assert (ticket.key, ticket.created, len(jira.issues)) == ("OPS-1", False, 1)
    (search,) = [r for r in jira.requests if r.method == "GET"]
    assert search.path == "/rest/api/2/search/jql"
    assert f'labels = "{fingerprint_label(incident.fingerprint)}"' in search.query["jql"]


def test_a_duplicate_alert_adds_a_comment_not_a_ticket(store: Store, jira: JiraFake) -> None:
    incident_id = escalated(store)
    settings = settings_for(jira)
    ensure_ticket(store, incident_id, settings)
    assert comment_on_duplicates(store, incident_id, settings).commented == 0  # nothing new yet
    incident = store.get(incident_id)
    assert incident is not None
    store._joined(incident), store._joined(incident)  # two more alerts for the same failure
    assert comment_on_duplicates(store, incident_id, settings).commented == 2
    assert comment_on_duplicates(store, incident_id, settings).commented == 0  # told once
    (comment,) = [r for r in jira.requests if r.path.endswith("/comment")]
    assert comment.path == "/rest/api/2/issue/OPS-1/comment"
    assert comment.body == {"body": jira.comments["OPS-1"][0]}
    assert "2 more alert(s) for this failure" in comment.body["body"]
    assert len(jira.issues) == 1


def test_a_5xx_is_retried_and_then_the_ticket_opens(store: Store, jira: JiraFake) -> None:
    sleeps: list[float] = []
    with JiraClient(jira.url, user="bot@example.com", token=SecretStr(TOKEN), retries=2, sleep=sleeps.append) as client:
        jira.outages = 1
        assert client.find_by_label("OPS", "autoheal-x") is None
        jira.outages = 1
        assert client.create({"project": {"key": "OPS"}, "issuetype": {"name": "Task"}, "summary": "s"}) == "OPS-1"
    assert sleeps == [1, 1]  # Jira's Retry-After
    paths = [r.path for r in jira.requests]
    assert paths == ["/rest/api/2/search/jql", "/rest/api/2/search/jql", "/rest/api/2/issue", "/rest/api/2/issue"]


def test_an_outage_longer_than_the_retries_is_an_error_on_the_incident(store: Store, jira: JiraFake) -> None:
    jira.outages = 10
    incident_id = escalated(store)
    ticket = ensure_ticket(store, incident_id, settings_for(jira, jira_retries=1))
    assert ticket.key is None and "Jira answered 503" in (ticket.error or "")


def test_bad_credentials_are_a_clear_error_recorded_on_the_incident(store: Store, jira: JiraFake) -> None:
    incident_id = escalated(store)
    ticket = ensure_ticket(store, incident_id, settings_for(jira, jira_token=SecretStr("wrong-token-xyz")))
    assert ticket.key is None
    incident = store.get(incident_id)
    assert incident is not None and incident.ticket_error == ticket.error
    assert "rejected the credentials (401)" in (ticket.error or "") and "AUTOHEAL_JIRA_TOKEN" in (ticket.error or "")
    assert "wrong-token-xyz" not in (ticket.error or "")
    assert incident.status == "escalated"  # the incident itself is untouched


def test_a_missing_project_is_a_clear_error(store: Store, jira: JiraFake) -> None:
    incident_id = escalated(store)
    ticket = ensure_ticket(store, incident_id, settings_for(jira, jira_project="NOPE"))
    assert "Jira has no project 'NOPE' the account can use" in (ticket.error or "")
    assert "valid project is required" in (ticket.error or "")


def test_unreachable_jira_is_an_error_not_an_exception(store: Store) -> None:
    settings = Settings(jira_url="http://127.0.0.1:9", jira_token=SecretStr(TOKEN), jira_project="OPS", jira_retries=0)  # type: ignore[call-arg]
    ticket = ensure_ticket(store, escalated(store), settings)
    assert "cannot reach Jira" in (ticket.error or "")
