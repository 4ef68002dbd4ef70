"""A manual re-run of a stored alert through the `remediate` deployment (or here, and waited for)."""

from __future__ import annotations

from typing import Any

from prefect.deployments import run_deployment

from autoheal.domain.alerts import Alert
from autoheal.domain.values import Remediation
from flows.remediate import run_remediate


def request_rerun(alert: Alert, *, requested_by: str) -> tuple[str, str]:
    """Schedule a flow run of the deployment (the UI's Retry does the same); returns (name, id)."""
    parameters = {"alert": alert.model_dump(mode="json"), "rerun": True, "requested_by": requested_by}
    run: Any = run_deployment(  # synchronous outside an event loop
        "remediate/remediate", parameters=parameters, timeout=0, tags=["manual-rerun", f"requested-by:{requested_by}"]
    )
    return str(run.name), str(run.id)


async def rerun_here(alert: Alert, *, requested_by: str) -> Remediation:
    """Run the flow in this process and wait for it."""
    return await run_remediate(alert, rerun=True, requested_by=requested_by)
