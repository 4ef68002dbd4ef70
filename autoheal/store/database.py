"""The database under the store: engine, schema migrations (Alembic) and sessions, on SQLite (the
default) or PostgreSQL. :class:`autoheal.store.store.Store` adds the audit trail's reads and writes."""

from __future__ import annotations

import os
import socket
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, event, text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, ProgrammingError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlmodel import Session, SQLModel, create_engine

HEAD = "0006"  # the newest migration under migrations/versions (a test checks it is Alembic's head)
_MIGRATIONS = Path(__file__).parent / "migrations"


class StoreError(RuntimeError):
    """The database cannot be reached or used; the message names the URL without its password."""


class StoreUnavailable(StoreError):
    """The database is down, unreachable, stalled or busy: a retry later may succeed (the receiver
    answers 503 with Retry-After). Raised from :meth:`Database.session` for the driver's connection
    and timeout errors; a constraint or data error is not this."""


# Bounds on every PostgreSQL call (seconds), so a database that is down or stalled fails a call
# instead of hanging it: connecting, waiting for a pooled connection, a statement or lock on the
# server, and data sent but never acknowledged (a host gone from the network).
CONNECT_TIMEOUT = 5
POOL_TIMEOUT = 5
STATEMENT_TIMEOUT = 30
TCP_USER_TIMEOUT = 10


def normalize_url(url: str) -> str:
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def aware(value: datetime | None) -> datetime | None:
    """SQLite hands datetimes back without their zone; they were stored as UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


class Database:
    def __init__(self, url: str, *, migrate: bool = True) -> None:
        self.url = normalize_url(url)
        if self.url.startswith("sqlite:///"):
            path = Path(self.url.removeprefix("sqlite:///"))
            if str(path) != ":memory:":
                path.parent.mkdir(parents=True, exist_ok=True)
        # Pre-ping finds a PostgreSQL connection the server dropped; a SQLite file cannot drop one.
        postgres = self.url.startswith("postgresql")
        extra: dict[str, Any] = {}
        if postgres:
            extra = {
                "pool_timeout": POOL_TIMEOUT,
                "connect_args": {
                    "connect_timeout": CONNECT_TIMEOUT,
                    "options": f"-c statement_timeout={STATEMENT_TIMEOUT}s -c lock_timeout={STATEMENT_TIMEOUT}s",
                    "tcp_user_timeout": TCP_USER_TIMEOUT * 1000,
                    "keepalives": 1,
                    "keepalives_idle": 10,
                    "keepalives_interval": 5,
                    "keepalives_count": 2,
                },
            }
        self.engine: Engine = create_engine(self.url, pool_pre_ping=postgres, **extra)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        # The pool's record of every connection this engine has opened, so that a call stalled on one
        # can be cut (a record holds its current driver connection; sqlite3's cannot be weakly held).
        self._records: weakref.WeakSet[Any] = weakref.WeakSet()
        event.listen(self.engine, "connect", lambda _, record: self._records.add(record))
        if migrate:
            self.migrate()

    def describe(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    # ---- schema -------------------------------------------------------------------------------

    def migrate(self) -> None:
        """Bring the schema to the newest revision; concurrent callers wait for each other.

        A schema already at HEAD costs one query: every flow-run process opens the store, and
        Alembic reading its scripts cost 0.2 CPU-s each time."""
        if self.revision() == HEAD:
            return
        config = Config()
        config.set_main_option("script_location", str(_MIGRATIONS))
        try:
            with _MIGRATE_LOCK, self.engine.begin() as conn:
                if conn.dialect.name == "postgresql":
                    conn.execute(text("SELECT pg_advisory_xact_lock(724311)"))
                config.attributes["connection"] = conn
                command.upgrade(config, "head")
        except OperationalError as exc:
            raise StoreError(f"cannot migrate the database at {self.describe()}: {exc.orig}") from exc

    def revision(self) -> str | None:
        """The schema's Alembic revision; None for an empty database."""
        try:
            with self.engine.connect() as conn:
                return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except (OperationalError, ProgrammingError):  # no table yet (or no database: migrate says which)
            return None

    def drop_all(self) -> None:
        """For tests: remove every table, including Alembic's version table."""
        with self.engine.begin() as conn:
            SQLModel.metadata.drop_all(conn)
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))

    @contextmanager
    def session(self) -> Iterator[Session]:
        try:
            with Session(self.engine, expire_on_commit=False) as session:
                yield session
        except (OperationalError, InterfaceError, PoolTimeout) as exc:
            raise StoreUnavailable(f"the database at {self.describe()} is unavailable: {_first_line(exc)}") from exc
        except DBAPIError as exc:
            if exc.connection_invalidated:
                raise StoreUnavailable(f"the database at {self.describe()} dropped the connection") from exc
            raise

    # ---- cutting a stalled call -----------------------------------------------------------------

    def interrupt(self) -> int:
        """Cut every database call in progress on this engine, and return how many connections were
        cut. PostgreSQL: each connection's socket is shut down, so a call blocked on it raises (and
        the pool drops the connection; an idle one is replaced at its next pre-ping); SQLite: each
        statement running is interrupted. A server that stalls mid-answer keeps a read waiting for
        ever, which no libpq timeout ends: this is how the receiver's bound on a store call frees its
        writer thread (autoheal/app/writer.py), the only thread of the receiver on the store."""
        cut = 0
        for record in list(self._records):
            connection = record.dbapi_connection
            if connection is None:
                continue
            pgconn = getattr(connection, "pgconn", None)
            try:
                if pgconn is not None:
                    if pgconn.socket < 0:
                        continue
                    with socket.socket(fileno=os.dup(pgconn.socket)) as sock:
                        sock.shutdown(socket.SHUT_RDWR)
                elif hasattr(connection, "interrupt"):
                    connection.interrupt()
                else:
                    continue
            except Exception:  # closed meanwhile: nothing to cut
                continue
            cut += 1
        return cut


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    return (str(orig).strip().splitlines() or [type(orig).__name__])[0][:300]


def _sqlite_pragmas(dbapi_connection: Any, _: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")  # WAL: durable across a process crash, one fsync per checkpoint
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


_MIGRATE_LOCK = threading.Lock()
