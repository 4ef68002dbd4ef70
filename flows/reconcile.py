"""The reconciler: incidents nobody is finishing are started again, never dropped.

Two ways an acknowledged alert can be left behind (issue 13):

- its flow run died (the process killed with ``kill -9``, its runner killed, cancelled by a stop):
  the incident stays ``open`` or ``remediating``. Prefect marks such a run Crashed (the runner sees
  its process exit; heartbeats and the zombie automation in flows/serve.py catch a dead runner).
  The reconciler starts a new flow run with ``stranded_by`` = the dead run: it takes the incident
  over atomically, closes the dead attempt as crashed, and the playbooks' ensure semantics see the
  cluster start or rerun already made, so nothing is done twice;
- Prefect took its event and made no run of it (its parameters were refused, an automation was
  missing): the incident stays ``received``. The reconciler starts the run from the deployment
  itself, with the same bounded parameters.

Each start is counted on the incident (``recoveries``, ``last_recovery``); past ``max_recoveries``,
or when Prefect refuses the run, the incident is escalated to a person with the reason.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from prefect import flow, get_client
from prefect.client.orchestration import PrefectClient
from prefect.client.schemas.objects import StateType
from prefect.exceptions import ObjectNotFound, PrefectHTTPStatusError

from autoheal.domain.values import IncidentStatus
from autoheal.intake.outbox import alert_of, bounded_alert
from autoheal.services import get_store
from autoheal.store.tables import Incident

DEPLOYMENT = "remediate/remediate"
LIVE = {StateType.SCHEDULED, StateType.PENDING, StateType.RUNNING, StateType.PAUSED, StateType.CANCELLING}


async def fate(client: PrefectClient, flow_run_id: str | None) -> str | None:
    """None while the flow run may still finish the incident; else why it will not."""
    if flow_run_id is None:
        return "no flow run"
    try:
        run = await client.read_flow_run(UUID(flow_run_id))
    except (ObjectNotFound, ValueError):
        return f"flow run {flow_run_id} is unknown to Prefect"
    if run.state is None or run.state.type in LIVE:
        return None
    return f"flow run {flow_run_id} ended {run.state.name}"


async def start_again(client: PrefectClient, incident: Incident, *, stranded_by: str | None) -> str:
    """A new flow run of the deployment for ``incident``; its id."""
    deployment = await client.read_deployment_by_name(DEPLOYMENT)
    parameters: dict[str, Any] = {"alert": bounded_alert(alert_of(incident)).model_dump(mode="json")}
    if stranded_by is not None:
        parameters["stranded_by"] = stranded_by
    run = await client.create_flow_run_from_deployment(
        deployment.id, parameters=parameters, tags=["autoheal-reconciled", f"incident:{incident.id}"]
    )
    return str(run.id)


@flow(name="reconcile", log_prints=True)
async def reconcile(
    idle_seconds: float = 60, received_idle_seconds: float = 600, max_recoveries: int = 3
) -> dict[str, int]:
    """Start again each incident whose flow run is dead, or that Prefect made no run of.

    ``idle_seconds``: an open or remediating incident unchanged this long has its flow run looked
    at (a live run is left alone however long it takes); ``received_idle_seconds``: how long an
    alert whose event Prefect took may wait for its run (runs queue behind the runner's limit in
    a storm; a second run would only join the first).
    """
    store = get_store()
    now = datetime.now(UTC)
    counts = {"alive": 0, "started": 0, "escalated": 0}
    async with get_client() as client:
        for incident in store.stranded(idle_since=now - timedelta(seconds=idle_seconds)):
            incident_id = int(incident.id or 0)
            if incident.status == IncidentStatus.RECEIVED:
                if _aware(incident.updated_at) > now - timedelta(seconds=received_idle_seconds):
                    continue
                reason: str | None = f"Prefect made no flow run {received_idle_seconds:g}s after taking the event"
                stranded_by = None
            else:
                reason = await fate(client, incident.flow_run_id)
                stranded_by = incident.flow_run_id
            if reason is None:
                counts["alive"] += 1
                continue
            if incident.recoveries >= max_recoveries:
                store.note_recovery(
                    incident_id,
                    f"{reason}; started again {incident.recoveries} times: a person must look",
                    escalate=True,
                )
                counts["escalated"] += 1
                continue
            try:
                new = await start_again(client, incident, stranded_by=stranded_by)
            except (PrefectHTTPStatusError, ObjectNotFound) as exc:
                store.note_recovery(
                    incident_id, f"{reason}; Prefect refused a new flow run: {exc}"[:2000], escalate=True
                )
                counts["escalated"] += 1
                continue
            store.note_recovery(incident_id, f"{reason}: started again as flow run {new}")
            print(f"incident {incident_id}: {reason}; started again as flow run {new}")
            counts["started"] += 1
    return counts


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
