"""The runner asks for only as many scheduled runs as it can start.

Prefect's runner (prefect/runner/_scheduled_run_poller.py, 3.9) asks the server for every scheduled
run of its deployments on each poll, up to the API's default limit of 200, whether or not it has a
free slot, then starts what fits. autoheal polls every 0.1 s (AUTOHEAL_RUNNER_POLL_SECONDS), so
during a storm, with a backlog and every slot taken, each runner fetched up to 200 full flow runs
(parameters included) ten times a second to start none of them: the server read, serialized and
compressed them, the runner parsed them, and each poll queued the server's deployment-readiness
task too. Here a poll asks for as many as there are free slots (plus the runs still being handed
over, which the answer may repeat), and a runner with no free slot does not ask at all, except once
every ``KEEP_READY_SECONDS`` with a limit of one: a deployment that nobody polls for a minute shows
as not ready in the UI.
"""

from __future__ import annotations

import importlib
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from prefect.client.schemas.objects import FlowRun

log = logging.getLogger(__name__)

API_DEFAULT_LIMIT = 200  # what the server returns when a poll names no limit (a runner with no limit of its own)
KEEP_READY_SECONDS = 10.0  # at capacity, one small poll this often (Prefect marks a deployment not ready after 60 s)
_POLLER = ("prefect.runner._scheduled_run_poller", "ScheduledRunPoller")
_PREFECT: list[Any] = []  # Prefect's own method, kept for a poller of another shape
_NEEDS = ("_client", "_limit_manager", "_deployment_registry", "_prefetch_seconds", "_submitting_flow_run_ids")


def room(poller: Any) -> int | None:
    """Free slots of the runner (None: no limit)."""
    limiter = getattr(poller._limit_manager, "_limiter", None)
    return None if limiter is None else int(limiter.available_tokens)


async def scheduled_runs_within_room(poller: Any) -> list[FlowRun]:
    """What ``ScheduledRunPoller._get_scheduled_flow_runs`` returns, asking only for what can start."""
    if not fits(poller):  # another shape of poller: ask as Prefect does rather than fail every poll
        return await _PREFECT[0](poller)  # type: ignore[no-any-return]
    free = room(poller)
    now = time.monotonic()
    if free is not None and free <= 0:
        if now - getattr(poller, "_autoheal_asked_at", 0.0) < KEEP_READY_SECONDS:
            return []
        limit = 1  # keeps the deployments ready; at capacity, nothing it returns can start
    else:
        limit = (API_DEFAULT_LIMIT if free is None else free) + len(poller._submitting_flow_run_ids)
    poller._autoheal_asked_at = now
    client = poller._client
    runs: list[FlowRun] = await client.get_scheduled_flow_runs_for_deployments(
        deployment_ids=list(poller._deployment_registry.get_deployment_ids()),
        scheduled_before=datetime.now(UTC) + timedelta(seconds=int(poller._prefetch_seconds)),
        limit=limit,
    )
    return runs


def install() -> bool:
    """Make this process's runners poll within their room; False (logged) when the installed Prefect has
    no poller of the shape this was written against, and the runner keeps polling as Prefect does."""
    try:
        poller = getattr(importlib.import_module(_POLLER[0]), _POLLER[1])
    except (ImportError, AttributeError):
        log.warning("the runner polls as Prefect does (no %s.%s in this Prefect)", *_POLLER)
        return False
    if not hasattr(poller, "_get_scheduled_flow_runs"):
        log.warning("the runner polls as Prefect does (its poller has no _get_scheduled_flow_runs)")
        return False
    if poller._get_scheduled_flow_runs is not scheduled_runs_within_room:
        _PREFECT[:] = [poller._get_scheduled_flow_runs]
        poller._get_scheduled_flow_runs = scheduled_runs_within_room
    return True


def fits(poller: Any) -> bool:
    """Whether a poller has what :func:`scheduled_runs_within_room` reads."""
    return all(hasattr(poller, name) for name in _NEEDS) and hasattr(poller._limit_manager, "_limiter")
