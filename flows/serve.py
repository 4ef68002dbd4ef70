"""Serve the deployments on this machine: `remediate` (run by the alert event) and `sweep` (scheduled).

`python -m flows.serve` (what `autoheal up` starts). Each flow run gets its own process; set
PREFECT_RUNNER_POLL_FREQUENCY=1 so an event becomes a running flow within about a second.
"""

from __future__ import annotations

import os
from datetime import timedelta

from prefect import serve
from prefect.events import DeploymentEventTrigger

from autoheal.dispatch import EVENT
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
    serve(*deployments)  # type: ignore[arg-type]  # to_deployment is sync here, outside an event loop


if __name__ == "__main__":
    main()
