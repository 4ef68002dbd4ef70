"""What people read about an incident outside autoheal: the notification (subject and body), the Jira
ticket (summary, description, the fingerprint's label), and the summary of messages a rate limit held.
Plain text with a little markdown, the same in Slack, Teams, email and a ticket; secrets redacted."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

from pydantic import BaseModel

from autoheal.domain.classification import NO_EVIDENCE, UNRECOGNISED
from autoheal.domain.redaction import redact
from autoheal.store.tables import Incident, RemediationAttempt


class Message(BaseModel):
    subject: str
    body: str


def fingerprint_label(fingerprint: str) -> str:
    """A Jira label for the failure (labels take no spaces; the fingerprint has colons and slashes)."""
    return "autoheal-" + hashlib.sha256(fingerprint.encode()).hexdigest()[:16]


def guessed(incident: Incident) -> bool:
    """Whether the incident's class is the rules' guess: they recognised nothing in the failure."""
    return incident.rule == NO_EVIDENCE and incident.error_type is not None


def class_named(incident: Incident) -> str | None:
    """The incident's class as people are told it (a tag, a label, a figure): unrecognised for a guess."""
    return UNRECOGNISED if guessed(incident) else incident.error_type


def headline(incident: Incident) -> str:
    what = incident.error_type or incident.error_code or "unclassified"
    if guessed(incident):  # a guess is not told to people as a finding
        what = f"not recognised (likeliest {incident.error_type})"
    return f"{incident.service} {incident.resource} run {incident.run_id or '-'}: {what}"


def tried(attempts: Sequence[RemediationAttempt]) -> list[str]:
    """One line per attempt: the playbook, how it ended and why."""
    out = []
    for a in attempts:
        detail = json.loads(a.detail or "{}")
        why = detail.get("reason") or detail.get("detail") or ""
        out.append(f"attempt {a.number}: {a.playbook} -> {a.outcome}" + (f" ({why})" if why else ""))
    return out


def _clip(text: str | None, size: int) -> str:
    text = (text or "").strip()
    return text if len(text) <= size else text[: size - 3] + "..."


def incident_message(
    incident: Incident, attempts: Sequence[RemediationAttempt], kind: str, links: Sequence[tuple[str, str]]
) -> Message:
    """An escalation (why, what was tried, the error, where to look), or a heal, or an approval waiting."""
    verb = {"escalation": "escalated", "heal": "healed", "approval": "awaiting approval"}.get(kind, kind)
    lines = [
        f"*{verb.capitalize()}*: {headline(incident)} (incident {incident.id})",
        f"Why: {incident.outcome or incident.decision_reason or '-'}",
    ]
    if incident.classifier:
        lines.append(
            f"Classified {incident.error_type} by {incident.classifier} rule {incident.rule or '-'} "
            f"(confidence {incident.confidence if incident.confidence is not None else '-'})"
        )
    lines.append("Tried: " + ("; ".join(tried(attempts)) if attempts else "nothing (not remediable automatically)"))
    if incident.message:
        lines.append(f"Error: {_clip(incident.message, 500)}")
    if incident.ticket_key:
        lines.append(f"Ticket: {incident.ticket_key}")
    lines += [f"{label}: {url}" for label, url in links]
    subject = f"autoheal {verb}: {headline(incident)}"
    return Message(subject=redact(_clip(subject, 250)) or "", body=redact("\n".join(lines)) or "")


def summary_message(channel_held: Sequence[Incident | None], kinds: Sequence[str]) -> Message:
    """The one message that stands for a channel's held messages."""
    count = len(kinds)
    by_kind: dict[str, int] = {}
    for kind in kinds:
        by_kind[kind] = by_kind.get(kind, 0) + 1
    what = ", ".join(f"{n} {k}" for k, n in sorted(by_kind.items()))
    lines = [f"*{count} more notifications* were held by the rate limit ({what}):"]
    shown = [i for i in channel_held if i is not None][:20]
    lines += [f"- incident {i.id}: {headline(i)} [{i.status}]" for i in shown]
    if count > len(shown):
        lines.append(f"- and {count - len(shown)} more (autoheal incidents --status escalated)")
    return Message(subject=f"autoheal: {count} notifications held ({what})", body=redact("\n".join(lines)) or "")


def ticket_description(
    incident: Incident, attempts: Sequence[RemediationAttempt], links: Sequence[tuple[str, str]]
) -> str:
    """The Jira description (plain text / wiki markup, REST API v2)."""
    lines = [
        f"autoheal escalated incident {incident.id}: a person must act.",
        "",
        f"*Summary:* {headline(incident)}",
        f"*Why escalated:* {incident.outcome or incident.decision_reason or '-'}",
        f"*Classification:* {incident.error_type or '-'} (remediable: {incident.remediable}; "
        f"{incident.classifier or '-'} rule {incident.rule or '-'}, confidence {incident.confidence})",
        f"*Failed at:* {incident.failed_at or '-'}",
        f"*Fingerprint:* {incident.fingerprint}",
        "",
        "*Attempts:*",
        *([f"- {line}" for line in tried(attempts)] or ["- none"]),
        "",
        "*Error:*",
        "{noformat}",
        _clip(incident.message or "(no message)", 4000),
        "{noformat}",
        "",
        *[f"[{label}|{url}]" for label, url in links],
    ]
    return redact("\n".join(lines)) or ""
