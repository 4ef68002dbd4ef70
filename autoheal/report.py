"""The incident as markdown: the alert, the classification and why, the decision, each attempt,
the outcome. Shown as a Prefect artifact and by ``autoheal show``."""

from __future__ import annotations

import json

from autoheal.models import Incident, RemediationAttempt


def _cell(value: object) -> str:
    return str(value if value is not None else "-").replace("|", "\\|").replace("\n", " ")


def incident_markdown(incident: Incident, attempts: list[RemediationAttempt]) -> str:
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
        "",
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
        f"confidence {_cell(incident.confidence)}.",
        "",
        "## Decision",
        "",
        f"**{_cell(incident.decision)}**: {_cell(incident.decision_reason)}",
        "",
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
    return "\n".join(lines) + "\n"
