"""The ``autoheal`` command line: the one place that wires settings, sandbox, playbooks and Prefect."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from autoheal.app import operations, views
from autoheal.app.console import console, err
from autoheal.app.console import fail as _fail

app = typer.Typer(
    help="Safe auto-remediation of transient ADF and Databricks failures.", no_args_is_help=True, add_completion=False
)


@app.command()
def sandbox(
    scenario: Annotated[str | None, typer.Option(help="scenario file (YAML/JSON) or bundled scenario name")] = None,
    host: Annotated[str, typer.Option(help="address to bind; keep it on loopback")] = "127.0.0.1",
    http_port: Annotated[int, typer.Option(help="Databricks API port (0 = any free port)")] = 0,
    https_port: Annotated[int, typer.Option(help="ADF management API port (0 = any free port)")] = 0,
    list_scenarios: Annotated[bool, typer.Option("--list", help="list the bundled scenarios and exit")] = False,
) -> None:
    """Run the local Databricks + ADF emulator and print what to export to use it."""
    _stop_on_sigterm()
    from sandbox import Sandbox
    from sandbox.scenario import Scenario, ScenarioError, bundled_scenarios, load_scenario

    if list_scenarios:
        for name in bundled_scenarios():
            s = load_scenario(name)
            console.print(f"[bold]{name}[/bold] ({s.error_type}): {s.description}")
        return
    try:
        loaded = load_scenario(scenario) if scenario else Scenario()
    except ScenarioError as exc:
        raise _fail(str(exc)) from exc
    workdir = Path(".autoheal") / "sandbox"
    with Sandbox(loaded, host=host, http_port=http_port, https_port=https_port, workdir=workdir) as sb:
        for key, value in sb.exports().items():
            print(f"export {key}={value}")
        host_url = sb.exports()["DATABRICKS_HOST"]
        err.print(
            f"# sandbox running scenario '{loaded.name}' (time x{1 / loaded.time_scale:g}); "
            f"control API at {host_url}/_sandbox/state; Ctrl-C stops it"
        )
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


def _stop_on_sigterm() -> None:
    """SIGTERM (how systemd, Docker and Kubernetes stop a service) stops like Ctrl-C: as a
    KeyboardInterrupt in the main thread, wherever it is (starting, running), so the command's
    cleanup runs and stops what it started. The default would end the process at once, its
    children left behind (issue 13)."""
    signal.signal(signal.SIGTERM, signal.default_int_handler)


@app.command()
def rehearse(
    scenarios: Annotated[list[str] | None, typer.Argument(help="scenario files or bundled names")] = None,
    all_scenarios: Annotated[bool, typer.Option("--all", help="every bundled scenario")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per scenario")] = False,
) -> None:
    """Rehearse the catalog's playbook for each scenario's failure against the sandbox."""
    from autoheal.app.rehearsal import rehearse as run
    from autoheal.domain.catalog import CatalogError, load_catalog
    from autoheal.settings import get_settings
    from sandbox.scenario import ScenarioError, bundled_scenarios, load_scenario

    names = list(scenarios or [])
    if all_scenarios:
        names = bundled_scenarios(single_type=True)
    if not names:
        raise _fail("name a scenario, or pass --all (see `autoheal sandbox --list`)")
    try:
        catalog = load_catalog(get_settings().catalog_file)
        loaded = [load_scenario(n) for n in names]
    except (CatalogError, ScenarioError) as exc:
        raise _fail(str(exc)) from exc
    table = Table(title="Playbook rehearsal against the sandbox")
    for column in ("scenario", "error type", "playbook", "attempts", "outcome", "actions"):
        table.add_column(column)
    healed = 0
    for scenario in loaded:
        result = run(scenario, catalog)
        healed += result.healed
        if as_json:
            print(result.model_dump_json())
            continue
        actions = ", ".join(f"{k}={v}" for k, v in result.counts.items() if v and k in _ACTIONS)
        outcome = "[green]healed, verified[/green]" if result.healed else f"[yellow]escalate[/yellow]: {result.reason}"
        table.add_row(
            result.scenario,
            result.error_type,
            result.playbook or "-",
            str(len(result.attempts)),
            outcome,
            actions or "-",
        )
    if not as_json:
        console.print(table)
        console.print(f"{healed}/{len(loaded)} healed")


_ACTIONS = {"cluster_starts", "cluster_restarts", "cluster_resizes", "repairs", "recovery_runs"}


@app.command()
def demo(
    no_wait: Annotated[bool, typer.Option("--no-wait", help="exit when the table is printed")] = False,
    workdir: Annotated[Path, typer.Option(help="where the demo keeps its Prefect server and store")] = Path(
        ".autoheal"
    ),
) -> None:
    """The main job on embedded defaults: bundled alerts over HTTP -> event -> automation -> flow runs."""
    from autoheal.app.demo import Outside, demo_stack, run_demo
    from autoheal.app.stack import StackError
    from flows.prefect_server import PrefectServerError
    from flows.report import request_report

    _stop_on_sigterm()

    console.print(
        "Starting Prefect (unless PREFECT_API_URL is set), the sandbox, the served deployments and the receiver, "
        "and local stand-ins for a webhook, Jira and a Logic App ..."
    )
    outside = Outside()
    stack = demo_stack(workdir, outside.start(workdir))
    try:
        stack.start()
        assert stack.sandbox is not None and stack.sandbox.endpoints is not None
        outside.logic_app.sandbox = stack.sandbox.endpoints  # the Logic App calls the sandbox's REST API
        console.print(f"Receiver at {stack.receiver_url}; Prefect UI at {stack.ui_url}")
        rows = run_demo(stack)
        # Readable at 80 columns: no vertical rules, whole error types, the rest folds at word ends.
        table = Table(title="autoheal demo: alerts -> receiver -> event -> flow run", box=box.SIMPLE_HEAD)
        table.add_column("#", justify="right", no_wrap=True)
        table.add_column("alert", ratio=2)
        table.add_column("error type", min_width=29, no_wrap=True)
        table.add_column("outcome", ratio=3)
        for row in rows:
            name = row.alert.removesuffix(".json").replace("_", " ")
            table.add_row(str(row.incident_id or "-"), escape(name), row.error_type or "-", escape(row.said()))
        console.print(table)
        received = Table(title="what people got (local stand-ins)", box=box.SIMPLE_HEAD)
        received.add_column("where", no_wrap=True)
        received.add_column("what")
        for where, what in outside.received():
            received.add_row(escape(where), escape(what))
        console.print(received)
        console.print(
            f"report flow run: {request_report(stack.api_url, 24)} (artifacts autoheal-report, autoheal-report-table)"
        )
        console.print(f"Prefect UI: {stack.ui_url}  (flow runs, retries, tags, an incident report artifact per run)")
        store_env = f"AUTOHEAL_DATABASE_URL=sqlite:///{(workdir / 'demo.db').resolve()}"
        console.print(f"Store: {workdir / 'demo.db'} ({store_env} autoheal incidents)")
        for row in rows:
            if row.outcome == "awaiting-approval":
                console.print(
                    f"Incident {row.incident_id} waits for a person: approve it with\n"
                    f"  {store_env} PREFECT_API_URL={stack.api_url} autoheal approve {row.incident_id} --by $USER\n"
                    f"or with the form on its run's page in the Prefect UI ({stack.ui_url}/runs)."
                )
        if not no_wait:
            console.print("Everything stays up until Ctrl-C.")
            with contextlib.suppress(KeyboardInterrupt):
                threading.Event().wait()
    except KeyboardInterrupt:
        console.print("Stopping ...")
    except (PrefectServerError, StackError, TimeoutError) as exc:
        raise _fail(str(exc)) from exc
    finally:
        stack.stop()
        outside.stop()


@app.command()
def serve(
    insecure: Annotated[bool, typer.Option(help="allow no AUTOHEAL_WEBHOOK_TOKEN (loopback only)")] = False,
) -> None:
    """The webhook receiver alone (POST /alerts/azure-monitor, /alerts/databricks; GET /healthz)."""
    import uvicorn

    from autoheal.app.receiver import build_receiver
    from autoheal.services import get_store
    from autoheal.settings import get_settings

    settings = get_settings()
    _check_receiver_security(settings.webhook_token is not None, settings.receiver_host, insecure)
    api_url = os.environ.get("PREFECT_API_URL")
    if not api_url:
        err.print("[yellow]PREFECT_API_URL is not set: alerts are stored and wait in the outbox[/yellow]")
    app_ = build_receiver(settings, get_store(), prefect_api_url=api_url)
    # No access log: Azure action groups put the token in the query string. Keep-alive longer than the
    # usual 60 s of load balancers and clients: with uvicorn's 5 s, a sender reusing a connection the
    # server was closing got a dropped request under load (seen in bench/webhooks.py).
    uvicorn.run(
        app_,
        host=settings.receiver_host,
        port=settings.receiver_port,
        access_log=False,
        log_level="info",
        timeout_keep_alive=75,
    )


def _check_receiver_security(has_token: bool, host: str, insecure: bool) -> None:
    if has_token:
        return
    if not insecure:
        raise _fail(
            "AUTOHEAL_WEBHOOK_TOKEN is not set: anyone could post alerts. Set it, or pass --insecure "
            "to run without one on loopback."
        )
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise _fail(f"--insecure binds to loopback only, not {host}")


@app.command()
def up(
    with_sandbox: Annotated[
        bool, typer.Option("--sandbox", help="also run the sandbox and point autoheal at it")
    ] = False,
    scenario: Annotated[str, typer.Option(help="the sandbox's scenario")] = "demo",
    insecure: Annotated[bool, typer.Option(help="allow no AUTOHEAL_WEBHOOK_TOKEN (loopback only)")] = False,
    workdir: Annotated[Path, typer.Option()] = Path(".autoheal"),
) -> None:
    """Everything one machine needs, in the foreground: Prefect server (unless PREFECT_API_URL is set),
    the receiver, the served deployments, and the sandbox with --sandbox. Ctrl-C stops it all."""
    from autoheal.app.stack import Stack, StackError
    from autoheal.settings import get_settings
    from sandbox.scenario import ScenarioError, load_scenario

    _stop_on_sigterm()
    settings = get_settings()
    _check_receiver_security(settings.webhook_token is not None or with_sandbox, settings.receiver_host, insecure)
    try:
        world = load_scenario(scenario) if with_sandbox else None
    except ScenarioError as exc:
        raise _fail(str(exc)) from exc
    stack = Stack(workdir, scenario=world)
    try:
        stack.start()
        console.print(f"Prefect UI   {stack.ui_url}")
        console.print(f"Receiver     {stack.receiver_url}/alerts/azure-monitor and /alerts/databricks")
        if stack.sandbox is not None:
            exports = stack.sandbox.exports()
            console.print("Sandbox      " + " ".join(f"{k}={v}" for k, v in exports.items() if "TOKEN" not in k))
            console.print("Webhook token: in AUTOHEAL_WEBHOOK_TOKEN of this process (set it yourself to choose one)")
        console.print("Ctrl-C stops everything.")
        threading.Event().wait()
    except KeyboardInterrupt:
        console.print("Stopping ...")
    except StackError as exc:
        raise _fail(str(exc)) from exc
    finally:
        stack.stop()


@app.command()
def rerun(
    incident_id: Annotated[int, typer.Argument(help="the incident whose stored alert to run again")],
    by: Annotated[str | None, typer.Option(help="who asks (default: $USER)")] = None,
    wait: Annotated[bool, typer.Option(help="run here and wait, instead of through the deployment")] = False,
    force: Annotated[
        bool, typer.Option(help="take over an open or remediating incident whose flow run is gone, unasked")
    ] = False,
) -> None:
    """Start a new flow run for a stored alert. It bypasses deduplication on purpose."""
    import asyncio
    import getpass

    from autoheal.intake.outbox import alert_of
    from autoheal.services import get_store

    store = get_store()
    incident = store.get(incident_id)
    if incident is None:
        raise _fail(f"no incident {incident_id} in {store.describe()}")
    requester = by or os.environ.get("USER") or getpass.getuser()
    alert = alert_of(incident)
    console.print(
        f"[bold]Manual re-run of incident {incident_id}[/bold] ({incident.status}), asked by {requester}. "
        "This bypasses deduplication: the stored alert is claimed again with a fresh attempt budget."
    )
    from flows.rerun import prefect_configured, request_rerun, rerun_here, stranded_by

    try:
        stranded = stranded_by(incident, force=force)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    if stranded is not None:
        console.print(f"It takes over from flow run {stranded or '-'}, which left it {incident.status}.")
    if wait or not prefect_configured():
        if not wait:
            console.print("PREFECT_API_URL is not set: the flow runs here, in this process.")
        print(asyncio.run(rerun_here(alert, requested_by=requester, stranded=stranded)).model_dump_json())
        return
    name, run_id = request_rerun(alert, requested_by=requester, stranded=stranded)
    console.print(f"flow run {name} ({run_id}) scheduled on the remediate deployment")


@app.command()
def run(file: Annotated[Path, typer.Argument(help="a payload as a sender would post it (JSON)")]) -> None:
    """Process one payload now, through the remediate flow."""
    import asyncio

    from autoheal.domain.values import Remediation
    from autoheal.intake.payloads import accept
    from autoheal.services import get_store
    from flows.remediate import run_remediate

    try:
        body = file.read_bytes()
    except OSError as exc:
        raise _fail(f"{file}: {exc.strerror}") from exc
    intake = accept(body, source=f"file:{file.name}", store=get_store())
    if intake.status == "rejected":
        raise _fail(f"{file}: rejected ({intake.reason}); kept as rejected payload {intake.record_id}")
    if intake.status == "ignored":
        console.print(f"recorded, not acted on: {intake.reason}")
        return

    async def go() -> list[Remediation]:
        return [await run_remediate(a, raw=intake.payload) for a in intake.alerts]

    for result in asyncio.run(go()):
        print(result.model_dump_json())


# The commands that read, defined in views.py; the rails' commands, in operations.py.
_COMMANDS: list[Callable[..., None]] = [views.incidents, views.show, views.stats, views.classify, views.config]
_COMMANDS += [views.report, operations.approve, operations.reject, operations.status, operations.replay]
for _command in _COMMANDS:
    app.command()(_command)
app.add_typer(operations.breaker_app, name="breaker")


if __name__ == "__main__":
    app()
