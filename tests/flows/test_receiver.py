"""The receiver against a real store and the session's Prefect server: auth, limits, bad input,
persist-then-event, duplicates, and the outbox when Prefect is down."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from autoheal.app.receiver import build_receiver
from autoheal.settings import Settings
from autoheal.store.store import Store
from sandbox.server import ThreadedServer

pytestmark = pytest.mark.filterwarnings("ignore:unclosed <socket.socket:ResourceWarning")

TOKEN = "s3cret-webhook-token-value"
FAILURE = {
    "event_type": "jobs.on_failure",
    "workspace_id": "1",
    "run": {"run_id": "77"},
    "job": {"job_id": "5", "name": "nightly"},
}


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(f"sqlite:///{tmp_path / 'r.db'}")


@contextmanager
def client(store: Store, api_url: str | None, **settings: Any) -> Iterator[httpx.Client]:
    """The receiver on a free loopback port, and an HTTP client for it."""
    config = Settings(_env_file=None, webhook_token=SecretStr(TOKEN), outbox_interval_seconds=0.1, **settings)
    server = ThreadedServer.on(build_receiver(config, store, prefect_api_url=api_url), lifespan="on")
    try:
        with httpx.Client(base_url=server.url, timeout=10) as http:
            yield http
    finally:
        server.stop()


def api_url() -> str:
    from prefect.settings import PREFECT_API_URL

    return str(PREFECT_API_URL.value())


async def _events(resource_prefix: str) -> list[Any]:
    from prefect import get_client
    from prefect.events.filters import EventFilter, EventResourceFilter

    async with get_client() as prefect:
        response = await prefect._client.post(
            "/events/filter",
            json={
                "filter": EventFilter(resource=EventResourceFilter(id_prefix=[resource_prefix])).model_dump(
                    mode="json"
                ),
                "limit": 50,
            },
        )
        return list(response.json()["events"])


def test_valid_alert_is_stored_then_sent_as_one_event(prefect_server: None, store: Store, runner: Any) -> None:
    with client(store, api_url()) as http:
        first = http.post("/alerts/databricks", json=FAILURE, headers={"X-Autoheal-Token": TOKEN})
        again = http.post(f"/alerts/databricks?token={TOKEN}", json=FAILURE)
        third = http.post("/alerts/databricks", json=FAILURE, headers={"Authorization": f"Bearer {TOKEN}"})
        deadline = time.monotonic() + 10  # the outbox sends it as soon as the receiver stored it
        while store.get(first.json()["incident_id"]).event_sent_at is None and time.monotonic() < deadline:
            time.sleep(0.05)
    assert first.status_code == 202 and first.json()["status"] == "accepted"
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    assert third.json()["joined"] == first.json()["incident_id"]
    incident = store.get(first.json()["incident_id"])
    assert incident.status == "received" and incident.event_sent_at is not None and incident.duplicates == 2
    events: list[Any] = []
    deadline = time.monotonic() + 30  # the server persists events in batches
    while not events and time.monotonic() < deadline:
        events = runner.run(_events(f"autoheal.alert.{incident.fingerprint}"))
        time.sleep(0.5)
    assert len(events) == 1 and events[0]["payload"]["alert"]["run_id"] == "77"


def test_bad_input_answers_and_keeps_what_it_can(store: Store, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    with client(store, None, max_body_bytes=2048) as http:
        assert http.post("/alerts/databricks", json=FAILURE).status_code == 401
        assert http.post("/alerts/databricks?token=wrong", json=FAILURE).status_code == 401
        big = http.post(f"/alerts/azure-monitor?token={TOKEN}", content=b"{" + b" " * 4096 + b"}")
        assert big.status_code == 413
        bad_json = http.post(f"/alerts/azure-monitor?token={TOKEN}", content=b"{not json")
        assert bad_json.status_code == 400 and "not valid JSON" in bad_json.json()["error"]
        unknown = http.post(f"/alerts/azure-monitor?token={TOKEN}", json={"hello": "world"})
        assert unknown.status_code == 422 and unknown.json()["field"] == "$"
        resolved = {"data": {"essentials": {"monitorCondition": "Resolved"}, "alertContext": {}}}
        assert http.post(f"/alerts/azure-monitor?token={TOKEN}", json=resolved).json()["status"] == "ignored"
    assert TOKEN not in caplog.text and "token=wrong" not in caplog.text and "401" in caplog.text
    rejected = store.rejected()
    assert [r.field for r in rejected] == ["$", "$", "$"] and json.loads(rejected[2].body) == {"hello": "world"}
    assert store.incidents() == [] and len(store.ignored()) == 1


def test_prefect_down_keeps_alerts_in_the_outbox_until_it_is_back(prefect_server: None, store: Store) -> None:
    with client(store, "http://127.0.0.1:9/api") as http:  # nothing listens on port 9
        answer = http.post(f"/alerts/databricks?token={TOKEN}", json=FAILURE)
        assert answer.status_code == 202 and answer.json()["event"].startswith("queued")
        assert http.get("/healthz").json()["outbox_pending"] == 1
    (pending,) = store.pending_events()
    assert pending.event_attempts >= 1 and "ConnectError" in (pending.last_event_error or "")
    from autoheal.intake.outbox import Dispatcher

    dispatcher = Dispatcher(store, api_url())
    assert dispatcher.drain() == 1 and store.pending_events() == []
    assert dispatcher.drain() == 0  # nothing is sent twice
    dispatcher.close()


def test_health_answers_without_a_token(store: Store) -> None:
    with client(store, None) as http:
        assert http.get("/healthz").json()["status"] == "ok"
    assert httpx.codes.OK == 200


def test_concurrent_deliveries_are_stored_together_and_each_answered_for_itself(store: Store) -> None:
    """Fifty requests at once: the writer stores what waits in batches; each sender still gets its own
    answer, and the same alert delivered many times is one incident that counted every delivery."""
    from concurrent.futures import ThreadPoolExecutor

    distinct = [{**FAILURE, "run": {"run_id": str(1000 + i)}} for i in range(25)]
    same = [FAILURE] * 25
    with client(store, None) as http, ThreadPoolExecutor(max_workers=50) as pool:
        headers = {"X-Autoheal-Token": TOKEN}
        answers = list(
            pool.map(lambda body: http.post("/alerts/databricks", json=body, headers=headers), distinct + same)
        )
    bodies = [a.json() for a in answers]
    assert [a.status_code for a in answers[:25]] == [202] * 25
    assert len({b["incident_id"] for b in bodies[:25]}) == 25
    assert sorted(a.status_code for a in answers[25:]) == [200] * 24 + [202]
    (one,) = {b["incident_id"] for b in bodies[25:]}
    assert store.get(one).duplicates == 24  # type: ignore[union-attr]
    assert len(store.incidents()) == 26
