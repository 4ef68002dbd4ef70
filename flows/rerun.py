"""A manual re-run of a stored alert through the `remediate` deployment (or here, and waited for)."""

from __future__ import annotations

import asyncio
from typing import Any

from prefect import get_client
from prefect.deployments import run_deployment
from prefect.settings import PREFECT_API_URL

from autoheal.domain.alerts import Alert
from autoheal.domain.values import IN_PROGRESS, IncidentStatus, Remediation
from autoheal.intake.outbox import bounded_alert
from autoheal.store.tables import Incident
from flows.reconcile import fate
from flows.remediate import run_remediate


def prefect_configured() -> bool:
    """A Prefect server to send the run to. Without one, Prefect would start a throw-away server in
    this process, which has no `remediate` deployment (ObjectNotFound): the run is made here."""
    return bool(PREFECT_API_URL.value())


def stranded_by(incident: Incident, *, force: bool) -> str | None:
    """The dead flow run an open or remediating incident was left by, or None when it is not in
    progress. Raises ValueError while its flow run may still finish it (or, without a Prefect
    server to ask, unless ``force``: the person vouches that the run is gone)."""
    if IncidentStatus(incident.status) not in IN_PROGRESS:
        return None
    run = incident.flow_run_id or ""
    if not prefect_configured():
        if force:
            return run
        raise ValueError(
            f"incident {incident.id} is {incident.status} under flow run {run or '-'}, and without "
            "PREFECT_API_URL autoheal cannot ask Prefect whether that run is dead; --force if it is"
        )

    async def ask() -> str | None:
        async with get_client() as client:
            return await fate(client, incident.flow_run_id)

    reason = asyncio.run(ask())
    if reason is None and not force:
        raise ValueError(f"incident {incident.id} is still being worked on by flow run {run}")
    return run


def request_rerun(alert: Alert, *, requested_by: str, stranded: str | None = None) -> tuple[str, str]:
    """Schedule a flow run of the deployment (the UI's Retry does the same); returns (name, id)."""
    parameters: dict[str, Any] = {
        "alert": bounded_alert(alert).model_dump(mode="json"),
        "rerun": True,
        "requested_by": requested_by,
    }
    if stranded is not None:
        parameters["stranded_by"] = stranded
    run: Any = run_deployment(  # synchronous outside an event loop
        "remediate/remediate", parameters=parameters, timeout=0, tags=["manual-rerun", f"requested-by:{requested_by}"]
    )
    return str(run.name), str(run.id)


async def rerun_here(alert: Alert, *, requested_by: str, stranded: str | None = None) -> Remediation:
    """Run the flow in this process and wait for it."""
    return await run_remediate(alert, rerun=True, requested_by=requested_by, stranded_by=stranded)
