"""The commands that read: incidents, show, stats, classify and config (registered in cli.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from autoheal.app.console import console, fail
from autoheal.domain.values import IncidentStatus


def incidents(
    status: Annotated[IncidentStatus | None, typer.Option(help="only incidents with this status")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per incident")] = False,
) -> None:
    """List incidents."""
    from autoheal.services import get_store

    rows = get_store().incidents(status=status)
    if as_json:
        for i in rows:
            print(
                json.dumps(
                    {
                        "id": i.id,
                        "fingerprint": i.fingerprint,
                        "service": i.service,
                        "resource": i.resource,
                        "run_id": i.run_id,
                        "error_type": i.error_type,
                        "remediable": i.remediable,
                        "decision": i.decision,
                        "status": i.status,
                        "attempts": i.attempts,
                        "duplicates": i.duplicates,
                        "mttr_seconds": i.mttr_seconds,
                        "failed_at": i.failed_at.isoformat() if i.failed_at else None,
                    }
                )
            )
        return
    table = Table(title="incidents")
    for column in ("id", "service", "resource", "run", "error type", "decision", "status", "attempts", "MTTR"):
        table.add_column(column)
    for i in rows:
        table.add_row(
            str(i.id),
            i.service,
            i.resource,
            i.run_id or "-",
            i.error_type or "-",
            i.decision or "-",
            i.status,
            str(i.attempts),
            f"{i.mttr_seconds:.1f}s" if i.mttr_seconds is not None else "-",
        )
    console.print(table)


def show(incident_id: Annotated[int, typer.Argument(help="the incident's id")]) -> None:
    """Show one incident: alert, classification and why, decision, every attempt, outcome."""
    from rich.markdown import Markdown

    from autoheal.services import get_store
    from autoheal.store.report import incident_markdown

    store = get_store()
    incident = store.get(incident_id)
    if incident is None:
        raise fail(f"no incident {incident_id} in {store.describe()}")
    console.print(Markdown(incident_markdown(incident, store.attempts(incident_id))))


def stats(
    as_json: Annotated[bool, typer.Option("--json")] = False,
    by: Annotated[str, typer.Option(help="error_type or resource")] = "error_type",
) -> None:
    """Success rate, MTTR and re-fire rate (fixes that did not hold), by error type or by resource."""
    from autoheal.services import get_store

    if by not in ("error_type", "resource"):
        raise fail(f"--by {by!r}: expected error_type or resource")
    rows = get_store().stats(by=by)
    if as_json:
        print(json.dumps(rows))
        return
    table = Table(title=f"remediation by {by.replace('_', ' ')}")
    for column in (by.replace("_", " "), "incidents", "resolved", "escalated", "success", "re-fire", "MTTR mean"):
        table.add_column(column, overflow="fold")
    for r in rows:
        rate = f"{r['success_rate']:.0%}" if r["success_rate"] is not None else "-"
        refire = f"{r['refire_rate']:.0%}" if r["refire_rate"] is not None else "-"
        mean = f"{r['mttr_mean_seconds']:.1f}s" if r["mttr_mean_seconds"] is not None else "-"
        table.add_row(r["key"], str(r["incidents"]), str(r["resolved"]), str(r["escalated"]), rate, refire, mean)
    console.print(table)


def classify(
    message: Annotated[str | None, typer.Argument(help="the error message (or use --file / --jsonl)")] = None,
    service: Annotated[str | None, typer.Option(help="adf or databricks")] = None,
    code: Annotated[str | None, typer.Option(help="the service's error code")] = None,
    file: Annotated[Path | None, typer.Option(help="read the message from a file")] = None,
    jsonl: Annotated[Path | None, typer.Option(help="lines of {id, service, error_code, message}")] = None,
    report: Annotated[bool, typer.Option(help="with --jsonl of labeled lines: print the scores only")] = False,
    provider: Annotated[
        str | None, typer.Option(help="also ask a model (openai, azure_openai, ollama), configured as for the flow")
    ] = None,
) -> None:
    """Classify error messages with the rules (and a model's analysis with --provider); --jsonl reads a file,
    --report scores it: rules alone, the model alone, and rules plus model, with the cost per call."""
    from autoheal.analysis.analyst import analyst_for, merge
    from autoheal.app.evaluation import Labeled, compare, print_comparison, read_labeled
    from autoheal.domain.catalog import CatalogError, load_catalog
    from autoheal.domain.classifier import RuleClassifier
    from autoheal.settings import get_settings

    settings = get_settings()
    try:
        catalog = load_catalog(settings.catalog_file)
        classifier = RuleClassifier(catalog)
        analyst = analyst_for(settings, catalog, provider or "none")
        if jsonl is not None:
            items = read_labeled(jsonl)
        else:
            if file is not None:
                message = file.read_text(encoding="utf-8")
            if not message:
                raise fail("give a message, --file FILE or --jsonl FILE")
            items = [Labeled(message=message, service=service, error_code=code)]
        if report:
            print_comparison(console, compare(items, classifier, analyst, catalog), jsonl.name if jsonl else "")
            return
    except (CatalogError, ValueError) as exc:
        raise fail(str(exc)) from exc
    try:
        for item in items:
            result = classifier.classify_text(item.message, service=item.service, error_code=item.error_code)
            out: dict[str, Any] = {"id": item.id, **result.model_dump()}
            if analyst is not None:
                analysis = analyst.analyse(item.message, service=item.service, error_code=item.error_code, rules=result)
                verdict = merge(result, analysis, catalog)
                out |= {"decided_by": verdict.decided_by, "analysis": analysis.model_dump(mode="json")}
            print(json.dumps(out))
    finally:
        if analyst is not None:
            analyst.close()


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
