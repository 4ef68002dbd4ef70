"""The rails' commands (registered in cli.py): approve, reject, breaker, status, replay."""

from __future__ import annotations

import getpass
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from autoheal.app.console import console, fail

breaker_app = typer.Typer(help="The global circuit breaker: status and reset.", no_args_is_help=True)


def _person(by: str | None) -> str:
    return by or os.environ.get("USER") or getpass.getuser()


def _answer(incident_id: int, approve: bool, by: str | None, comment: str) -> None:
    from autoheal.domain.values import Answer, IncidentStatus
    from autoheal.services import get_policy, get_store
    from autoheal.store.database import aware
    from flows.approval import answer

    store, policy, person = get_store(), get_policy(), _person(by)
    incident = store.get(incident_id)
    if incident is None:
        raise fail(f"no incident {incident_id} in {store.describe()}")
    if incident.status != IncidentStatus.AWAITING_APPROVAL or not incident.flow_run_id:
        raise fail(f"incident {incident_id} is not waiting for approval (it is {incident.status}); nothing was done")
    deadline = aware(incident.approval_deadline)
    if deadline is not None and deadline <= datetime.now(UTC):
        raise fail(f"incident {incident_id}: the request for approval expired at {deadline.isoformat()}")
    if policy.approval.approvers and person not in policy.approval.approvers:
        store.record_approval(incident_id, decision="refused", by=person, comment=comment, via="cli")
        raise fail(f"{person} is not among the approvers in {policy.source}; refused and recorded")
    answer(incident.flow_run_id, Answer(approve=approve, by=person, comment=comment))
    verb = "approved" if approve else "rejected"
    console.print(f"incident {incident_id} {verb} by {person}; its flow run {incident.flow_run_id} goes on")


def approve(
    incident_id: Annotated[int, typer.Argument(help="the incident waiting for approval")],
    by: Annotated[str | None, typer.Option(help="who approves (default: $USER)")] = None,
    comment: Annotated[str, typer.Option(help="why, for the audit trail")] = "",
) -> None:
    """Let a waiting remediation act (what the form on its Prefect run page does)."""
    _answer(incident_id, True, by, comment)


def reject(
    incident_id: Annotated[int, typer.Argument(help="the incident waiting for approval")],
    by: Annotated[str | None, typer.Option(help="who rejects (default: $USER)")] = None,
    comment: Annotated[str, typer.Option(help="why, for the audit trail")] = "",
) -> None:
    """Refuse a waiting remediation: the incident escalates."""
    _answer(incident_id, False, by, comment)


@breaker_app.command("status")
def breaker_status() -> None:
    """Open or closed, and why."""
    from autoheal.services import get_policy, get_store

    state = get_store().breaker(get_policy())
    console.print(
        f"breaker {'[red]OPEN[/red]' if state.open else 'closed'}"
        + (f": {state.reason} (since {state.tripped_at:%Y-%m-%d %H:%M})" if state.open and state.tripped_at else "")
    )


@breaker_app.command("reset")
def breaker_reset(by: Annotated[str | None, typer.Option(help="who resets it (recorded)")] = None) -> None:
    """Close the breaker: remediations may act again."""
    from autoheal.services import get_store

    state = get_store().reset_breaker(by=_person(by))
    console.print(f"breaker closed, {state.reason}")


def status(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """The rails at a glance: the breaker, incidents waiting for approval, and the mode."""
    from autoheal.services import get_policy, get_store
    from autoheal.settings import get_settings

    store, policy = get_store(), get_policy()
    state = store.breaker(policy)
    waiting = store.waiting_approval()
    if as_json:
        body = {
            "mode": get_settings().mode,
            "breaker": state.model_dump(mode="json"),
            "awaiting_approval": [
                {"incident": i.id, "resource": i.resource, "until": str(i.approval_deadline)} for i in waiting
            ],
            "policy": policy.source,
        }
        print(json.dumps(body))
        return
    console.print(f"mode {get_settings().mode}; policy {policy.source}")
    console.print(f"breaker {'OPEN: ' + (state.reason or '') if state.open else 'closed'}")
    console.print(f"{len(waiting)} incident(s) waiting for approval")
    for incident in waiting:
        console.print(
            f"  {incident.id}  {incident.resource}  until {incident.approval_deadline}  autoheal approve {incident.id}"
        )


def _since(text: str) -> datetime:
    units = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
    if len(text) < 2 or text[-1] not in units or not text[:-1].isdigit():
        raise fail(f"--since {text!r}: expected a number and a unit, like 30m, 12h, 7d or 2w")
    return datetime.now(UTC) - timedelta(**{units[text[-1]]: int(text[:-1])})


def replay(
    since: Annotated[str, typer.Option(help="how far back: 30m, 12h, 7d, 2w")] = "7d",
    catalog: Annotated[Path | None, typer.Option(help="a candidate catalog (default: the current one)")] = None,
    policy: Annotated[Path | None, typer.Option(help="a candidate policy (default: the current one)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per changed incident")] = False,
) -> None:
    """Decide stored incidents again under the current or a candidate catalog and policy; act on nothing."""
    from autoheal.app.replay import replay as run
    from autoheal.domain.catalog import CatalogError, load_catalog
    from autoheal.domain.policy import PolicyError, load_policy
    from autoheal.services import get_store
    from autoheal.settings import get_settings

    settings = get_settings()
    try:
        chosen_catalog = load_catalog(catalog or settings.catalog_file)
        chosen_policy = load_policy(policy or settings.policy_file)
    except (CatalogError, PolicyError) as exc:
        raise fail(str(exc)) from exc
    results = run(get_store(), since=_since(since), catalog=chosen_catalog, policy=chosen_policy)
    changed = [r for r in results if r.change != "same"]
    if as_json:
        for r in changed:
            print(r.model_dump_json())
        return
    console.print(f"{len(results)} incident(s) since {since} decided again: {len(changed)} change(s)")
    for change, title in (
        ("now-heals", "would now heal"),
        ("no-longer-heals", "would no longer heal"),
        ("now-asks", "would now ask for approval"),
        ("no-longer-asks", "would no longer ask"),
    ):
        rows = [r for r in changed if r.change == change]
        if not rows:
            continue
        table = Table(title=f"{title} ({len(rows)})")
        for column in ("incident", "resource", "before", "now", "why"):
            table.add_column(column, overflow="fold")
        for r in rows:
            table.add_row(str(r.incident_id), r.resource, f"{r.before} ({r.error_type_before})", r.after, r.reason)
        console.print(table)
