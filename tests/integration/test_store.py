"""The store on SQLite and on PostgreSQL (127.0.0.1:5432): idempotent incidents, attempts, lineage,
rejected payloads with secrets removed, and migrations from an empty database."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

import autoheal.store.database
from autoheal.domain.alerts import Alert
from autoheal.domain.values import IncidentStatus
from autoheal.store.store import Store
from autoheal.store.tables import IncidentChange

PG_ADMIN = os.environ.get("AUTOHEAL_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped at the end."""
    name = f"autoheal_test_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        pytest.fail(f"PostgreSQL is required at {PG_ADMIN} for the store tests: {exc}")
    yield PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    sqlite = f"sqlite:///{tmp_path / 'autoheal.db'}"
    url = sqlite if request.param == "sqlite" else request.getfixturevalue("pg_url")
    s = Store(url)
    yield s
    s.drop_all()
    s.engine.dispose()


def alert(run: str = "r-1", **extra: object) -> Alert:
    return Alert(
        source="manual",
        service="adf",
        factory="adf-sales",
        pipeline="CopySales",
        run_id=run,
        error_message="Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlMTIz failed",
        **extra,
    )  # type: ignore[arg-type]


def test_migrations_create_every_table(store: Store) -> None:
    tables = set(inspect(store.engine).get_table_names())
    assert {"incidents", "remediation_attempts", "rejected_payloads", "ignored_alerts", "alembic_version"} <= tables
    Store(store.url).engine.dispose()  # migrating again is a no-op
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == autoheal.store.database.HEAD


def test_head_is_alembics_newest_revision_and_an_up_to_date_schema_is_left_alone(store: Store) -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(Path(autoheal.store.database.__file__).parent / "migrations"))
    assert ScriptDirectory.from_config(config).get_current_head() == autoheal.store.database.HEAD == store.revision()
    store.migrate()  # at HEAD: one query, nothing else
    assert store.revision() == autoheal.store.database.HEAD


def test_an_empty_database_has_no_revision_until_migrated(tmp_path: Path) -> None:
    empty = Store(f"sqlite:///{tmp_path / 'empty.db'}", migrate=False)
    assert empty.revision() is None
    empty.migrate()
    assert empty.revision() == autoheal.store.database.HEAD


def test_open_incident_is_idempotent_and_redacts(store: Store) -> None:
    first, created = store.open_incident(alert(), raw={"token": "dapi0123456789abcdef0123"})
    again, created_again = store.open_incident(alert())
    assert created and not created_again and again.id == first.id and again.duplicates == 1
    assert "eyJhbGci" not in (first.message or "") and "[REDACTED]" in (first.message or "")
    assert "dapi0123" not in (first.raw_payload or "") and "dapi0123" not in first.alert_json


def test_concurrent_duplicates_make_one_incident(store: Store) -> None:
    results: list[tuple[int | None, bool]] = []

    def worker() -> None:
        incident, created = store.open_incident(alert("race"))
        results.append((incident.id, created))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(created for _, created in results) == 1
    assert len({i for i, _ in results}) == 1
    assert store.by_fingerprint(alert("race").fingerprint).duplicates == 7  # type: ignore[union-attr]


def test_a_batch_opens_new_incidents_and_joins_stored_ones_and_its_own(store: Store) -> None:
    stored, _ = store.receive(alert("b-0"))
    results = store.receive_many(
        [(alert("b-1"), {"token": "dapi0123456789abcdef0123"}), (alert("b-0"), None), (alert("b-1"), None)]
    )
    (new_id, new), (old_id, old_created), (again_id, again_created) = results
    assert new and not old_created and not again_created
    assert old_id == stored.id and again_id == new_id != stored.id
    assert store.get(new_id).duplicates == 1 and store.get(old_id).duplicates == 1  # type: ignore[union-attr]
    row = store.get(new_id)
    assert row is not None and row.status == "received" and "dapi0123" not in (row.raw_payload or "")


def test_concurrent_batches_with_the_same_alerts_make_one_incident_each(store: Store) -> None:
    """Two writers' batches race (the receiver's, and a flow opening the same incident): the unique
    constraint decides, the losing batch is redone alert by alert, and every delivery is counted."""
    results: list[list[tuple[int, bool]]] = []

    def worker() -> None:
        results.append(store.receive_many([(alert(f"c-{i}"), None) for i in range(5)]))

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i in range(5):
        ids = {batch[i][0] for batch in results}
        assert len(ids) == 1 and sum(batch[i][1] for batch in results) == 1
        assert store.by_fingerprint(alert(f"c-{i}").fingerprint).duplicates == 5  # type: ignore[union-attr]


