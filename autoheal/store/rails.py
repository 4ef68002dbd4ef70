"""The rails' state in the store, so it survives restarts and holds across flow runs and machines:
action grants (the per-resource budget and the breaker's action count), the breaker, approvals,
and whether a verified fix held.

A grant is decided in one transaction that first updates the breaker row: that takes the row lock
on PostgreSQL and the write lock on SQLite, so concurrent flow runs are granted one at a time and a
limit of N lets exactly N actions through.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import func, update
from sqlmodel import Session, col, select

from autoheal.domain.policy import Policy
from autoheal.domain.values import IncidentStatus
from autoheal.store.database import Database, aware
from autoheal.store.tables import ActionGrant, Approval, Breaker, Incident, RemediationAttempt, utcnow

FAILED_OUTCOMES = ("transient", "permanent", "unverified")


class BreakerState(BaseModel):
    open: bool
    reason: str | None = None
    tripped_at: datetime | None = None
    reset_at: datetime | None = None
    reset_by: str | None = None


class RailsStore(Database):
    # ---- the breaker ------------------------------------------------------------------------

    def breaker(self, policy: Policy, *, now: datetime | None = None) -> BreakerState:
        with self.session() as session:
            row = session.get(Breaker, 1) or Breaker()
            return self._breaker_state(row, policy, now or utcnow())

    @staticmethod
    def _breaker_state(row: Breaker, policy: Policy, now: datetime) -> BreakerState:
        tripped = aware(row.tripped_at)
        cooldown = policy.breaker.cooldown_minutes
        cooled = tripped is not None and cooldown > 0 and now - tripped >= timedelta(minutes=cooldown)
        return BreakerState(
            open=tripped is not None and not cooled,
            reason=row.reason,
            tripped_at=tripped,
            reset_at=aware(row.reset_at),
            reset_by=row.reset_by,
        )

    def reset_breaker(self, *, by: str) -> BreakerState:
        with self.session() as session:
            row = session.get(Breaker, 1) or Breaker()
            row.tripped_at, row.reset_at, row.reset_by = None, utcnow(), by
            row.reason = f"reset by {by}"
            session.add(row)
            session.commit()
            return BreakerState(open=False, reason=row.reason, reset_at=row.reset_at, reset_by=by)

    def trip_if_failing(self, policy: Policy, *, now: datetime | None = None) -> BreakerState:
        """After a failed verification: trip when the window holds more than the policy allows."""
        now = now or utcnow()
        with self.session() as session:
            row = self._lock_breaker(session, now)
            failed = self._failed_since(session, now - timedelta(minutes=policy.breaker.window_minutes))
            state = self._breaker_state(row, policy, now)
            if policy.breaker.enabled and not state.open and failed > policy.breaker.failed_verifications:
                minutes = policy.breaker.window_minutes
                self._trip(row, f"{failed} remediations failed verification within {minutes:g} min")
                session.add(row)
            session.commit()
            return self._breaker_state(row, policy, now)

    @staticmethod
    def _trip(row: Breaker, reason: str) -> None:
        row.tripped_at, row.reason, row.reset_at, row.reset_by = utcnow(), reason, None, None

    @staticmethod
    def _lock_breaker(session: Session, now: datetime) -> Breaker:
        session.execute(update(Breaker).where(col(Breaker.id) == 1).values(checked_at=now))
        row = session.get(Breaker, 1)
        if row is None:  # a database migrated before the row existed
            row = Breaker(id=1, checked_at=now)
            session.add(row)
            session.flush()
        return row

    @staticmethod
    def _failed_since(session: Session, since: datetime) -> int:
        query = (
            select(func.count())
            .select_from(RemediationAttempt)
            .where(col(RemediationAttempt.outcome).in_(FAILED_OUTCOMES), col(RemediationAttempt.ended_at) >= since)
        )
        return int(session.exec(query).one())

    # ---- grants: the budget and the breaker's action count --------------------------------------

    def actions_on(self, resource: str, *, since: datetime) -> int:
        with self.session() as session:
            query = (
                select(func.count())
                .select_from(ActionGrant)
                .where(ActionGrant.resource == resource, col(ActionGrant.granted_at) >= since)
            )
            return int(session.exec(query).one())

    def grant_action(
        self, incident_id: int, *, resource: str, playbook: str, policy: Policy, now: datetime | None = None
    ) -> str | None:
        """Let one remediation act, or say why not (the breaker is open or trips now, the budget is spent).
        Idempotent per incident: a flow run re-run after suspension keeps its grant."""
        now = now or utcnow()
        with self.session() as session:
            row = self._lock_breaker(session, now)
            mine = session.exec(select(ActionGrant).where(ActionGrant.incident_id == incident_id)).first()
            if mine is not None:
                session.commit()
                return None
            state = self._breaker_state(row, policy, now)
            if policy.breaker.enabled and state.open:
                session.commit()
                return f"the circuit breaker is open ({state.reason}); `autoheal breaker reset` closes it"
            if policy.breaker.enabled:
                window = now - timedelta(minutes=policy.breaker.window_minutes)
                total = self._count(session, ActionGrant.granted_at >= window)
                failed = self._failed_since(session, window)
                reason = None
                if total >= policy.breaker.actions:
                    reason = f"{total} actions within {policy.breaker.window_minutes:g} min: a runaway"
                elif failed > policy.breaker.failed_verifications:
                    reason = f"{failed} remediations failed verification within {policy.breaker.window_minutes:g} min"
                if reason is not None:
                    self._trip(row, reason)
                    session.add(row)
                    session.commit()
                    return f"the circuit breaker tripped: {reason}"
            if policy.budget.enabled:
                since = now - timedelta(hours=policy.budget.window_hours)
                used = self._count(session, ActionGrant.resource == resource, ActionGrant.granted_at >= since)
                if used >= policy.budget.actions:
                    session.commit()
                    return (
                        f"budget spent: {used} actions on {resource} within {policy.budget.window_hours:g} h "
                        f"(at most {policy.budget.actions})"
                    )
            session.add(ActionGrant(incident_id=incident_id, resource=resource, playbook=playbook, granted_at=now))
            session.commit()
            return None

    @staticmethod
    def _count(session: Session, *where: Any) -> int:
        return int(session.exec(select(func.count()).select_from(ActionGrant).where(*where)).one())

    # ---- recurrence ---------------------------------------------------------------------------

    def recurrence(
        self, incident_id: int, *, resource: str, error_type: str, lineage: str | None, policy: Policy
    ) -> int:
        """Mark the latest verified fix of the same class on this resource within the window as one
        that did not hold (this incident recurs it), and return how many fixes there did not hold."""
        now = utcnow()
        since = now - timedelta(hours=policy.recurrence.window_hours)
        with self.session() as session:
            base = select(Incident).where(
                Incident.resource == resource,
                Incident.error_type == error_type,
                Incident.id != incident_id,
                Incident.status == IncidentStatus.RESOLVED,
                col(Incident.resolved_at) >= since,
            )
            if lineage:
                base = base.where(col(Incident.lineage).is_distinct_from(lineage))
            latest = session.exec(base.order_by(col(Incident.resolved_at).desc())).first()
            me = session.get(Incident, incident_id)
            if latest is not None and me is not None and me.recurrence_of is None:
                latest.fix_held = False
                me.recurrence_of = latest.id
                session.add_all([latest, me])
                session.commit()
            query = base.where(col(Incident.fix_held).is_(False))
            return len(session.exec(query).all())

    # ---- approvals ----------------------------------------------------------------------------

    def request_approval(self, incident_id: int, *, deadline: datetime) -> datetime:
        """The incident waits for a person; returns the deadline in force. Idempotent: a flow run re-run
        after its suspension (or after an answer) asks nothing new."""
        with self.session() as session:
            row = session.get(Incident, incident_id)
            if row is None:
                raise KeyError(f"no incident {incident_id}")
            last = self._last_approval(session, incident_id)
            if last is None or last.decision in ("expired",):
                row.status, row.approval_deadline, row.updated_at = IncidentStatus.AWAITING_APPROVAL, deadline, utcnow()
                session.add(row)
                session.add(Approval(incident_id=incident_id, decision="requested"))
                session.commit()
                return deadline
            session.commit()
            return aware(row.approval_deadline) or deadline

    def record_answer(
        self, incident_id: int, *, ask: int, decision: str, by: str | None, comment: str | None, via: str
    ) -> None:
        """The answer to question number ``ask`` (0, 1, ...) since the last request, recorded once."""
        with self.session() as session:
            rows = list(
                session.exec(select(Approval).where(Approval.incident_id == incident_id).order_by(col(Approval.id)))
            )
            since = rows[self._last_request_index(rows) + 1 :]
            if len(since) <= ask:
                session.add(Approval(incident_id=incident_id, decision=decision, by=by, comment=comment, via=via))
                if decision == "approved":
                    row = session.get(Incident, incident_id)
                    if row is not None:
                        row.status, row.updated_at = IncidentStatus.OPEN, utcnow()
                        session.add(row)
            session.commit()

    def record_approval(
        self, incident_id: int, *, decision: str, by: str | None, comment: str | None, via: str
    ) -> None:
        with self.session() as session:
            session.add(Approval(incident_id=incident_id, decision=decision, by=by, comment=comment, via=via))
            session.commit()

    @staticmethod
    def _last_request_index(rows: list[Approval]) -> int:
        return max((i for i, r in enumerate(rows) if r.decision == "requested"), default=-1)

    @staticmethod
    def _last_approval(session: Session, incident_id: int) -> Approval | None:
        query = select(Approval).where(Approval.incident_id == incident_id).order_by(col(Approval.id).desc())
        return session.exec(query).first()

    def approvals(self, incident_id: int) -> list[Approval]:
        with self.session() as session:
            query = select(Approval).where(Approval.incident_id == incident_id).order_by(col(Approval.id))
            return list(session.exec(query))

    def waiting_approval(self, *, expired_at: datetime | None = None) -> list[Incident]:
        """Incidents waiting for a person; with ``expired_at``, only those whose deadline has passed."""
        with self.session() as session:
            query = select(Incident).where(Incident.status == IncidentStatus.AWAITING_APPROVAL)
            if expired_at is not None:
                query = query.where(col(Incident.approval_deadline) <= expired_at)
            return list(session.exec(query.order_by(col(Incident.id))))
