"""A Jira ticket for each escalated incident, and a comment when more alerts join it.

Idempotent: the key is stored on the incident, and before creating one the project is searched for
the fingerprint's label, so a retried task or a re-run never opens a second ticket. Bad credentials
or a missing project are recorded on the incident (``ticket_error``) and logged; remediation goes on.
"""

from __future__ import annotations

from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel

from autoheal.domain.values import IncidentStatus
from autoheal.outside.jira import JiraClient, JiraError
from autoheal.services import get_store
from autoheal.settings import Settings, get_settings
from autoheal.store.messages import class_named, fingerprint_label, headline, ticket_description
from autoheal.store.report import links
from autoheal.store.store import Store
from autoheal.store.tables import Incident, IncidentChange


class Ticket(BaseModel):
    """The incident's ticket: its key, whether this step created it, or why there is none."""

    key: str | None = None
    created: bool = False
    commented: int = 0  # duplicate alerts a comment told the ticket about
    configured: bool = True
    error: str | None = None


def ticket_fields(incident: Incident, description: str, settings: Settings) -> dict[str, Any]:
    labels = [*settings.jira_labels, fingerprint_label(incident.fingerprint)]
    if incident.error_type:  # a team's filter by class must not catch the rules' guesses
        labels.append(f"autoheal-{class_named(incident)}")
    return {
        "project": {"key": settings.jira_project},
        "issuetype": {"name": settings.jira_issue_type},
        "summary": f"[autoheal] {headline(incident)}"[:250],
        "description": description,
        "labels": labels,
        **settings.jira_fields,  # the team's mapping: priority, components, custom fields
    }


def ensure_ticket(store: Store, incident_id: int, settings: Settings, flow_run_url: str | None = None) -> Ticket:
    """The escalated incident's Jira issue: the stored key, one found by the fingerprint's label (a
    create whose answer was lost), or a new one. Its error is stored on the incident."""
    incident = store.get(incident_id)
    if incident is None:
        raise KeyError(f"no incident {incident_id}")
    if incident.ticket_key:
        return Ticket(key=incident.ticket_key)
    client = JiraClient.from_settings(settings)
    if client is None:
        return Ticket(configured=False, error="Jira is not configured (AUTOHEAL_JIRA_URL, _PROJECT, _TOKEN)")
    try:
        with client:
            key = client.find_by_label(str(settings.jira_project), fingerprint_label(incident.fingerprint))
            created = key is None
            if key is None:
                description = ticket_description(
                    incident, store.attempts(incident_id), links(incident, settings, flow_run_url=flow_run_url)
                )
                key = client.create(ticket_fields(incident, description, settings))
    except JiraError as exc:
        store.update(incident_id, IncidentChange(ticket_error=str(exc)))
        return Ticket(error=str(exc))
    store.update(incident_id, IncidentChange(ticket_key=key, ticket_error=None, ticket_duplicates=incident.duplicates))
    return Ticket(key=key, created=created)


def comment_on_duplicates(store: Store, incident_id: int, settings: Settings) -> Ticket:
    """A duplicate alert adds a comment to the ticket, not a ticket: one comment per new count."""
    incident = store.get(incident_id)
    if incident is None:
        raise KeyError(f"no incident {incident_id}")
    if not incident.ticket_key or incident.duplicates <= incident.ticket_duplicates:
        return Ticket(key=incident.ticket_key)
    client = JiraClient.from_settings(settings)
    if client is None:
        return Ticket(key=incident.ticket_key)
    new = incident.duplicates - incident.ticket_duplicates
    body = (
        f"autoheal: {new} more alert(s) for this failure ({incident.duplicates} duplicates in all); "
        f"incident {incident.id} is {incident.status}."
    )
    try:
        with client:
            client.comment(incident.ticket_key, body)
    except JiraError as exc:
        store.update(incident_id, IncidentChange(ticket_error=str(exc)))
        return Ticket(key=incident.ticket_key, error=str(exc))
    store.update(incident_id, IncidentChange(ticket_duplicates=incident.duplicates))
    return Ticket(key=incident.ticket_key, commented=new)


@task(name="ticket", cache_policy=NO_CACHE)
def open_ticket(incident_id: int, flow_run_url: str | None = None) -> Ticket:
    """Open (or find) the escalated incident's Jira issue and store its key; never fails the run."""
    ticket = ensure_ticket(get_store(), incident_id, get_settings(), flow_run_url)
    logger = get_run_logger()
    if ticket.key:
        logger.info("%s ticket %s for incident %s", "opened" if ticket.created else "kept", ticket.key, incident_id)
    elif ticket.configured:
        logger.warning("no ticket for incident %s: %s", incident_id, ticket.error)
    else:
        logger.info("no ticket for incident %s: %s", incident_id, ticket.error)
    return ticket


@task(name="ticket-comment", cache_policy=NO_CACHE)
def comment_duplicates(incident_id: int) -> Ticket:
    ticket = comment_on_duplicates(get_store(), incident_id, get_settings())
    get_run_logger().info(
        "ticket %s of incident %s: %s",
        ticket.key or "-",
        incident_id,
        ticket.error
        or (f"commented on {ticket.commented} new duplicate alert(s)" if ticket.commented else "no comment due"),
    )
    return ticket


@task(name="ticket-comments", cache_policy=NO_CACHE)
def comment_new_duplicates() -> int:
    """The sweep's pass: every ticketed incident whose duplicates grew gets one comment."""
    store, settings = get_store(), get_settings()
    due = [
        int(i.id or 0)
        for i in store.incidents(status=IncidentStatus.ESCALATED, limit=100_000)
        if i.ticket_key and i.duplicates > i.ticket_duplicates
    ]
    commented = sum(1 for i in due if comment_on_duplicates(store, i, settings).commented)
    get_run_logger().info("commented on %s ticket(s) about new duplicate alerts", commented)
    return commented