def test_attempts_and_lineage(store: Store) -> None:
    first, _ = store.open_incident(alert("r-1"))
    rerun, _ = store.open_incident(alert("r-2"))
    assert first.id and rerun.id
    store.update(first.id, IncidentChange(lineage="group-1"))
    store.update(rerun.id, IncidentChange(lineage="group-1"))
    attempt = store.start_attempt(first.id, number=1, playbook="adf.rerun_from_failure")
    assert store.start_attempt(first.id, number=1, playbook="adf.rerun_from_failure") == attempt
    store.finish_attempt(
        attempt,
        outcome="transient",
        verified=False,
        created_ids={"run_id": "r-2"},
        detail={"reason": "password=hunter2 rejected"},
    )
    store.start_attempt(first.id, number=2, playbook="adf.rerun_from_failure")
    assert store.get(first.id).status == "remediating"  # type: ignore[union-attr]
    store.update(first.id, IncidentChange(status=IncidentStatus.ESCALATED))
    assert store.attempts_spent("group-1") == 2
    assert store.open_in_lineage("group-1", exclude=rerun.id) is None
    assert store.open_in_lineage("group-1", exclude=first.id) is not None
    (one, two) = store.attempts(first.id)
    assert one.outcome == "transient" and "hunter2" not in (one.detail or "") and two.outcome == "running"
    assert store.get(first.id).attempts == 2  # type: ignore[union-attr]


def test_rejected_and_ignored_payloads_are_kept(store: Store) -> None:
    rid = store.reject(
        source="azure-monitor",
        reason="data.essentials: missing",
        field="data.essentials",
        body=b'{"sig": "abc", "x": "AccountKey=c2VjcmV0"}',
    )
    store.reject(source="databricks", reason="not JSON", body=b"{oops password=hunter2")
    rows = store.rejected()
    assert rows[0].id == rid and '"x"' in rows[0].body and "c2VjcmV0" not in rows[0].body
    assert "hunter2" not in rows[1].body and rows[1].body.startswith("{oops")
    store.ignore(shape="azure-monitor/resolved", reason="Resolved", alert=alert())
    assert store.ignored()[0].reason == "Resolved"


def test_stats_by_error_type(store: Store) -> None:
    a, _ = store.open_incident(alert("a"))
    b, _ = store.open_incident(alert("b"))
    c, _ = store.open_incident(alert("c"))
    assert a.id and b.id and c.id
    store.update(a.id, IncidentChange(error_type="GatewayTimeout", status=IncidentStatus.RESOLVED, mttr_seconds=30.0))
    store.update(b.id, IncidentChange(error_type="GatewayTimeout", status=IncidentStatus.ESCALATED))
    store.update(c.id, IncidentChange(error_type="PermissionDenied", status=IncidentStatus.ESCALATED))
    stats = {row["error_type"]: row for row in store.stats()}
    assert stats["GatewayTimeout"]["success_rate"] == 0.5 and stats["GatewayTimeout"]["mttr_mean_seconds"] == 30.0
    assert stats["PermissionDenied"]["success_rate"] == 0.0


def test_received_alerts_are_claimed_by_exactly_one_flow_run(store: Store) -> None:
    received, created = store.receive(alert("r-9"))
    assert created and received.status == "received"
    assert [i.id for i in store.pending_events()] == [received.id]
    store.mark_events([received.id or 0], error="connection refused")
    assert store.pending_events()[0].event_attempts == 1
    store.mark_events([received.id or 0], error=None)
    assert store.pending_events() == []

    results: list[bool] = []
    threads = [
        threading.Thread(target=lambda: results.append(store.claim(alert("r-9"), flow_run_id="f")[1])) for _ in range(6)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 5 + [True]
    assert store.get(received.id or 0).status == "open"  # type: ignore[union-attr]

    # A manual re-run claims it again only once nobody is working on it.
    assert store.claim(alert("r-9"), force=True)[1] is False
    store.update(received.id or 0, IncidentChange(status=IncidentStatus.ESCALATED))
    incident, claimed = store.claim(alert("r-9"), force=True, flow_run_id="g")
    assert claimed and incident.status == "open" and incident.flow_run_id == "g"


def test_migration_0002_keeps_data_written_at_0001(tmp_path: Path) -> None:
    from alembic import command
    from alembic.config import Config

    store = Store(f"sqlite:///{tmp_path / 'old.db'}", migrate=False)
    config = Config()
    config.set_main_option("script_location", "autoheal/store/migrations")
    with store.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0001")
        conn.execute(
            text(
                "INSERT INTO incidents (fingerprint, service, resource, source, status, attempts, "
                "duplicates, received_at, alert_json, updated_at) VALUES ('fp', 'adf', 'f/p', 'manual', "
                "'resolved', 1, 0, '2026-01-01', '{}', '2026-01-01')"
            )
        )
    store.migrate()
    row = store.by_fingerprint("fp")
    assert row is not None and row.status == "resolved" and row.event_attempts == 0 and row.event_sent_at is None
    store.engine.dispose()
