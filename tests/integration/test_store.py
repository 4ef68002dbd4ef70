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
    expected = {"incidents", "remediation_attempts", "rejected_payloads", "ignored_alerts", "alembic_version"}
    assert expected | {"action_grants", "breaker", "approvals", "notifications"} <= tables
    Store(store.url).engine.dispose()  # migrating again is a no-op
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == autoheal.store.database.HEAD


def test_the_migrations_build_exactly_the_tables_the_models_declare(store: Store) -> None:
    """Alembic's autogenerate comparison: no table, column or type the models have and the migrations lack."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = [d for d in compare_metadata(context, SQLModel.metadata) if not _index_only(d)]
    assert diffs == []


def _index_only(diff: object) -> bool:
    return isinstance(diff, tuple) and str(diff[0]).endswith("_index")


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
    guess = IncidentChange(error_type="InvalidConfiguration", rule="no-evidence", status=IncidentStatus.ESCALATED)
    store.update(c.id, guess)
    assert {row["error_type"] for row in store.stats()} == {"GatewayTimeout", "unrecognised"}


def test_received_alerts_are_claimed_by_exactly_one_flow_run(store: Store) -> None:
    received, created = store.receive(alert("r-9"))
    assert created and received.status == "received"
    assert [i.id for i in store.pending_events()] == [received.id]
    store.mark_events([received.id or 0], error="connection refused")
    assert store.pending_events()[0].event_attempts == 1
    store.mark_events([received.id or 0], error=None)
    assert store.pending_events() == []

    results: list[bool] = []

    def claim(run: str) -> None:
        results.append(store.claim(alert("r-9"), flow_run_id=run)[1])

    threads = [threading.Thread(target=claim, args=(f"f{n}",)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 5 + [True]
    claimed_by = store.get(received.id or 0)
    assert claimed_by is not None and claimed_by.status == "open"
    # The same flow run again (resumed after an approval, or re-run by Prefect) keeps its claim; others do not.
    assert store.claim(alert("r-9"), flow_run_id=claimed_by.flow_run_id)[1] is True
    assert store.claim(alert("r-9"), flow_run_id="another")[1] is False

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


def test_a_storm_of_grants_trips_the_breaker_at_exactly_its_count(store: Store) -> None:
    """Forty remediations asking at once, the breaker set to 10 actions: exactly 10 act, the rest are told why."""
    from autoheal.domain.policy import parse_policy

    policy = parse_policy("[breaker]\nactions = 10\n[budget]\nenabled = false\n", "storm.toml")
    ids = [int(store.open_incident(alert(f"storm-{n}"))[0].id or 0) for n in range(40)]
    answers: dict[int, str | None] = {}

    def ask(incident_id: int) -> None:
        answers[incident_id] = store.grant_action(incident_id, resource=f"r{incident_id}", playbook="p", policy=policy)

    threads = [threading.Thread(target=ask, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    granted = [i for i, refused in answers.items() if refused is None]
    assert len(granted) == 10
    assert all("circuit breaker" in (answers[i] or "") for i in ids if i not in granted)
    assert store.breaker(policy).open and "10 actions" in (store.breaker(policy).reason or "")
    assert store.grant_action(granted[0], resource="x", playbook="p", policy=policy) is None  # its own grant holds
    store.reset_breaker(by="test")
    assert not store.breaker(policy).open


def test_the_budget_counts_actions_per_resource_in_its_window(store: Store) -> None:
    from datetime import UTC, datetime, timedelta

    from autoheal.domain.policy import parse_policy

    policy = parse_policy("[budget]\nactions = 2\nwindow_hours = 1\n", "b.toml")
    ids = [int(store.open_incident(alert(f"b-{n}"))[0].id or 0) for n in range(4)]
    long_ago = datetime.now(UTC) - timedelta(hours=2)
    assert store.grant_action(ids[0], resource="jobs/1", playbook="p", policy=policy, now=long_ago) is None
    assert store.grant_action(ids[1], resource="jobs/1", playbook="p", policy=policy) is None
    assert store.grant_action(ids[2], resource="jobs/1", playbook="p", policy=policy) is None
    refused = store.grant_action(ids[3], resource="jobs/1", playbook="p", policy=policy)
    assert refused is not None and "budget spent: 2 actions on jobs/1 within 1 h" in refused
    assert store.grant_action(ids[3], resource="jobs/2", playbook="p", policy=policy) is None


def test_notifications_ledger_claims_once_and_holds_past_the_limit_under_concurrent_writers(store: Store) -> None:
    """One row per (key, channel, kind), whoever asks; of many claims at once exactly ``limit`` go out."""
    from concurrent.futures import ThreadPoolExecutor

    from autoheal.store.notices import HELD, PENDING, Notices

    notices = Notices(store)

    def claim(n: int) -> str | None:
        row = notices.claim(
            key=f"incident-{n}",
            channel="slack",
            kind="escalation",
            subject="s",
            incident_id=None,
            limit=3,
            window_seconds=600,
        )
        return row.status if row else None

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(claim, range(40)))
    assert statuses.count(PENDING) == 3 and statuses.count(HELD) == 37
    assert claim(0) is None  # the same incident, channel and kind again: already claimed
    assert [n.key for n in notices.held("slack")][:1] != [] and notices.channels_with_held() == ["slack"]
