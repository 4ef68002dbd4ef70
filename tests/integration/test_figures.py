"""The report's figures from a real store: rates, percentiles, re-fires, actions per playbook, the chart."""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from autoheal.domain.alerts import Alert
from autoheal.domain.values import IncidentStatus
from autoheal.store.figures import chart_svg, compute, markdown, percentile, rows
from autoheal.store.store import Store
from autoheal.store.tables import IncidentChange

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(f"sqlite:///{tmp_path / 'autoheal.db'}")
    yield s
    s.engine.dispose()


def incident(
    store: Store, run: str, status: IncidentStatus, *, hours_ago: float, pipeline: str = "CopySales", **change: object
) -> int:
    failed = NOW - timedelta(hours=hours_ago)
    alert = Alert(source="azure-monitor", service="adf", factory="f", pipeline=pipeline, run_id=run, failed_at=failed)
    row, _ = store.open_incident(alert)
    assert row.id is not None
    store.update(row.id, IncidentChange(status=status, **change))  # type: ignore[arg-type]
    return row.id


def attempt(store: Store, incident_id: int, number: int, playbook: str, outcome: str) -> None:
    a = store.start_attempt(incident_id, number=number, playbook=playbook)
    store.finish_attempt(a, outcome=outcome, verified=outcome == "healed", created_ids=None, detail={})


def test_figures_of_a_week(store: Store) -> None:
    for n, mttr in enumerate([60, 120, 180, 240, 3000]):
        i = incident(
            store,
            f"ok-{n}",
            IncidentStatus.RESOLVED,
            hours_ago=10 + n,
            pipeline=f"P{n}",
            error_type="GatewayTimeout",
            mttr_seconds=float(mttr),
            resolved_at=NOW - timedelta(hours=9 + n),
        )
        if n == 0:
            attempt(store, i, 1, "adf.rerun_from_failure", "transient")
        attempt(store, i, 2 if n == 0 else 1, "adf.rerun_from_failure", "healed")
        store.update(i, IncidentChange(status=IncidentStatus.RESOLVED))  # an attempt marks it remediating
        if n == 0:  # P0 failed again the same way after its fix: the decision marks it (autoheal/store/rails.py)
            store.update(i, IncidentChange(fix_held=False))
    incident(store, "again", IncidentStatus.ESCALATED, hours_ago=2, pipeline="P0", error_type="PermissionDenied")
    incident(store, "bad", IncidentStatus.ESCALATED, hours_ago=3, pipeline="P9", error_type="PermissionDenied")
    incident(store, "bug", IncidentStatus.ESCALATED, hours_ago=4, pipeline="P9", error_type="CodeError")
    incident(store, "off", IncidentStatus.SKIPPED, hours_ago=5, pipeline="P9")
    incident(store, "old", IncidentStatus.RESOLVED, hours_ago=24 * 9, pipeline="P8", mttr_seconds=1.0)  # outside
    figures = compute(store, since=timedelta(days=7), minutes_per_heal=30, now=NOW)
    assert (figures.incidents, figures.resolved, figures.escalated, figures.other) == (9, 5, 3, 1)
    assert figures.heal_rate == pytest.approx(5 / 8)
    assert (figures.mttr_p50_seconds, figures.mttr_p90_seconds) == (180.0, 3000.0)
    assert figures.refired == 1 and figures.refire_rate == pytest.approx(0.2)  # P0's fix did not hold
    (playbook,) = figures.playbooks
    assert (playbook.playbook, playbook.attempts, playbook.healed, playbook.transient) == (
        "adf.rerun_from_failure",
        6,
        5,
        1,
    )
    assert figures.escalations_by_class == {"PermissionDenied": 2, "CodeError": 1}
    # A class the rules only guessed is counted as what it is: nothing recognised.
    incident(store, "odd", IncidentStatus.ESCALATED, hours_ago=1, error_type="InvalidConfiguration", rule="no-evidence")
    incident(store, "conf", IncidentStatus.ESCALATED, hours_ago=1, error_type="InvalidConfiguration", rule="veto:x")
    again = compute(store, since=timedelta(days=7), minutes_per_heal=30, now=NOW).escalations_by_class
    assert again == {"PermissionDenied": 2, "CodeError": 1, "unrecognised": 1, "InvalidConfiguration": 1}
    assert figures.top_resources[0] == ("adf f/P9", 3)
    assert figures.hours_saved == pytest.approx(2.5)
    assert sum(d.resolved for d in figures.days) == 5 and len(figures.days) == 7
    table = {r["figure"]: r for r in rows(figures)}
    assert table["auto-heal rate"]["value"] == "62%"
    assert table["engineer time saved"]["note"].startswith("assumes 30 min per heal")
    page = markdown(figures)
    assert "| adf.rerun_from_failure | 6 | 5 | 1 | 0 | 0 |" in page and "| PermissionDenied | 2 |" in page
    encoded = page.split("data:image/svg+xml;base64,", 1)[1].split(")", 1)[0]
    svg = ET.fromstring(base64.b64decode(encoded))  # well-formed SVG
    assert svg.tag == "{http://www.w3.org/2000/svg}svg" and len(svg.findall("{http://www.w3.org/2000/svg}rect")) == 15


def test_no_incidents_gives_dashes_not_errors(store: Store) -> None:
    figures = compute(store, since=timedelta(days=1), now=NOW)
    assert figures.heal_rate is None and figures.mttr_p50_seconds is None
    assert {r["value"] for r in rows(figures)} >= {"-", "0.0 h"}
    ET.fromstring(chart_svg(figures.days))


def test_percentile_is_nearest_rank() -> None:
    assert percentile([], 50) is None
    assert percentile([5.0], 90) == 5.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.0 and percentile([1.0, 2.0, 3.0, 4.0], 90) == 4.0
