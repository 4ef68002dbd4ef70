"""The reconciler against a real Prefect server (the session's test server), for the branches the
end-to-end tests do not reach: a run Prefect does not know, a deployment Prefect cannot start (the
incident is escalated with Prefect's answer, never dropped), and the limit on recoveries."""

from __future__ import annotations

from typing import Any

import pytest

from autoheal.domain.alerts import Alert
from autoheal.domain.values import IncidentStatus
from flows.reconcile import reconcile

pytestmark = pytest.mark.filterwarnings("ignore:unclosed <socket.socket:ResourceWarning")
DEAD = "0b5c3f3e-0000-4000-8000-00000000dead"


def stranded(store: Any, run: str) -> int:
    alert = Alert(source="manual", service="adf", factory="adf-sales", pipeline="CopySales", run_id=run)
    incident, _ = store.claim(alert, flow_run_id=DEAD)
    store.start_attempt(int(incident.id or 0), number=1, playbook="adf.rerun_from_failure")
    return int(incident.id or 0)


def test_a_run_prefect_cannot_start_escalates_the_incident_with_the_reason(flow_env: Any, runner: Any) -> None:
    store = flow_env()
    incident_id = stranded(store, "r-1")
    counts = runner.run(reconcile(idle_seconds=0))  # the test server has no remediate deployment
    assert counts == {"alive": 0, "started": 0, "escalated": 1}
    incident = store.get(incident_id)
    assert incident is not None and incident.status == IncidentStatus.ESCALATED and incident.recoveries == 1
    assert f"flow run {DEAD} is unknown to Prefect" in (incident.outcome or "")
    assert "Prefect refused a new flow run" in (incident.outcome or "")


def test_past_its_recoveries_an_incident_goes_to_a_person(flow_env: Any, runner: Any) -> None:
    store = flow_env()
    incident_id = stranded(store, "r-2")
    for _ in range(3):
        store.note_recovery(incident_id, "started again")
    assert runner.run(reconcile(idle_seconds=0, max_recoveries=3)) == {"alive": 0, "started": 0, "escalated": 1}
    incident = store.get(incident_id)
    assert incident is not None and incident.status == IncidentStatus.ESCALATED
    assert "started again 3 times: a person must look" in (incident.outcome or "")


def test_recent_work_is_left_alone(flow_env: Any, runner: Any) -> None:
    store = flow_env()
    incident_id = stranded(store, "r-3")
    assert runner.run(reconcile(idle_seconds=3600)) == {"alive": 0, "started": 0, "escalated": 0}
    assert store.get(incident_id).status == IncidentStatus.REMEDIATING  # type: ignore[union-attr]
