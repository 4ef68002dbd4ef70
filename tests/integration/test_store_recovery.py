"""Taking over an incident a dead flow run left (issue 13), on SQLite and PostgreSQL: atomic on the
dead run's id, its unfinished attempts closed as crashed, and the reconciler's bookkeeping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from autoheal.domain.values import IncidentStatus
from autoheal.store.store import Store
from tests.integration.test_store import alert, pg_url, store  # noqa: F401  # fixtures


def test_a_stranded_incident_is_claimed_from_its_dead_run_once(store: Store) -> None:  # noqa: F811
    incident, claimed = store.claim(alert(), flow_run_id="run-a")
    assert claimed
    store.start_attempt(int(incident.id or 0), number=1, playbook="databricks.start_cluster_then_repair")
    assert store.get(int(incident.id or 0)).status == IncidentStatus.REMEDIATING  # type: ignore[union-attr]

    # A plain forced claim (a manual rerun) still refuses an incident being worked on...
    assert store.claim(alert(), flow_run_id="run-b", force=True)[1] is False
    # ...naming a run that is not the one holding it changes nothing...
    assert store.claim(alert(), flow_run_id="run-b", stranded_by="run-x")[1] is False
    # ...and naming the dead holder takes it over, once.
    taken, ok = store.claim(alert(), flow_run_id="run-b", stranded_by="run-a")
    assert ok and taken.status == IncidentStatus.OPEN and taken.flow_run_id == "run-b"
    assert store.claim(alert(), flow_run_id="run-c", stranded_by="run-a")[1] is False
    (attempt,) = store.attempts(int(incident.id or 0))
    assert attempt.outcome == "crashed" and attempt.ended_at is not None


def test_stranded_lists_idle_work_and_recoveries_escalate(store: Store) -> None:  # noqa: F811
    received, _ = store.receive(alert("r-received"))
    store.mark_events([int(received.id or 0)], error=None)
    claimed, _ = store.claim(alert("r-open"), flow_run_id="run-a")
    done, _ = store.claim(alert("r-done"), flow_run_id="run-d")
    store.note_recovery(int(done.id or 0), "finished", escalate=True)
    later = datetime.now(UTC) + timedelta(seconds=1)
    ids = {i.id for i in store.stranded(idle_since=later)}
    assert ids == {received.id, claimed.id}
    assert store.stranded(idle_since=later - timedelta(hours=1)) == []
    store.note_recovery(int(claimed.id or 0), "flow run run-a ended Crashed: started again")
    row = store.get(int(claimed.id or 0))
    assert row is not None and row.recoveries == 1 and row.status == IncidentStatus.OPEN
    escalated = store.get(int(done.id or 0))
    assert escalated is not None and escalated.status == IncidentStatus.ESCALATED and escalated.outcome == "finished"
