"""The `report` flow: how autoheal is doing, as Prefect artifacts (a table and a markdown summary with a
chart), daily in `autoheal up` and prefect.yaml, and on demand with `autoheal report`. It also sends
the summaries of notifications a channel's rate limit held."""

from __future__ import annotations

from typing import Any

from prefect import flow
from prefect.artifacts import acreate_markdown_artifact, acreate_table_artifact

from autoheal.store.figures import Figures, markdown, rows
from tasks.notification import flush_notifications
from tasks.report import gather_figures


@flow(name="report", log_prints=True)
async def report(since_hours: float = 24) -> Figures:
    """Figures of the last ``since_hours``: auto-heal rate, MTTR, actions per playbook, re-fires, escalations."""
    figures = gather_figures(since_hours)
    await acreate_table_artifact(
        key="autoheal-report-table", table=rows(figures), description=f"autoheal, last {since_hours:g} h"
    )
    await acreate_markdown_artifact(
        key="autoheal-report", markdown=markdown(figures), description=f"autoheal, last {since_hours:g} h"
    )
    flush_notifications()
    return figures


def request_report(api_url: str, since_hours: float = 24, *, timeout: float = 120) -> str:
    """Run the served `report` deployment of the Prefect server at ``api_url`` now and wait for it;
    returns the flow run's state name."""
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: api_url}):
        run: Any = run_deployment("report/report", parameters={"since_hours": since_hours}, timeout=timeout)
    return str(run.state.name if run.state else "unknown")
