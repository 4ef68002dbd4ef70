"""The report's step: the figures of a window, read from the store."""

from __future__ import annotations

from datetime import timedelta

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from autoheal.services import get_store
from autoheal.settings import get_settings
from autoheal.store.figures import Figures, compute


@task(name="figures", cache_policy=NO_CACHE)
def gather_figures(since_hours: float) -> Figures:
    figures = compute(
        get_store(), since=timedelta(hours=since_hours), minutes_per_heal=get_settings().report_minutes_per_heal
    )
    rate = f"{figures.heal_rate:.0%}" if figures.heal_rate is not None else "-"
    get_run_logger().info(
        "last %g h: %s incidents, %s resolved, %s escalated (auto-heal rate %s), %s re-fired",
        since_hours,
        figures.incidents,
        figures.resolved,
        figures.escalated,
        rate,
        figures.refired,
    )
    return figures
