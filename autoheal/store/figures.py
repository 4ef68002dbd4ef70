"""How autoheal is doing, over a window: the figures the `report` flow publishes and `autoheal report`
prints. Read from the store; nothing here talks to Prefect.

- **auto-heal rate**: resolved / (resolved + escalated); skipped, dry-run and duplicate alerts are not
  chances to heal.
- **MTTR**: failure to verified fix for the resolved; failure to escalation for the escalated (how long
  until a person was told), p50 and p90.
- **re-fire rate**: resolved incidents whose resource failed again within 24 h of the fix.
- **engineer time saved**: resolved incidents x AUTOHEAL_REPORT_MINUTES_PER_HEAL (the assumption, stated
  with the figure: the minutes an engineer spends reading the error and pressing rerun).
"""

from __future__ import annotations

import base64
import math
from collections import Counter
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, Field

from autoheal.domain.values import IncidentStatus
from autoheal.store.database import aware
from autoheal.store.messages import class_named
from autoheal.store.store import Store
from autoheal.store.tables import Incident


class PlaybookActions(BaseModel):
    playbook: str
    attempts: int = 0
    healed: int = 0
    transient: int = 0
    permanent: int = 0
    unverified: int = 0


class Day(BaseModel):
    day: str
    resolved: int = 0
    escalated: int = 0


class Figures(BaseModel):
    since: datetime
    until: datetime
    incidents: int = 0
    resolved: int = 0
    escalated: int = 0
    other: int = 0  # skipped, dry run, still open
    heal_rate: float | None = None
    mttr_p50_seconds: float | None = None
    mttr_p90_seconds: float | None = None
    escalation_p50_seconds: float | None = None
    escalation_p90_seconds: float | None = None
    refired: int = 0
    refire_rate: float | None = None
    playbooks: list[PlaybookActions] = Field(default_factory=list)
    escalations_by_class: dict[str, int] = Field(default_factory=dict)
    top_resources: list[tuple[str, int]] = Field(default_factory=list)
    approval_waits: int = 0
    approval_wait_p50_seconds: float | None = None
    approval_wait_p90_seconds: float | None = None
    minutes_per_heal: float = 30
    hours_saved: float = 0.0
    days: list[Day] = Field(default_factory=list)


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def _approval_wait(store: Store, incident: Incident) -> float | None:
    """Seconds from the request for approval to its answer (the approvals trail, autoheal/store/rails.py)."""
    if incident.id is None or not incident.decision_reason or "approv" not in incident.decision_reason:
        return None
    trail = store.approvals(incident.id)
    asked = next((aware(r.at) for r in trail if r.decision == "requested"), None)
    answered = next((aware(r.at) for r in trail if r.decision in ("approved", "rejected")), None)
    return (answered - asked).total_seconds() if asked and answered else None


