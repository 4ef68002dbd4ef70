"""The incident as markdown: the alert, the classification and why, the decision, each attempt,
the outcome. Shown as a Prefect artifact and by ``autoheal show``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from urllib.parse import quote

from autoheal.settings import Settings
from autoheal.store.messages import guessed
from autoheal.store.tables import Incident, Notification, RemediationAttempt


def _cell(value: object) -> str:
    return str(value if value is not None else "-").replace("|", "\\|").replace("\n", " ")


def _analysis(stored: str | None) -> list[str]:
    """The model's root cause and recommendations, or why there are none."""
    if not stored:
        return []
    analysis = json.loads(stored)
    head = f"## Root cause ({_cell(analysis.get('provider'))}, {_cell(analysis.get('model'))})"
    rca = analysis.get("rca")
    cost = f", cost {analysis['cost']:.5f}" if analysis.get("cost") is not None else ""
    usage = (
        f"{analysis.get('calls', 0)} call(s), {analysis.get('input_tokens', 0)} + {analysis.get('output_tokens', 0)} "
        f"tokens, {analysis.get('latency_ms', 0):.0f} ms{cost}"
    )
    if rca is None:
        return [head, "", f"No analysis: {_cell(analysis.get('error'))} ({usage}).", ""]
    lines = [
        head,
        "",
        _cell(rca.get("root_cause")),
        "",
        f"The model's view: **{_cell(rca.get('error_type'))}**, severity {_cell(rca.get('severity'))}, "
        f"priority {_cell(rca.get('priority'))}, confidence {_cell(rca.get('confidence'))}; affects "
        f"{_cell(rca.get('affected_entity'))}. It advises; the rules decide.",
        "",
    ]
    lines += [f"- {_cell(step)}" for step in rca.get("recommendations") or []]
    return [*lines, "", f"_{usage}_", ""]


def links(incident: Incident, settings: Settings, *, flow_run_url: str | None = None) -> list[tuple[str, str]]:
    """(label, URL): the failed run in the Azure portal (ADF Studio's monitoring page) or on the Databricks
    workspace, the Jira ticket, the Prefect flow run."""
    alert = json.loads(incident.alert_json or "{}")
    out: list[tuple[str, str]] = []
    if incident.service == "adf" and incident.run_id:
        sub = alert.get("subscription_id") or settings.azure_subscription_id
        rg = alert.get("resource_group") or settings.adf_resource_group
        factory = alert.get("factory") or settings.adf_factory
        if sub and rg and factory:
            path = f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.DataFactory/factories/{factory}"
            run = quote(incident.run_id)
            out.append(
                (
                    "ADF run in the Azure portal",
                    f"https://adf.azure.com/en/monitoring/pipelineruns/{run}?factory={quote(path, safe='')}",
                )
            )
    elif incident.service == "databricks" and settings.databricks_host and incident.run_id and alert.get("job_id"):
        host = settings.databricks_host.rstrip("/")
        out.append(("Databricks run page", f"{host}/jobs/{quote(str(alert['job_id']))}/runs/{quote(incident.run_id)}"))
    if incident.ticket_key and settings.jira_url:
        out.append((f"Jira {incident.ticket_key}", f"{settings.jira_url.rstrip('/')}/browse/{incident.ticket_key}"))
    if flow_run_url:
        out.append(("Prefect flow run", flow_run_url))
    return out


def _people(incident: Incident, notifications: Sequence[Notification]) -> list[str]:
    lines: list[str] = []
    if incident.ticket_key or incident.ticket_error:
        ticket = incident.ticket_key or "not opened"
        lines += [
            "## Ticket",
            "",
            f"Jira **{_cell(ticket)}**" + (f": {_cell(incident.ticket_error)}" if incident.ticket_error else ""),
            "",
        ]
    if notifications:
        lines += ["## Notifications", "", "| channel | kind | status | when | error |", "|---|---|---|---|---|"]
        for n in notifications:
            lines.append(
                f"| {_cell(n.channel)} | {_cell(n.kind)} | {_cell(n.status)} | {_cell(n.sent_at or n.created_at)} | "
                f"{_cell(n.error)} |"
            )
        lines.append("")
    return lines


def incident_markdown(
    incident: Incident,
    attempts: list[RemediationAttempt],
    *,
    links: Sequence[tuple[str, str]] = (),
    notifications: Sequence[Notification] = (),
) -> str:
    lines = [
        f"# Incident {incident.id}: {incident.status}",
        "",
        "| | |",
        "|---|---|",
        f"| service | {_cell(incident.service)} |",
        f"| resource | {_cell(incident.resource)} |",
        f"| run | {_cell(incident.run_id)} |",
        f"| fingerprint | `{_cell(incident.fingerprint)}` |",
        f"| failed at | {_cell(incident.failed_at)} |",
        f"| duplicates joined | {incident.duplicates} |",
        *([f"| ticket | {_cell(incident.ticket_key)} |"] if incident.ticket_key else []),
        "",
        *([" · ".join(f"[{label}]({url})" for label, url in links), ""] if links else []),
        "## Error",
        "",
        f"Code `{_cell(incident.error_code)}`",
        "",
        "```",
        (incident.message or "(no message)")[:4000],
        "```",
        "",
        "## Classification",
        "",
        f"**{_cell(incident.error_type)}** (remediable: {_cell(incident.remediable)}), by the "
        f"{_cell(incident.classifier)} classifier, rule `{_cell(incident.rule)}`, "
        f"confidence {_cell(incident.confidence)}."
        + (" A guess, the likeliest class: nothing in the message was recognised." if guessed(incident) else ""),
        "",
        "## Decision",
        "",
        f"**{_cell(incident.decision)}** (decided by {_cell(incident.decided_by or 'rules')}): "
        f"{_cell(incident.decision_reason)}",
        "",
        *_analysis(incident.analysis),
    ]
    if attempts:
        lines += [
            "## Attempts",
            "",
            "| # | playbook | started | ended | outcome | verified | created |",
            "|---|---|---|---|---|---|---|",
        ]
        for a in attempts:
            created = ", ".join(f"{k}={v}" for k, v in json.loads(a.created_ids or "{}").items())
            lines.append(
                f"| {a.number} | {_cell(a.playbook)} | {_cell(a.started_at)} | {_cell(a.ended_at)} | "
                f"{_cell(a.outcome)} | {_cell(a.verified)} | {_cell(created)} |"
            )
        lines.append("")
    lines += ["## Outcome", "", _cell(incident.outcome)]
    if incident.mttr_seconds is not None:
        lines += ["", f"MTTR: {incident.mttr_seconds:.1f} s (failure to verified fix)"]
    people = _people(incident, notifications)
    if people:
        lines += ["", *people]
    return "\n".join(lines) + "\n"
