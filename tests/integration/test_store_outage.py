"""The receiver with its store's PostgreSQL stopped, and stalled (issue 13): 503 with Retry-After,
never a 500 or a hang; nothing acknowledged that was not stored; it recovers by itself.

A throw-away cluster of the machine's PostgreSQL binaries, on its own port (tests/pgcluster.py), is
stopped and started with pg_ctl; a loopback proxy in front of it stalls it."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from autoheal.app.receiver import build_receiver
from autoheal.settings import Settings
from autoheal.store.store import Store
from sandbox.server import ThreadedServer
from tests.pgcluster import Cluster, Proxy

pytestmark = pytest.mark.filterwarnings("ignore:unclosed <socket.socket:ResourceWarning")

TOKEN = "outage-test-token"
STORE_TIMEOUT = 2.0


def failure(run: int) -> dict[str, Any]:
    return {"event_type": "jobs.on_failure", "workspace_id": "1", "run": {"run_id": str(run)}, "job": {"job_id": "5"}}


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    # Under /tmp itself: pytest's own temporary folders are private to root, and the server runs as
    # the postgres user when the tests run as root.
    home = Path(tempfile.mkdtemp(prefix="autoheal-pg-"))
    home.chmod(0o755)
    pg = Cluster(home / "cluster").init()
    pg.start()
    try:
        yield pg
    finally:
        if pg.running():
            pg.stop()
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def proxy(cluster: Cluster) -> Iterator[Proxy]:
    p = Proxy(cluster.port)
    yield p
    p.close()


@pytest.fixture
def receiver(proxy: Proxy) -> Iterator[tuple[httpx.Client, Store]]:
    store = Store(proxy.url())
    config = Settings(_env_file=None, webhook_token=SecretStr(TOKEN), store_timeout_seconds=STORE_TIMEOUT)
    server = ThreadedServer.on(build_receiver(config, store, prefect_api_url=None), lifespan="on")
    try:
        with httpx.Client(base_url=server.url, timeout=60, headers={"X-Autoheal-Token": TOKEN}) as http:
            yield http, store
    finally:
        server.stop()
        store.engine.dispose()


def timed(call: Any) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def until_accepted(http: httpx.Client, run: int, timeout: float = 30) -> list[httpx.Response]:
    answers = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answers.append(http.post("/alerts/databricks", json=failure(run)))
        if answers[-1].status_code != 503:
            return answers
        time.sleep(0.5)
    raise AssertionError(f"still 503 after {timeout}s")


def test_postgresql_stopped_gets_503_with_retry_after_and_recovers_by_itself(
    cluster: Cluster, receiver: tuple[httpx.Client, Store]
) -> None:
    http, store = receiver
    assert http.post("/alerts/databricks", json=failure(1)).status_code == 202
    cluster.stop()
    down, seconds = timed(lambda: http.post("/alerts/databricks", json=failure(2)))
    health = http.get("/healthz")
    assert down.status_code == 503 and down.headers["Retry-After"].isdigit(), down.text
    assert seconds < STORE_TIMEOUT + 6  # bounded: the connect timeout, or the receiver's own bound
    assert health.status_code == 503 and "Retry-After" in health.headers
    assert "127.0.0.1" not in down.text  # where the database is, and why it failed, go to the log only
    cluster.start()
    answers = until_accepted(http, 2)
    assert answers[-1].status_code == 202 and http.get("/healthz").status_code == 200
    # Every 202 is a stored incident; the 503 was not.
    assert sorted(int(i.run_id or 0) for i in store.incidents()) == [1, 2]


def test_postgresql_stalled_gets_503_within_the_bound_and_recovers_by_itself(
    proxy: Proxy, receiver: tuple[httpx.Client, Store]
) -> None:
    http, store = receiver
    assert http.post("/alerts/databricks", json=failure(1)).status_code == 202
    proxy.stall()
    first, seconds = timed(lambda: http.post("/alerts/databricks", json=failure(2)))
    assert first.status_code == 503 and first.headers["Retry-After"].isdigit(), first.text
    assert seconds < STORE_TIMEOUT + 2, seconds  # not as long as the sender waits
    health, health_seconds = timed(lambda: http.get("/healthz"))
    assert health.status_code == 503 and health_seconds < STORE_TIMEOUT + 2
    proxy.resume()
    answers = until_accepted(http, 2)
    # 202, or 200 "duplicate": the call cut at the deadline may have reconnected and stored the alert
    # once the database answered again. A 503 may so be stored (the sender's retry joins it); a 2xx
    # is never an alert that was not.
    assert answers[-1].status_code in {200, 202}
    assert sorted(int(i.run_id or 0) for i in store.incidents()) == [1, 2]


def test_sqlite_locked_by_another_writer_gets_503_within_the_bound(tmp_path: Path) -> None:
    """SQLite waits up to its busy timeout (30 s) for another writer's lock; the receiver does not."""
    import sqlite3

    path = tmp_path / "locked.db"
    store = Store(f"sqlite:///{path}")
    config = Settings(_env_file=None, webhook_token=SecretStr(TOKEN), store_timeout_seconds=STORE_TIMEOUT)
    server = ThreadedServer.on(build_receiver(config, store, prefect_api_url=None), lifespan="on")
    other = sqlite3.connect(path, isolation_level=None)
    try:
        with httpx.Client(base_url=server.url, timeout=60, headers={"X-Autoheal-Token": TOKEN}) as http:
            other.execute("BEGIN IMMEDIATE")  # holds the write lock
            locked, seconds = timed(lambda: http.post("/alerts/databricks", json=failure(1)))
            assert locked.status_code == 503 and "Retry-After" in locked.headers
            assert seconds < STORE_TIMEOUT + 2, seconds
            other.execute("ROLLBACK")
            answers = until_accepted(http, 1)
            assert answers[-1].status_code in {200, 202}
        assert [i.run_id for i in store.incidents()] == ["1"]
    finally:
        other.close()
        server.stop()
        store.engine.dispose()
