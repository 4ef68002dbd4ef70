"""The resource guard against a Prefect test server: the first holders of a new resource race to create
its concurrency limit, and every one of them must get the guard, one at a time."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import pytest
from prefect.client.orchestration import SyncPrefectClient

from tasks.locks import resource_guard

pytestmark = pytest.mark.filterwarnings("ignore:unclosed <socket.socket:ResourceWarning")


def test_two_first_holders_of_a_resource_both_get_the_guard_in_turn(
    prefect_server: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Prefect's upsert of a limit reads it, then creates it when it is missing. Hold each thread's
    # first read until both have read: both see no limit and both create it, as twenty flow runs on
    # one dead cluster did (the loser used to get ObjectAlreadyExists and its incident escalated).
    both_read = threading.Barrier(2, timeout=30)
    first_read_done = threading.local()
    real_read = SyncPrefectClient.read_global_concurrency_limit_by_name

    def read_then_wait(self: SyncPrefectClient, name: str) -> Any:
        try:
            return real_read(self, name)
        finally:
            if not getattr(first_read_done, "value", False):
                first_read_done.value = True
                both_read.wait()

    monkeypatch.setattr(SyncPrefectClient, "read_global_concurrency_limit_by_name", read_then_wait)

    resource = f"cluster:race-{uuid.uuid4().hex[:8]}"
    inside: list[str] = []
    spans: list[tuple[float, float]] = []
    errors: list[BaseException] = []

    def hold(name: str) -> None:
        try:
            with resource_guard(resource, timeout_seconds=30):
                entered = time.monotonic()
                inside.append(name)
                time.sleep(0.3)
                spans.append((entered, time.monotonic()))
        except BaseException as exc:  # reported by the assertion below, with its type
            errors.append(exc)

    threads = [threading.Thread(target=hold, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    assert not errors, [f"{type(e).__name__}: {e}" for e in errors]
    assert sorted(inside) == ["a", "b"]
    first, second = sorted(spans)
    assert first[1] <= second[0]  # one holder at a time


def test_a_prefect_api_that_does_not_answer_ends_the_attempt_as_transient(monkeypatch: pytest.MonkeyPatch) -> None:
    """An orchestrator outage is not the incident's fault: the guard waits it out, then the attempt is
    transient (retried, or escalated with that reason), never a permanent failure that escalates at once."""
    import socket

    from prefect.settings import PREFECT_API_URL, temporary_settings

    from autoheal.domain.outcome import TransientFailure
    from tasks import locks

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setattr(locks, "PATIENCE_SECONDS", 3.0)
    started = time.monotonic()
    with (
        temporary_settings({PREFECT_API_URL: f"http://127.0.0.1:{port}/api"}),
        pytest.raises(TransientFailure, match="did not answer for 3s") as info,
        resource_guard(f"cluster:down-{uuid.uuid4().hex[:8]}"),
    ):
        raise AssertionError("the guard was taken with no API to take it from")
    assert info.value.retry_after == 3.0
    assert 2.0 <= time.monotonic() - started < 30
