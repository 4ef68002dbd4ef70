"""The commands that read: incidents, show, stats, classify and config (registered in cli.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
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
    # Readable at 80 columns: no vertical rules; the resource and run fold, names stay whole.
    table = Table(title="incidents", title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("id", justify="right", no_wrap=True)
    table.add_column("what failed (service, resource, run)", overflow="fold", ratio=1)
    table.add_column("error type / outcome", no_wrap=True, min_width=29)
    for i in rows:
        outcome = [i.status, f"{i.attempts} {'try' if i.attempts == 1 else 'tries'}"]
        if i.mttr_seconds is not None:
            outcome.append(f"MTTR {i.mttr_seconds:.0f}s")
        if i.ticket_key:
            outcome.append(i.ticket_key)
        table.add_row(
            str(i.id),
            f"{i.service} {i.resource}\nrun {i.run_id or '-'}",
            f"{i.error_type or '-'}\n{', '.join(outcome)}",
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
    from autoheal.settings import get_settings
    from autoheal.store.notices import Notices
    from autoheal.store.report import links

    page = incident_markdown(
        incident,
        store.attempts(incident_id),
        links=links(incident, get_settings()),
        notifications=Notices(store).of_incident(incident_id),
    )
    console.print(Markdown(page))


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
    label = by.replace("_", " ")
    table = Table(title=f"remediation by {label}", title_justify="left", box=box.SIMPLE_HEAD)
    # Readable at 80 columns: the name folds rather than being cut to a few letters; short headers.
    table.add_column(label, overflow="fold", min_width=29)
    for column in ("n", "healed", "esc.", "rate", "re-fire", "MTTR"):
        table.add_column(column, justify="right", no_wrap=True)
    for r in rows:
        rate = f"{r['success_rate']:.0%}" if r["success_rate"] is not None else "-"
        refire = f"{r['refire_rate']:.0%}" if r["refire_rate"] is not None else "-"
        mean = f"{r['mttr_mean_seconds']:.1f}s" if r["mttr_mean_seconds"] is not None else "-"
        table.add_row(r["key"], str(r["incidents"]), str(r["resolved"]), str(r["escalated"]), rate, refire, mean)
    console.print(table)


def _window(text: str) -> float:
    """'7d', '36h', '90m' -> hours."""
    units = {"d": 24.0, "h": 1.0, "m": 1 / 60}
    try:
        return float(text[:-1]) * units[text[-1]] if text[-1] in units else float(text)
    except (ValueError, IndexError):
        raise fail(f"--since {text!r}: give a number and d, h or m (7d, 36h, 90m)") from None


def report(
    since: Annotated[str, typer.Option(help="the window: 7d, 36h, 90m")] = "7d",
    as_json: Annotated[bool, typer.Option("--json", help="the figures as one JSON object")] = False,
    publish: Annotated[
        bool, typer.Option(help="run the report flow, which also publishes the Prefect artifacts")
    ] = False,
) -> None:
    """How autoheal is doing: auto-heal rate, MTTR, actions per playbook, re-fires, escalations by class."""
    from datetime import timedelta

    from autoheal.services import get_store
    from autoheal.settings import get_settings
    from autoheal.store.figures import Figures, compute, rows

    hours = _window(since)
    if publish:
        import asyncio

        from flows.report import report as report_flow

        figures: Figures = asyncio.run(report_flow(since_hours=hours))
    else:
        figures = compute(
            get_store(), since=timedelta(hours=hours), minutes_per_heal=get_settings().report_minutes_per_heal
        )
    if as_json:
        print(figures.model_dump_json())
        return
    table = Table(title=f"autoheal, last {since}", title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("figure", no_wrap=True)
    table.add_column("value", no_wrap=True)
    table.add_column("note", overflow="fold")
    for r in rows(figures):
        table.add_row(r["figure"], r["value"], r["note"])
    console.print(table)
    if figures.playbooks:
        actions = Table(title="actions per playbook", title_justify="left", box=box.SIMPLE_HEAD)
        for column in ("playbook", "n", "healed", "failed", "unverified"):
            actions.add_column(column, no_wrap=True, justify="left" if column == "playbook" else "right")
        for p in figures.playbooks:
            failed = p.transient + p.permanent
            actions.add_row(p.playbook, str(p.attempts), str(p.healed), str(failed), str(p.unverified))
        console.print(actions)
    if figures.escalations_by_class:
        console.print("escalations by class: " + ", ".join(f"{k} {v}" for k, v in figures.escalations_by_class.items()))
    if figures.top_resources:
        console.print("top failing: " + ", ".join(f"{k} ({v})" for k, v in figures.top_resources))


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
    from autoheal.app.evaluation import Labeled, compare, print_comparison, read_labeled, read_lines
    from autoheal.domain.catalog import CatalogError, load_catalog
    from autoheal.domain.classifier import RuleClassifier
    from autoheal.domain.values import service_named
    from autoheal.settings import get_settings

    settings = get_settings()
    unread: list[str] = []  # lines of --jsonl that cannot be read: named on stderr, the others classified
    try:
        catalog = load_catalog(settings.catalog_file)
        classifier = RuleClassifier(catalog)
        analyst = analyst_for(settings, catalog, provider or "none")
        if jsonl is not None:
            items, unread = (read_labeled(jsonl), []) if report else read_lines(jsonl)
        else:
            if file is not None:
                try:
                    message = file.read_text(encoding="utf-8")
                except (OSError, UnicodeDecodeError) as exc:
                    raise fail(f"{file}: {exc}") from None
            if not message:
                raise fail("give a message, --file FILE or --jsonl FILE")
            named = service_named(service) if service else None
            items = [Labeled(message=message, service=named, error_code=code)]
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
    if unread:
        for line in unread:
            fail(line)
        raise fail(f"{len(unread)} of {len(unread) + len(items)} lines not classified (named above)")


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
