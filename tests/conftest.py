"""Shared fixtures: one sandbox per test session, reset between tests; SDK clients built from settings."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from autoheal.app.rehearsal import sandbox_settings
from autoheal.cloud.clients import adf_client, databricks_client
from autoheal.cloud.polling import Limits
from autoheal.settings import Settings
from sandbox import Sandbox
from sandbox.scenario import Scenario, load_scenario


class FastClock:
    """Virtual time: every requested sleep is recorded and added to time(), but really takes 2 ms.

    The sandbox runs 6000x faster than the clouds, so a 10 s poll interval here is plenty.
    """

    def __init__(self) -> None:
        self.offset = 0.0
        self.sleeps: list[float] = []

    def time(self) -> float:
        return time.time() + self.offset

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.offset += seconds
        time.sleep(0.002)


@pytest.fixture(autouse=True)
def _clean_cloud_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith(("DATABRICKS_", "ARM_", "AZURE_", "AUTOHEAL_")):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox() as sb:
        yield sb


@pytest.fixture
def load(sandbox: Sandbox) -> Iterator[Callable[[str | Scenario], Sandbox]]:
    """Load a bundled scenario by name (or a Scenario) into the shared sandbox."""

    def _load(scenario: str | Scenario) -> Sandbox:
        sandbox.load(load_scenario(scenario) if isinstance(scenario, str) else scenario)
        return sandbox

    yield _load
    sandbox.load(Scenario())


@pytest.fixture
def settings(sandbox: Sandbox) -> Settings:
    return sandbox_settings(
        sandbox, adf_resource_group="rg-data", adf_factory="adf-sales", databricks_retry_timeout_seconds=30
    )


@pytest.fixture
def clock() -> FastClock:
    return FastClock()


@pytest.fixture
def limits() -> Limits:
    return Limits(poll_interval=10, cluster_timeout=3600, run_timeout=7200, upstream_wait=3600)


@pytest.fixture
def dbx(settings: Settings, clock: FastClock) -> Iterator[Any]:
    client = databricks_client(settings, clock=clock)
    yield client
    client.api_client._api_client._session.close()


@pytest.fixture
def adf(settings: Settings, clock: FastClock) -> Iterator[Any]:
    client = adf_client(settings, clock=clock)
    yield client
    client.close()


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
    """Wait, in real time, for the sandbox to reach a state (e.g. the scenario's run to fail)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.005)
    raise AssertionError(f"condition not met within {timeout}s")
