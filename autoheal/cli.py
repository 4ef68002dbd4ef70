"""The ``autoheal`` command line: the one place that wires settings, sandbox, playbooks and Prefect."""

from __future__ import annotations

import contextlib
import json
import signal
import threading
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(
    help="Safe auto-remediation of transient ADF and Databricks failures.", no_args_is_help=True, add_completion=False
)
console = Console()
err = Console(stderr=True)


def _fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}")
    return typer.Exit(code=2)


@app.command()
def sandbox(
    scenario: Annotated[str | None, typer.Option(help="scenario file (YAML/JSON) or bundled scenario name")] = None,
    host: Annotated[str, typer.Option(help="address to bind; keep it on loopback")] = "127.0.0.1",
    http_port: Annotated[int, typer.Option(help="Databricks API port (0 = any free port)")] = 0,
    https_port: Annotated[int, typer.Option(help="ADF management API port (0 = any free port)")] = 0,
    list_scenarios: Annotated[bool, typer.Option("--list", help="list the bundled scenarios and exit")] = False,
) -> None:
    """Run the local Databricks + ADF emulator and print what to export to use it."""
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
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()


@app.command()
def rehearse(
    scenarios: Annotated[list[str] | None, typer.Argument(help="scenario files or bundled names")] = None,
    all_scenarios: Annotated[bool, typer.Option("--all", help="every bundled scenario")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per scenario")] = False,
) -> None:
    """Rehearse the catalog's playbook for each scenario's failure against the sandbox."""
    from autoheal.catalog import CatalogError, load_catalog
    from autoheal.rehearsal import rehearse as run
    from autoheal.settings import get_settings
    from sandbox.scenario import ScenarioError, bundled_scenarios, load_scenario

    names = list(scenarios or [])
    if all_scenarios:
        names = bundled_scenarios()
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
def demo(args: Annotated[list[str] | None, typer.Argument(hidden=True)] = None) -> None:
    """Rehearse every bundled scenario (the full Prefect demo arrives with the remediate flow)."""
    rehearse(scenarios=None, all_scenarios=True, as_json=False)


@app.command()
def config(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Print the effective configuration, secrets masked."""
    from autoheal.settings import get_settings

    values: dict[str, Any] = json.loads(get_settings().model_dump_json())  # SecretStr dumps as '**********'
    if as_json:
        print(json.dumps(values, indent=2))
        return
    table = Table(title="autoheal configuration")
    table.add_column("setting")
    table.add_column("value")
    for key, value in values.items():
        table.add_row(f"AUTOHEAL_{key.upper()}", json.dumps(value) if not isinstance(value, str) else value)
    console.print(table)


if __name__ == "__main__":
    app()
