"""The incident as markdown: the alert, the classification and why, the decision, each attempt,
the outcome. Shown as a Prefect artifact and by ``autoheal show``."""

from __future__ import annotations

import json

from autoheal.store.tables import Incident, RemediationAttempt


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
    return "\n".join(lines) + "\n"
