"""Tasks that open, classify, decide and close an incident in the store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from autoheal.analysis.analyst import Analysis, analyst_for, merge
from autoheal.cloud.enrichment import enrich, failed_runs_behind
from autoheal.domain.alerts import Alert
from autoheal.domain.classification import Classification
from autoheal.domain.decision import Decision, Rails, decide
from autoheal.domain.outcome import Outcome, PlaybookFailure
from autoheal.domain.policy import resource_keys
from autoheal.domain.redaction import redact, redacted_dump
from autoheal.domain.values import Facts, IncidentStatus, Target
from autoheal.services import get_catalog, get_classifier, get_policy, get_store
from autoheal.settings import get_settings
from autoheal.store.store import aware
from autoheal.store.tables import IncidentChange


@task(name="open-incident", cache_policy=NO_CACHE)
def open_incident(
    alert: Alert,
    raw: dict[str, Any] | None,
    flow_run_id: str | None,
    force: bool = False,
    stranded_by: str | None = None,
) -> tuple[int, bool]:
    """(incident id, claimed). Idempotent on the alert's fingerprint: one flow run claims an incident;
    ``stranded_by``: a dead flow run whose incident this one takes over (flows/reconcile.py)."""
    incident, claimed = get_store().claim(alert, raw=raw, flow_run_id=flow_run_id, force=force, stranded_by=stranded_by)
    assert incident.id is not None
    get_run_logger().info(
        "claimed incident %s for %s %s run %s"
        if claimed
        else "incident %s (%s %s run %s) is handled by another run: joined as a duplicate",
        incident.id,
        alert.service,
        alert.resource,
        alert.run_id or "(to look up)",
    )
    return incident.id, claimed


@task(name="expand-metric-alert", cache_policy=NO_CACHE)
def expand(alert: Alert) -> list[Alert]:
    found = failed_runs_behind(alert, get_settings())
    get_run_logger().info(
        "metric alert on %s: found %s failed run(s): %s",
        alert.resource,
        len(found),
        ", ".join(a.run_id or "?" for a in found),
    )
    return found


@task(name="enrich", cache_policy=NO_CACHE)
def enrich_incident(incident_id: int, alert: Alert) -> Facts:
    try:
        facts = enrich(alert, get_settings())
    except PlaybookFailure as exc:
        # Without the service's view we still classify what the alert said.
        get_store().update(incident_id, IncidentChange(outcome=f"enrichment failed: {exc.reason}"))
        target = Target(
            service=alert.service,
            run_id=alert.run_id or "",
            resource_group=alert.resource_group,
            factory=alert.factory,
            pipeline=alert.pipeline,
            cluster_id=alert.cluster_id,
        )
        facts = Facts(
            target=target,
            lineage=f"{alert.service}:{alert.resource}:{alert.run_key}".lower(),
            error_code=alert.error_code,
            error_message=alert.error_message,
            failed_at=alert.failed_at,
        )
    get_store().update(
        incident_id,
        IncidentChange(
            lineage=facts.lineage, error_code=facts.error_code, message=facts.error_message, failed_at=facts.failed_at
        ),
    )
    signals = [
        f"{name} {value}"
        for name, value in (
            ("error code", facts.error_code),
            ("run state", facts.run_state),
            ("cluster termination", facts.termination_code),
            ("run termination", facts.run_termination_code),
            ("activity type", facts.activity_type),
        )
        if value
    ]
    get_run_logger().info(
        "read %s run %s: %s; message: %s",
        alert.service,
        facts.target.run_id or "-",
        ", ".join(signals) or "no structured signal",
        redact((facts.error_message or "-")[:200]),
    )
    return facts


@task(name="classify", cache_policy=NO_CACHE)
def classify_incident(incident_id: int, facts: Facts, service: str) -> Classification:
    result = get_classifier().classify(facts)
    get_store().update(
        incident_id,
        IncidentChange(
            error_type=result.error_type,
            remediable=result.remediable,
            classifier=result.classifier,
            rule=result.rule,
            confidence=result.confidence,
        ),
    )
    get_run_logger().info(
        "classified %s by rule %s (%s, confidence %.2f; %s)",
        result.error_type,
        result.rule or "-",
        result.classifier,
        result.confidence or 0.0,
        "remediable" if result.remediable else "not remediable",
    )
    return result


@task(name="analyze", cache_policy=NO_CACHE)
def analyze_incident(incident_id: int, facts: Facts, classification: Classification, service: str) -> Analysis | None:
    """The model's root cause and next steps (redacted, bounded); None when none is configured. A
    provider that is misconfigured or failing leaves the rules alone, with the reason recorded."""
    settings = get_settings()
    try:
        analyst = analyst_for(settings, get_catalog())
    except ValueError as exc:
        analysis = Analysis(provider=settings.ai_provider, model=settings.ai_model or "-", error=f"{exc}; rules only")
    else:
        if analyst is None:
            return None
        with analyst:
            try:
                analysis = analyst.analyse(
                    facts.error_message or "",
                    service=service,
                    error_code=facts.error_code,
                    rules=classification,
                    facts=facts,
                )
            except Exception as exc:  # the analyst must never stop a remediation the rules decide on
                reason = f"the analysis failed ({type(exc).__name__}: {exc}); rules only"
                analysis = Analysis(provider=analyst.provider.name, model=analyst.provider.model, error=reason)
    get_store().update(incident_id, IncidentChange(analysis=redacted_dump(analysis.model_dump(mode="json"))))
    return analysis


@task(name="decide", cache_policy=NO_CACHE)
def decide_incident(
    incident_id: int,
    classification: Classification,
    facts: Facts,
    service: str,
    fresh_budget: bool = False,
    analysis: Analysis | None = None,
) -> Decision:
    """The rules' classification decides; a model's analysis only adds a suggestion where the rules recognised
    nothing."""
    store, settings, policy = get_store(), get_settings(), get_policy()
    other = store.open_in_lineage(facts.lineage, exclude=incident_id)
    verdict = merge(classification, analysis, get_catalog())
    incident = store.get(incident_id)
    assert incident is not None
    kind = verdict.suggested_type or verdict.classification.error_type
    breaker = store.breaker(policy)
    rails = Rails(
        breaker_open=breaker.reason if breaker.open else None,
        resource_actions=store.actions_on(
            incident.resource, since=datetime.now(UTC) - timedelta(hours=policy.budget.window_hours)
        ),
        recurrences=store.recurrence(
            incident_id, resource=incident.resource, error_type=kind, lineage=facts.lineage, policy=policy
        ),
    )
    decision = decide(
        mode=settings.mode,
        classification=verdict.classification,
        service=service,
        catalog=get_catalog(),
        attempts_spent=0 if fresh_budget else store.attempts_spent(facts.lineage),
        joined=other.id if other else None,
        delay_scale=settings.delay_scale,
        policy=policy,
        rails=rails,
        resource_keys=resource_keys(facts),
        suggested=verdict.suggested_type,
    )
    get_run_logger().info("decided %s: %s", decision.action, decision.reason)
    if verdict.suggestion:
        decision = decision.model_copy(update={"reason": f"{decision.reason}; {verdict.suggestion}"})
    store.update(
        incident_id,
        IncidentChange(
            decision=decision.action,
            decision_reason=decision.reason,
            playbook=decision.playbook,
            decided_by=verdict.decided_by,
        ),
    )
    get_run_logger().info(
        "decided %s%s: %s", decision.action, f" with {decision.playbook}" if decision.playbook else "", decision.reason
    )
    return decision


@task(name="close", cache_policy=NO_CACHE)
def close_incident(incident_id: int, decision: Decision, outcome: Outcome | None, error: str | None) -> IncidentStatus:
    """Resolve (with MTTR) or escalate; returns the final status."""
    store = get_store()
    incident = store.get(incident_id)
    assert incident is not None
    now = datetime.now(UTC)
    if decision.action == "skip":
        status = IncidentStatus.DRY_RUN if decision.dry_run else IncidentStatus.SKIPPED
        text = decision.reason
    elif decision.action == "escalate":
        status, text = IncidentStatus.ESCALATED, decision.reason
    elif outcome is not None and outcome.verified:
        failed_at = aware(incident.failed_at)
        store.update(
            incident_id,
            IncidentChange(
                status=IncidentStatus.RESOLVED,
                resolved_at=now,
                mttr_seconds=(now - failed_at).total_seconds() if failed_at else None,
                outcome=f"healed and verified: {outcome.action} {outcome.created_ids}",
            ),
        )
        mttr = f" (MTTR {(now - failed_at).total_seconds():.0f} s)" if failed_at else ""
        get_run_logger().info("resolved incident %s: %s verified%s", incident_id, outcome.action, mttr)
        return IncidentStatus.RESOLVED
    else:
        unverified = outcome.detail if outcome is not None and outcome.detail else "not verified"
        status, text = IncidentStatus.ESCALATED, f"remediation failed: {error or unverified}"
    store.update(incident_id, IncidentChange(status=status, outcome=text))
    get_run_logger().info("%s incident %s: %s", status.value, incident_id, text)
    return status
