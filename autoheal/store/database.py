"""The database under the store: engine, schema migrations (Alembic) and sessions, on SQLite (the
default) or PostgreSQL. :class:`autoheal.store.store.Store` adds the audit trail's reads and writes."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, event, text
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlmodel import Session, SQLModel, create_engine

HEAD = "0005"  # the newest migration under migrations/versions (a test checks it is Alembic's head)
_MIGRATIONS = Path(__file__).parent / "migrations"


class StoreError(RuntimeError):
    """The database cannot be reached or used; the message names the URL without its password."""


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
        self.engine: Engine = create_engine(self.url, pool_pre_ping=not self.url.startswith("sqlite"))
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
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
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

def _sqlite_pragmas(dbapi_connection: Any, _: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")  # WAL: durable across a process crash, one fsync per checkpoint
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


_MIGRATE_LOCK = threading.Lock()
