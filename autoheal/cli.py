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
def classify(
    message: Annotated[str | None, typer.Argument(help="the error message (or use --file / --jsonl)")] = None,
    service: Annotated[str | None, typer.Option(help="adf or databricks")] = None,
    code: Annotated[str | None, typer.Option(help="the service's error code")] = None,
    file: Annotated[Path | None, typer.Option(help="read the message from a file")] = None,
    jsonl: Annotated[Path | None, typer.Option(help="lines of {id, service, error_code, message}")] = None,
    report: Annotated[bool, typer.Option(help="with --jsonl of labeled lines: print the scores only")] = False,
) -> None:
    """Classify an error message with the rules; --jsonl classifies a file, one JSON object per line."""
    from autoheal.catalog import CatalogError, load_catalog
    from autoheal.classifier import RuleClassifier
    from autoheal.evaluation import score
    from autoheal.settings import get_settings

    try:
        classifier = RuleClassifier(load_catalog(get_settings().catalog_file))
    except CatalogError as exc:
        raise _fail(str(exc)) from exc
    if jsonl is None:
        if file is not None:
            message = file.read_text(encoding="utf-8")
        if not message:
            raise _fail("give a message, --file FILE or --jsonl FILE")
        print(classifier.classify(message, service=service, error_code=code).model_dump_json())
        return
    scored = []
    for number, line in enumerate(jsonl.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            text = str(item["message"])
        except (ValueError, KeyError, TypeError) as exc:
            raise _fail(f"{jsonl}, line {number}: expected a JSON object with a 'message': {exc}") from exc
        result = classifier.classify(text, service=item.get("service"), error_code=item.get("error_code"))
        if report:
            if "label" not in item or "remediable" not in item:
                raise _fail(f"{jsonl}, line {number}: --report needs 'label' and 'remediable' on every line")
            scored.append((item["label"], bool(item["remediable"]), result.error_type, result.remediable))
            continue
        out = {
            "id": item.get("id"),
            "error_type": result.error_type,
            "remediable": result.remediable,
            "confidence": result.confidence,
            "classifier": result.classifier,
            "rule": result.rule,
        }
        print(json.dumps(out))
    if report:
        scores = score(scored)
        table = Table(title=f"Rule classifier on {jsonl.name}")
        table.add_column("metric")
        table.add_column("value", justify="right")
        table.add_row("messages", str(scores.n))
        table.add_row("exact-label accuracy", f"{scores.accuracy:.3f}")
        table.add_row("macro-F1", f"{scores.macro_f1:.3f}")
        table.add_row("remediable precision", f"{scores.remediable_precision:.3f}")
        table.add_row("remediable recall", f"{scores.remediable_recall:.3f}")
        table.add_row("false 'remediable'", str(scores.false_remediable))
        table.add_row("missed remediable", str(scores.missed_remediable))
        console.print(table)


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
