"""The notifications ledger: one message per incident, kind and channel, and a rate limit per channel.

A message is claimed before it is sent (the unique key decides, so a retried or duplicated flow run
never sends it twice); the first ``limit`` messages of a channel within ``window`` go out, the rest
are held, and :meth:`Notices.summarize` later folds a channel's held messages into one summary.
"""

from __future__ import annotations

import zlib
from datetime import timedelta

from sqlalchemy import func, text, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from autoheal.domain.redaction import redact
from autoheal.store.database import Database
from autoheal.store.tables import Notification, utcnow

PENDING, SENT, FAILED, HELD, SUMMARIZED = "pending", "sent", "failed", "held", "summarized"


class Notices:
    def __init__(self, db: Database) -> None:
        self.db = db

    def claim(
        self,
        *,
        key: str,
        channel: str,
        kind: str,
        subject: str,
        incident_id: int | None,
        limit: int,
        window_seconds: float,
    ) -> Notification | None:
        """The message's row: ``pending`` (send it), ``held`` (over the channel's limit), or None when
        this key, channel and kind already has one (it was sent, held or failed before)."""
        row = Notification(key=key, channel=channel, kind=kind, subject=redact(subject) or "", incident_id=incident_id)
        try:
            with self.db.session() as session:
                if session.get_bind().dialect.name == "postgresql":
                    # Claims on one channel take turns, so each sees every claim before it (SQLite's writes
                    # take turns anyway): of 200 escalations at once exactly the first ``limit`` go out.
                    session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": zlib.crc32(channel.encode())})
                session.add(row)
                session.flush()
                since = row.created_at - timedelta(seconds=window_seconds)
                before = session.exec(
                    select(func.count())
                    .select_from(Notification)
                    .where(
                        Notification.channel == channel,
                        Notification.kind != "summary",
                        col(Notification.created_at) >= since,
                        col(Notification.id) < row.id,
                    )
                ).one()
                if int(before) >= limit:
                    row.status = HELD
                session.commit()
                session.refresh(row)
        except IntegrityError:
            return None
        return row

    def finish(self, notification_id: int, *, error: str | None) -> None:
        values = {"status": FAILED if error else SENT, "sent_at": None if error else utcnow(), "error": redact(error)}
        with self.db.session() as session:
            session.execute(update(Notification).where(col(Notification.id) == notification_id).values(**values))
            session.commit()

    def held(self, channel: str) -> list[Notification]:
        with self.db.session() as session:
            query = select(Notification).where(Notification.channel == channel, Notification.status == HELD)
            return list(session.exec(query.order_by(col(Notification.id))))

    def summarize(self, ids: list[int], summary_id: int) -> None:
        with self.db.session() as session:
            session.execute(
                update(Notification)
                .where(col(Notification.id).in_(ids), col(Notification.status) == HELD)
                .values(status=SUMMARIZED, summary_id=summary_id)
            )
            session.commit()

    def channels_with_held(self) -> list[str]:
        with self.db.session() as session:
            query = select(Notification.channel).where(Notification.status == HELD).distinct()
            return sorted(session.exec(query))

    def of_incident(self, incident_id: int) -> list[Notification]:
        with self.db.session() as session:
            query = select(Notification).where(Notification.incident_id == incident_id)
            return list(session.exec(query.order_by(col(Notification.id))))

    def all(self) -> list[Notification]:
        with self.db.session() as session:
            return list(session.exec(select(Notification).order_by(col(Notification.id))))
