"""Serve the deployments on this machine: `remediate` (run by the alert event) and `sweep` (scheduled).

`python -m flows.serve` (what `autoheal up` starts). Each flow run gets its own process, forked
from a server that has imported the flow modules once (flows/launcher.py); the runner asks for
new runs every AUTOHEAL_RUNNER_POLL_SECONDS (0.1 s) rather than Prefect's 10 s.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from prefect import get_client
from prefect.client.schemas.objects import StateType
from prefect.events import DeploymentEventTrigger
from prefect.events.actions import ChangeFlowRunState
from prefect.events.schemas.automations import AutomationCore, EventTrigger, Posture
from prefect.runner import Runner

from autoheal.intake.outbox import EVENT
from autoheal.settings import get_settings
from flows import launcher, poller
from flows.reconcile import reconcile
from flows.remediate import remediate
from flows.report import report
from flows.sweep import sweep

ROOT = Path(__file__).resolve().parents[1]


TAGS = ["autoheal"]
REMEDIATE = "One alert in; a classified, decided, remediated, recorded incident out."
# The server does not check a `remediate` run's parameters against the deployment's schema when it
# creates the run (about 55 ms of its CPU a run, the alert's schema being large): the flow validates
# them itself before it starts (Prefect's engine, with the flow's type hints), and a bad run made by
# hand fails there, naming the field (tests/e2e/test_alert_path.py).
ENFORCE_SCHEMA = False


def alert_trigger() -> DeploymentEventTrigger:
    """Runs `remediate` for each `autoheal.alert.received` event, with the event's alert (as prefect.yaml)."""
    return DeploymentEventTrigger(
        name="autoheal-alert-received",
        expect={EVENT},
        match={"prefect.resource.id": "autoheal.alert.*"},
        parameters={"alert": "{{ event.payload.alert }}"},
    )


ZOMBIES = "autoheal-crash-zombie-flow-runs"


def zombie_automation(*, within_seconds: float = 90) -> AutomationCore:
    """Prefect's documented detection of zombie flow runs: a running flow run sends a heartbeat
    every PREFECT_FLOWS_HEARTBEAT_FREQUENCY seconds (30 here, set by the stack); one that has sent
    none for ``within_seconds`` (AUTOHEAL_ZOMBIE_AFTER_SECONDS) and has not finished is marked
    Crashed. That catches a run whose runner or machine died with it; a run whose process alone
    died the runner marks Crashed itself. The reconciler (flows/reconcile.py) then starts its incident again."""
    return AutomationCore(
        name=ZOMBIES,
        description="Mark flow runs Crashed when their heartbeats stop (autoheal, flows/serve.py).",
        trigger=EventTrigger(
            after={"prefect.flow-run.heartbeat"},
            expect={
                "prefect.flow-run.heartbeat",
                "prefect.flow-run.Completed",
                "prefect.flow-run.Failed",
                "prefect.flow-run.Cancelled",
                "prefect.flow-run.Crashed",
            },
            match={"prefect.resource.id": ["prefect.flow-run.*"]},
            for_each={"prefect.resource.id"},
            posture=Posture.Proactive,
            threshold=1,
            within=timedelta(seconds=within_seconds),
        ),
        actions=[ChangeFlowRunState(state=StateType.CRASHED, message="no heartbeat: its process or runner died")],
    )


async def ensure_zombie_automation() -> None:
    async with get_client() as client:
        if not await client.read_automations_by_name(ZOMBIES):
            await client.create_automation(zombie_automation(within_seconds=get_settings().zombie_after_seconds))


def deploy_to_pool(*, pool: str) -> UUID:
    """What `prefect deploy` does with prefect.yaml's `remediate`, from code, for a process work pool whose
    worker runs in this folder. The flow runs take the worker's environment: no settings, and so no
    secret, are stored with the deployment."""
    source: Any = remediate.from_source(source=str(ROOT), entrypoint="flows/remediate.py:remediate")  # sync here
    return source.deploy(  # type: ignore[no-any-return]
        name="remediate",
        work_pool_name=pool,
        build=False,
        push=False,
        print_next_steps=False,
        triggers=[alert_trigger()],
        tags=TAGS,
        description=REMEDIATE,
        enforce_parameter_schema=ENFORCE_SCHEMA,
    )


async def serve_here() -> None:
    """Register both flows with one runner and run it until stopped.

    With AUTOHEAL_RUNNER_FORK (the default), `aadd_flow` keeps each flow object in the runner, which
    then starts a run as a process forked from the preloaded server (flows/launcher.py) instead of
    one that runs `python -m prefect.engine` and imports everything again.
    """
    settings = get_settings()
    window, interval = settings.sweep_window_minutes, settings.sweep_interval_minutes
    # Several runners may serve the same deployments (README, "Scaling out"): one stopping must not pause
    # them for the others (Prefect's default pauses a runner's deployments on shutdown).
    runner = Runner(
        name="autoheal",
        limit=settings.runner_limit,
        query_seconds=settings.runner_poll_seconds,
        pause_on_shutdown=False,
    )
    remediate_options: dict[str, Any] = {
        "name": "remediate",
        "triggers": [alert_trigger()],
        "tags": TAGS,
        "description": REMEDIATE,
        "enforce_parameter_schema": ENFORCE_SCHEMA,
    }
    sweep_options: dict[str, Any] = {
        "name": "sweep",
        "interval": timedelta(minutes=interval),
        "parameters": {"window_minutes": window},
        "tags": TAGS,
        "description": "Failed runs that no webhook reported.",
    }
    reconcile_options: dict[str, Any] = {
        "name": "reconcile",
        "interval": timedelta(seconds=settings.reconcile_interval_seconds),
        "tags": TAGS,
        "description": "Incidents whose flow run died, or that Prefect made no run of, started again.",
    }
    report_options: dict[str, Any] = {
        "name": "report",
        "interval": timedelta(hours=settings.report_interval_hours),
        "parameters": {"since_hours": 24},
        "tags": TAGS,
        "description": "How autoheal is doing: auto-heal rate, MTTR, actions, re-fires, escalations (artifacts).",
    }
    await ensure_zombie_automation()
    flows: list[tuple[Any, dict[str, Any]]] = [
        (remediate, remediate_options),
        (sweep, sweep_options),
        (reconcile, reconcile_options),
        (report, report_options),
    ]
    poller.install()  # a runner with every slot taken asks the server for no runs (flows/poller.py)
    if settings.runner_fork and launcher.enable():
        launcher.start_server()  # its imports go on while the deployments are applied
        for each, options in flows:
            await runner.aadd_flow(each, **options)
    else:  # Prefect's own path: each run is `python -m prefect.engine`, loading the flow from its file
        for each, options in flows:
            await runner.aadd_deployment(await each.ato_deployment(**options))
    await runner.start()


def main() -> None:
    if "--pool" in sys.argv:  # deploy `remediate` to that process work pool and exit
        print(deploy_to_pool(pool=sys.argv[sys.argv.index("--pool") + 1]))
        return
    asyncio.run(serve_here())


if __name__ == "__main__":
    main()