def compute(store: Store, *, since: timedelta, minutes_per_heal: float = 30, now: datetime | None = None) -> Figures:
    until = now or datetime.now(UTC)
    start = until - since
    everything = store.incidents(limit=1_000_000)
    window = [
        i
        for i in everything
        if (aware(i.failed_at) or aware(i.received_at) or until) >= start and i.status != IncidentStatus.EXPANDED
    ]
    figures = Figures(since=start, until=until, minutes_per_heal=minutes_per_heal, incidents=len(window))
    resolved = [i for i in window if i.status == IncidentStatus.RESOLVED]
    escalated = [i for i in window if i.status == IncidentStatus.ESCALATED]
    figures.resolved, figures.escalated = len(resolved), len(escalated)
    figures.other = len(window) - len(resolved) - len(escalated)
    if resolved or escalated:
        figures.heal_rate = len(resolved) / (len(resolved) + len(escalated))
    mttrs = [i.mttr_seconds for i in resolved if i.mttr_seconds is not None]
    figures.mttr_p50_seconds, figures.mttr_p90_seconds = percentile(mttrs, 50), percentile(mttrs, 90)
    told = [
        (aware(i.updated_at) - aware(i.failed_at)).total_seconds()  # type: ignore[operator]
        for i in escalated
        if i.failed_at is not None
    ]
    figures.escalation_p50_seconds, figures.escalation_p90_seconds = percentile(told, 50), percentile(told, 90)
    # Re-fire: a verified fix that did not hold (the same resource failed the same way within the
    # recurrence window: the decision marks it, autoheal/store/rails.py).
    figures.refired = sum(1 for i in resolved if i.fix_held is False)
    figures.refire_rate = figures.refired / len(resolved) if resolved else None
    actions: dict[str, PlaybookActions] = {}
    for i in window:
        for a in store.attempts(int(i.id or 0)):
            entry = actions.setdefault(a.playbook, PlaybookActions(playbook=a.playbook))
            entry.attempts += 1
            if a.outcome in ("healed", "transient", "permanent", "unverified"):
                setattr(entry, a.outcome, getattr(entry, a.outcome) + 1)
    figures.playbooks = sorted(actions.values(), key=lambda p: (-p.attempts, p.playbook))
    classes = Counter(class_named(i) or "(unclassified)" for i in escalated)
    figures.escalations_by_class = dict(classes.most_common())
    figures.top_resources = Counter(f"{i.service} {i.resource}" for i in window).most_common(5)
    waits = [w for i in window if (w := _approval_wait(store, i)) is not None]
    figures.approval_waits = len(waits)
    figures.approval_wait_p50_seconds, figures.approval_wait_p90_seconds = percentile(waits, 50), percentile(waits, 90)
    figures.hours_saved = len(resolved) * minutes_per_heal / 60
    days: dict[str, Day] = {}
    for offset in range(max(1, min(31, math.ceil(since / timedelta(days=1))))):
        key = (until - timedelta(days=offset)).date().isoformat()
        days[key] = Day(day=key)
    for i in resolved + escalated:
        at = aware(i.failed_at) or aware(i.received_at)
        if at and (day := days.get(at.date().isoformat())):
            day.resolved += i.status == IncidentStatus.RESOLVED
            day.escalated += i.status == IncidentStatus.ESCALATED
    figures.days = sorted(days.values(), key=lambda d: d.day)
    return figures


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def chart_svg(days: list[Day], *, width: int = 560, height: int = 180) -> str:
    """Resolved (green) and escalated (red) per day, stacked bars, with the day under each bar."""
    top = max([d.resolved + d.escalated for d in days] + [1])
    pad, base = 28, height - 30
    step = (width - 2 * pad) / max(1, len(days))
    bar = min(48.0, max(4.0, step * 0.6))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        'font-family="sans-serif" font-size="11">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<line x1="{pad}" y1="{base}" x2="{width - pad}" y2="{base}" stroke="#999"/>',
        f'<text x="{pad}" y="14" fill="#333">incidents per day: resolved (green), escalated (red); max {top}</text>',
    ]
    for n, d in enumerate(days):
        x = pad + n * step + (step - bar) / 2
        scale = (base - 24) / top
        h_ok, h_bad = d.resolved * scale, d.escalated * scale
        parts.append(f'<rect x="{x:.1f}" y="{base - h_ok:.1f}" width="{bar:.1f}" height="{h_ok:.1f}" fill="#2e9e5b"/>')
        parts.append(
            f'<rect x="{x:.1f}" y="{base - h_ok - h_bad:.1f}" width="{bar:.1f}" height="{h_bad:.1f}" fill="#d64545"/>'
        )
        if len(days) <= 14 or n % max(1, len(days) // 10) == 0:
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{base + 14}" text-anchor="middle" fill="#555">{d.day[5:]}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def chart_image(days: list[Day]) -> str:
    """The chart as a markdown image with a data: URI (markdown renderers keep <img>, not inline <svg>)."""
    encoded = base64.b64encode(chart_svg(days).encode()).decode()
    return f"![resolved and escalated per day](data:image/svg+xml;base64,{encoded})"


def rows(figures: Figures) -> list[dict[str, str]]:
    """The headline figures as (figure, value, note) rows: the table artifact and the terminal table."""
    f = figures
    return [
        {
            "figure": "incidents",
            "value": str(f.incidents),
            "note": f"{f.resolved} resolved, {f.escalated} escalated, {f.other} other",
        },
        {"figure": "auto-heal rate", "value": _rate(f.heal_rate), "note": "resolved / (resolved + escalated)"},
        {
            "figure": "MTTR p50 / p90",
            "value": f"{_duration(f.mttr_p50_seconds)} / {_duration(f.mttr_p90_seconds)}",
            "note": "failure to verified fix",
        },
        {
            "figure": "to escalation p50 / p90",
            "value": f"{_duration(f.escalation_p50_seconds)} / {_duration(f.escalation_p90_seconds)}",
            "note": "failure to a person told",
        },
        {
            "figure": "re-fire rate",
            "value": _rate(f.refire_rate),
            "note": f"{f.refired} fixed resource(s) failed again within 24 h",
        },
        {
            "figure": "approval wait p50 / p90",
            "value": f"{_duration(f.approval_wait_p50_seconds)} / {_duration(f.approval_wait_p90_seconds)}"
            if f.approval_waits
            else "-",
            "note": f"{f.approval_waits} approval(s)" if f.approval_waits else "no approvals recorded",
        },
        {
            "figure": "engineer time saved",
            "value": f"{f.hours_saved:.1f} h",
            "note": f"assumes {f.minutes_per_heal:g} min per heal (AUTOHEAL_REPORT_MINUTES_PER_HEAL)",
        },
    ]


def markdown(figures: Figures) -> str:
    f = figures
    lines = [
        f"# autoheal report: {f.since:%Y-%m-%d %H:%M} to {f.until:%Y-%m-%d %H:%M} UTC",
        "",
        chart_image(f.days),
        "",
        "| figure | value | note |",
        "|---|---|---|",
        *[f"| {r['figure']} | **{r['value']}** | {r['note']} |" for r in rows(f)],
        "",
        "## Actions per playbook",
        "",
        "| playbook | attempts | healed | transient | permanent | unverified |",
        "|---|---|---|---|---|---|",
        *[
            f"| {p.playbook} | {p.attempts} | {p.healed} | {p.transient} | {p.permanent} | {p.unverified} |"
            for p in f.playbooks
        ],
        "",
        "## Escalations by class",
        "",
        "| class | escalations |",
        "|---|---|",
        *[f"| {name} | {count} |" for name, count in f.escalations_by_class.items()],
        "",
        "## Top failing resources",
        "",
        "| resource | incidents |",
        "|---|---|",
        *[f"| {name} | {count} |" for name, count in f.top_resources],
        "",
        f"_Engineer time saved assumes {f.minutes_per_heal:g} minutes per healed incident: the time to read the "
        "error, decide it is transient and press rerun, which autoheal did instead._",
    ]
    return "\n".join(lines) + "\n"
