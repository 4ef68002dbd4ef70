"""Serve the deployments on this machine: `remediate` (run by the alert event) and `sweep` (scheduled).

`python -m flows.serve` (what `autoheal up` starts). Each flow run gets its own process, forked
from a server that has imported the flow modules once (autoheal/launcher.py); the runner asks for
new runs every AUTOHEAL_RUNNER_POLL_SECONDS (0.25 s) rather than Prefect's 10 s.
"""

from __future__ import annotations

import os
from datetime import timedelta

from prefect import serve
from prefect.events import DeploymentEventTrigger

from autoheal import launcher
from autoheal.dispatch import EVENT
from autoheal.settings import get_settings
from flows.remediate import remediate
from flows.sweep import sweep


def main() -> None:
    window = int(os.environ.get("AUTOHEAL_SWEEP_WINDOW_MINUTES", "60"))
    interval = float(os.environ.get("AUTOHEAL_SWEEP_INTERVAL_MINUTES", "15"))
    trigger = DeploymentEventTrigger(
        name="autoheal-alert-received",
        expect={EVENT},
        match={"prefect.resource.id": "autoheal.alert.*"},
        parameters={"alert": "{{ event.payload.alert }}"},
    )
    deployments = [
        remediate.to_deployment(
            name="remediate",
            triggers=[trigger],
            tags=["autoheal"],
            description="One alert in; a classified, decided, remediated, recorded incident out.",
        ),
        sweep.to_deployment(
            name="sweep",
            interval=timedelta(minutes=interval),
            parameters={"window_minutes": window},
            tags=["autoheal"],
            description="Failed runs that no webhook reported.",
        ),
    ]
    settings = get_settings()
    if settings.runner_fork:
        launcher.install()
    serve(
        *deployments,  # type: ignore[arg-type]  # to_deployment is sync here, outside an event loop
        limit=settings.runner_limit,
        query_seconds=settings.runner_poll_seconds,
    )


if __name__ == "__main__":
    main()
