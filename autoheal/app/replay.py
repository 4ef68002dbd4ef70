"""Replay (shadow): stored incidents decided again under the current or a candidate classifier,
catalog and policy. It acts on nothing; it says what would change. This is how a team tunes before
switching anything on, and how a classifier change is judged on real history.

The rails that depend on the moment (the breaker, the budget's window, recurrence) are not replayed:
they guard the night they happened on, not a candidate policy. Mode is taken as ``on``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from autoheal.domain.catalog import Catalog
from autoheal.domain.classifier import RuleClassifier
from autoheal.domain.decision import decide
from autoheal.domain.policy import Policy, resource_keys
from autoheal.domain.values import Facts, Target
from autoheal.store.database import aware
from autoheal.store.store import Store
from autoheal.store.tables import Incident

Change = Literal["now-heals", "no-longer-heals", "now-asks", "no-longer-asks", "same"]


class Replayed(BaseModel):
    incident_id: int
    service: str
    resource: str
    before: str | None  # the stored decision
    after: str  # the decision now
    error_type_before: str | None
    error_type_after: str
    change: Change
    reason: str


def replay(store: Store, *, since: datetime, catalog: Catalog, policy: Policy) -> list[Replayed]:
    classifier = RuleClassifier(catalog)
    out = []
    for incident in store.incidents(limit=1_000_000):
        received = aware(incident.received_at)
        if received is None or received < since or incident.decision is None or incident.status == "expanded":
            continue
        facts = _facts(incident)
        classification = classifier.classify(facts)
        decision = decide(
            mode="on",
            classification=classification,
            service=incident.service,
            catalog=catalog,
            attempts_spent=0,
            policy=policy,
            resource_keys=resource_keys(facts),
        )
        out.append(
            Replayed(
                incident_id=int(incident.id or 0),
                service=incident.service,
                resource=incident.resource,
                before=incident.decision,
                after=decision.action,
                error_type_before=incident.error_type,
                error_type_after=classification.error_type,
                change=_change(incident.decision, decision.action),
                reason=decision.reason,
            )
        )
    return out


def _facts(incident: Incident) -> Facts:
    factory, _, pipeline = incident.resource.partition("/") if incident.service == "adf" else ("", "", "")
    job_id = incident.resource.removeprefix("jobs/") if incident.resource.startswith("jobs/") else None
    target = Target(
        service="adf" if incident.service == "adf" else "databricks",
        run_id=incident.run_id or "",
        factory=factory or None,
        pipeline=pipeline or None,
    )
    return Facts(
        target=target,
        lineage=incident.lineage or "",
        error_code=incident.error_code,
        error_message=incident.message,
        job_id=job_id,
    )


def _change(before: str | None, after: str) -> Change:
    if before == after:
        return "same"
    if after == "remediate":
        return "now-heals"
    if before == "remediate":
        return "no-longer-heals"
    if after == "approve-first":
        return "now-asks"
    if before == "approve-first":
        return "no-longer-asks"
    return "same"
