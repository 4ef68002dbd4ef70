"""The store: incidents, attempts, rejected and ignored payloads, on SQLite (default) or PostgreSQL.

Every write is its own short transaction; opening an incident is idempotent on the fingerprint,
also under concurrent writers (the unique constraint decides, and the loser joins).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from autoheal.domain.alerts import Alert
from autoheal.domain.redaction import redact, redacted_dump
from autoheal.domain.values import IN_PROGRESS, IncidentStatus
from autoheal.store.database import StoreError, aware, normalize_url
from autoheal.store.messages import class_named
from autoheal.store.rails import RailsStore
from autoheal.store.tables import IgnoredAlert, Incident, IncidentChange, RejectedPayload, RemediationAttempt, utcnow

__all__ = ["Store", "StoreError", "aware", "normalize_url"]


def _new_incident(alert: Alert, *, raw: Any, status: IncidentStatus, flow_run_id: str | None = None) -> Incident:
    return Incident(
        status=status,
        fingerprint=alert.fingerprint,
        service=alert.service,
        resource=alert.resource,
        run_id=alert.run_id,
        source=alert.source,
        error_code=alert.error_code,
        message=redact(alert.error_message),
        failed_at=alert.failed_at or alert.fired_at,
        flow_run_id=flow_run_id,
        alert_json=redacted_dump(alert.model_dump(mode="json")),
        raw_payload=redacted_dump(raw) if raw is not None else None,
    )


class Store(RailsStore):
    """The audit trail: incidents, attempts, the outbox, and payloads not acted on."""

    # ---- incidents ----------------------------------------------------------------------------

    def receive(self, alert: Alert, *, raw: Any = None) -> tuple[Incident, bool]:
        """The receiver's write: (incident, created) with status "received" until a flow run claims it."""
        return self.open_incident(alert, raw=raw, status=IncidentStatus.RECEIVED)

    def receive_many(self, items: list[tuple[Alert, Any]]) -> list[tuple[int, bool]]:
        """:meth:`receive` for a batch in one transaction (the receiver's group commit): one query for
        the fingerprints already stored, the new incidents, one increment per fingerprint joined.
        Returns (incident id, created) per item, in order; a later item with an earlier item's
        fingerprint joins it. If another writer stored one of these fingerprints meanwhile, the
        batch is rolled back and done one alert at a time, where the unique constraint decides."""
        try:
            with self.session() as session:
                fingerprints = {alert.fingerprint for alert, _ in items}
                rows = {
                    row.fingerprint: row
                    for row in session.exec(select(Incident).where(col(Incident.fingerprint).in_(fingerprints)))
                }
                placed: list[tuple[Incident, bool]] = []
                joined: dict[str, int] = {}
                for alert, raw in items:
                    row = rows.get(alert.fingerprint)
                    if row is None:
                        row = rows[alert.fingerprint] = _new_incident(alert, raw=raw, status=IncidentStatus.RECEIVED)
                        session.add(row)
                        placed.append((row, True))
                    else:
                        joined[alert.fingerprint] = joined.get(alert.fingerprint, 0) + 1
                        placed.append((row, False))
                session.flush()
                for fingerprint, count in joined.items():
                    session.execute(
                        update(Incident)
                        .where(col(Incident.fingerprint) == fingerprint)
                        .values(duplicates=Incident.duplicates + count, updated_at=utcnow())
                    )
                session.commit()
                return [(int(row.id or 0), created) for row, created in placed]
        except IntegrityError:
            one_by_one = [self.receive(alert, raw=raw) for alert, raw in items]
            return [(int(incident.id or 0), created) for incident, created in one_by_one]

    def claim(
        self,
        alert: Alert,
        *,
        raw: Any = None,
        flow_run_id: str | None = None,
        force: bool = False,
        stranded_by: str | None = None,
    ) -> tuple[Incident, bool]:
        """The flow's write: (incident, claimed). Exactly one flow run claims an incident; ``force``
        (a manual re-run) claims it again once it is no longer being worked on.

        ``stranded_by`` names a flow run its caller saw dead (crashed, cancelled, gone): an incident
        that run left open or remediating is claimed from it, atomically (compare-and-set on the
        run id, so of a reconciler and a person only one wins), and that run's unfinished attempts
        are closed as crashed. The playbooks' ensure semantics then see what it already did."""
        incident, created = self.open_incident(alert, raw=raw, flow_run_id=flow_run_id, count_duplicate=False)
        if created:
            return incident, True
        if flow_run_id and incident.flow_run_id == flow_run_id and incident.status in IN_PROGRESS:
            return incident, True  # the same flow run again (resumed after an approval): it keeps its claim
        status = col(Incident.status)
        allowed = status.notin_(IN_PROGRESS) if force else status == IncidentStatus.RECEIVED
        if stranded_by is not None:
            allowed = or_(allowed, and_(status.in_(IN_PROGRESS), col(Incident.flow_run_id) == stranded_by))
        with self.session() as session:
            result = session.execute(
                update(Incident)
                .where(col(Incident.id) == incident.id, allowed)
                .values(status=IncidentStatus.OPEN, flow_run_id=flow_run_id, updated_at=utcnow())
            )
            if result.rowcount == 1 and stranded_by is not None:  # type: ignore[attr-defined]
                session.execute(
                    update(RemediationAttempt)
                    .where(
                        col(RemediationAttempt.incident_id) == incident.id,
                        col(RemediationAttempt.outcome) == "running",
                    )
                    .values(outcome="crashed", ended_at=utcnow(), detail=json.dumps({"flow_run": stranded_by}))
                )
            session.commit()
        if result.rowcount == 1:  # type: ignore[attr-defined]
            fresh = self.get(int(incident.id or 0))
            assert fresh is not None
            return fresh, True
        return self._joined(incident), False

    def open_incident(
        self,
        alert: Alert,
        *,
        raw: Any = None,
        flow_run_id: str | None = None,
        status: IncidentStatus = IncidentStatus.OPEN,
        count_duplicate: bool = True,
    ) -> tuple[Incident, bool]:
        """(incident, created). A second alert with the same fingerprint joins the first incident."""
        existing = self.by_fingerprint(alert.fingerprint)
        if existing is not None:
            return (self._joined(existing) if count_duplicate else existing), False
        incident = _new_incident(alert, raw=raw, status=status, flow_run_id=flow_run_id)
        try:
            with self.session() as session:
                session.add(incident)
                session.commit()
                session.refresh(incident)
            return incident, True
        except IntegrityError:
            winner = self.by_fingerprint(alert.fingerprint)
            if winner is None:
                raise
            return (self._joined(winner) if count_duplicate else winner), False

    def _joined(self, incident: Incident) -> Incident:
        with self.session() as session:
            session.execute(  # one atomic increment, so concurrent duplicates are all counted
                update(Incident)
                .where(Incident.id == incident.id)  # type: ignore[arg-type]
                .values(duplicates=Incident.duplicates + 1, updated_at=utcnow())
            )
            session.commit()
            row = session.get(Incident, incident.id)
            assert row is not None
            session.refresh(row)
            return row

    def by_fingerprint(self, fingerprint: str) -> Incident | None:
        with self.session() as session:
            return session.exec(select(Incident).where(Incident.fingerprint == fingerprint)).first()

    def get(self, incident_id: int) -> Incident | None:
        with self.session() as session:
            return session.get(Incident, incident_id)

    def update(self, incident_id: int, change: IncidentChange) -> Incident:
        """Apply the fields ``change`` sets (and only those); the message is redacted."""
        with self.session() as session:
            row = session.get(Incident, incident_id)
            if row is None:
                raise KeyError(f"no incident {incident_id}")
            for key, value in change.model_dump(exclude_unset=True).items():
                setattr(row, key, redact(value) if key == "message" else value)
            row.updated_at = utcnow()
            session.add(row)
            session.commit()
            session.refresh(row)
            return row

    def open_in_lineage(self, lineage: str, *, exclude: int) -> Incident | None:
        """Another open incident for the same run or one of its reruns."""
        with self.session() as session:
            status = col(Incident.status)
            query = select(Incident).where(Incident.lineage == lineage, Incident.id != exclude, status.in_(IN_PROGRESS))
            return session.exec(query).first()

    def attempts_spent(self, lineage: str) -> int:
        """Attempts already made on this run and its reruns, across every alert about them."""
        with self.session() as session:
            query = (
                select(func.count())
                .select_from(RemediationAttempt)
                .join(Incident)
                .where(Incident.lineage == lineage, RemediationAttempt.outcome != "dry-run")
            )
            return int(session.exec(query).one())

    def incidents(self, *, status: IncidentStatus | None = None, limit: int = 1000) -> list[Incident]:
        with self.session() as session:
            query = select(Incident).order_by(Incident.id)  # type: ignore[arg-type]
            if status:
                query = query.where(Incident.status == status)
            return list(session.exec(query.limit(limit)))

    # ---- the reconciler: incidents nobody is finishing ---------------------------------------

    def stranded(self, *, idle_since: datetime, limit: int = 100) -> list[Incident]:
        """Incidents a flow run should be working on and none visibly is: received with the event sent
        (Prefect took it) but never claimed, or open or remediating, all unchanged since
        ``idle_since``. The reconciler asks Prefect whether their flow runs still live."""
        with self.session() as session:
            status = col(Incident.status)
            query = (
                select(Incident)
                .where(
                    col(Incident.updated_at) < idle_since,
                    or_(
                        status.in_(IN_PROGRESS),
                        and_(status == IncidentStatus.RECEIVED, col(Incident.event_sent_at).is_not(None)),
                    ),
                )
                .order_by(col(Incident.id))
                .limit(limit)
            )
            return list(session.exec(query))

    def note_recovery(self, incident_id: int, reason: str, *, escalate: bool = False) -> None:
        """Count one recovery of the incident, with why; ``escalate`` gives it to a person instead."""
        values: dict[str, Any] = {
            "recoveries": Incident.recoveries + 1,
            "last_recovery": redact(reason),
            "updated_at": utcnow(),
        }
        if escalate:
            values.update(status=IncidentStatus.ESCALATED, outcome=redact(reason))
        with self.session() as session:
            session.execute(update(Incident).where(col(Incident.id) == incident_id).values(**values))
            session.commit()

    # ---- the outbox: events that have not reached Prefect yet ---------------------------------

    def pending_events(self, *, limit: int = 100) -> list[Incident]:
        with self.session() as session:
            query = (
                select(Incident)
                .where(Incident.status == IncidentStatus.RECEIVED, col(Incident.event_sent_at).is_(None))
                .order_by(col(Incident.id))
                .limit(limit)
            )
            return list(session.exec(query))

    def mark_events(self, incident_ids: list[int], *, error: str | None) -> None:
        """Record one delivery attempt of these incidents' events: sent, or failed with ``error``."""
        with self.session() as session:
            values: dict[str, Any] = {"event_attempts": Incident.event_attempts + 1, "last_event_error": error}
            if error is None:
                values["event_sent_at"] = utcnow()
            session.execute(update(Incident).where(col(Incident.id).in_(incident_ids)).values(**values))
            session.commit()

    # ---- attempts -----------------------------------------------------------------------------

    def start_attempt(
        self,
        incident_id: int,
        *,
        number: int,
        playbook: str,
        flow_run_id: str | None = None,
        task_run_id: str | None = None,
        requested_by: str | None = None,
        approved_by: str | None = None,
        approval_comment: str | None = None,
    ) -> int:
        attempt = RemediationAttempt(
            incident_id=incident_id,
            number=number,
            playbook=playbook,
            flow_run_id=flow_run_id,
            task_run_id=task_run_id,
            requested_by=requested_by,
            approved_by=approved_by,
            approval_comment=redact(approval_comment) if approval_comment else None,
        )
        with self.session() as session:
            existing = session.exec(
                select(RemediationAttempt).where(
                    RemediationAttempt.incident_id == incident_id, RemediationAttempt.number == number
                )
            ).first()
            if existing is not None:  # a crashed attempt re-run by Prefect keeps its number
                return int(existing.id or 0)
            session.add(attempt)
            row = session.get(Incident, incident_id)
            if row is not None:
                row.attempts = max(row.attempts, number)
                row.status = IncidentStatus.REMEDIATING
                session.add(row)
            session.commit()
            session.refresh(attempt)
            return int(attempt.id or 0)

    def finish_attempt(
        self, attempt_id: int, *, outcome: str, verified: bool, created_ids: dict[str, str] | None, detail: Any
    ) -> None:
        with self.session() as session:
            row = session.get(RemediationAttempt, attempt_id)
            if row is None:
                raise KeyError(f"no attempt {attempt_id}")
            row.outcome, row.verified, row.ended_at = outcome, verified, utcnow()
            row.created_ids = json.dumps(created_ids or {}, sort_keys=True)
            row.detail = redacted_dump(detail)
            session.add(row)
            session.commit()

    def attempts(self, incident_id: int) -> list[RemediationAttempt]:
        with self.session() as session:
            query = select(RemediationAttempt).where(RemediationAttempt.incident_id == incident_id)
            return list(session.exec(query.order_by(RemediationAttempt.number)))  # type: ignore[arg-type]

    # ---- payloads we do not act on ------------------------------------------------------------

    def reject(self, *, source: str, reason: str, body: str | bytes, field: str | None = None) -> int:
        text_body = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
        try:
            kept = redacted_dump(json.loads(text_body))
        except (ValueError, RecursionError):  # not JSON, or nested too deep to walk: kept as redacted text
            kept = redact(text_body) or ""
        kept = kept.replace("\x00", "\ufffd")  # PostgreSQL's text holds no NUL (JSON escapes its own)
        return self._insert(RejectedPayload(source=source, reason=redact(reason) or "", body=kept, field=field))

    def rejected(self) -> list[RejectedPayload]:
        with self.session() as session:
            return list(session.exec(select(RejectedPayload).order_by(RejectedPayload.id)))  # type: ignore[arg-type]

    def ignore(self, *, shape: str, reason: str, alert: Alert, raw: Any = None) -> int:
        return self._insert(
            IgnoredAlert(
                shape=shape,
                reason=reason,
                alert_json=redacted_dump(alert.model_dump(mode="json")),
                raw_payload=redacted_dump(raw) if raw is not None else None,
            )
        )

    def _insert(self, row: RejectedPayload | IgnoredAlert) -> int:
        with self.session() as session:
            session.add(row)
            session.commit()
            session.refresh(row)
            return int(row.id or 0)

    def ignored(self) -> list[IgnoredAlert]:
        with self.session() as session:
            return list(session.exec(select(IgnoredAlert).order_by(IgnoredAlert.id)))  # type: ignore[arg-type]

    # ---- figures ------------------------------------------------------------------------------

    def stats(self, *, by: str = "error_type") -> list[dict[str, Any]]:
        """Per error type (or per resource): incidents, resolved, escalated, success rate, mean and median
        MTTR, and the re-fire rate: the share of verified fixes that did not hold (the same resource
        failed the same way within the recurrence window). Dry runs are never successes."""
        rows: dict[str, dict[str, Any]] = {}
        for incident in self.incidents(limit=1_000_000):
            key = (incident.resource if by == "resource" else class_named(incident)) or "(unclassified)"
            entry = rows.setdefault(
                key, {"key": key, "incidents": 0, "resolved": 0, "escalated": 0, "refired": 0, "mttrs": []}
            )
            entry["incidents"] += 1
            entry["resolved"] += incident.status == IncidentStatus.RESOLVED
            entry["escalated"] += incident.status == IncidentStatus.ESCALATED
            entry["refired"] += incident.status == IncidentStatus.RESOLVED and incident.fix_held is False
            if incident.mttr_seconds is not None:
                entry["mttrs"].append(incident.mttr_seconds)
        out = []
        for entry in sorted(rows.values(), key=lambda e: e["key"]):
            mttrs = sorted(entry.pop("mttrs"))
            acted = entry["resolved"] + entry["escalated"]
            entry["error_type" if by != "resource" else "resource"] = entry["key"]
            entry["success_rate"] = entry["resolved"] / acted if acted else None
            entry["refire_rate"] = entry["refired"] / entry["resolved"] if entry["resolved"] else None
            entry["mttr_mean_seconds"] = sum(mttrs) / len(mttrs) if mttrs else None
            entry["mttr_median_seconds"] = mttrs[len(mttrs) // 2] if mttrs else None
            out.append(entry)
        return out
