"""One Prefect test server per session; the flow reads its settings from the environment, pointed
at the shared sandbox and a fresh SQLite store per test."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from autoheal import services as context
from autoheal.app.rehearsal import sandbox_settings
from autoheal.services import get_store
from autoheal.store.store import Store
from sandbox import Sandbox


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[None]:
    import os

    from prefect.testing.utilities import prefect_test_harness

    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"  # no telemetry writes, offline
    with prefect_test_harness(server_startup_timeout=60):
        yield
    _collect_prefect_sockets()


@pytest.fixture(scope="session")
def runner(prefect_server: None) -> Iterator[asyncio.Runner]:
    """One event loop for every flow in the session: Prefect's API client keeps keep-alive sockets
    per loop, so a loop per test would orphan them. Closed, and its sockets collected, at the end."""
    with asyncio.Runner() as loop_runner:
        yield loop_runner
    _collect_prefect_sockets()


@pytest.fixture
def flow_env(
    prefect_server: None, sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Store]:
    """Point the flow at the sandbox: ``flow_env(mode="on", **settings)`` returns the store."""

    def configure(mode: str = "on", **extra: Any) -> Store:
        base = sandbox_settings(sandbox)
        values = {
            "DATABRICKS_HOST": base.databricks_host,
            "DATABRICKS_TOKEN": base.databricks_token.get_secret_value(),
            "AZURE_SUBSCRIPTION_ID": base.azure_subscription_id,
            "AUTOHEAL_ADF_BASE_URL": base.adf_base_url,
            "AUTOHEAL_ADF_CA_BUNDLE": base.adf_ca_bundle,
            "AUTOHEAL_ADF_TOKEN": base.adf_token.get_secret_value(),
            "AUTOHEAL_ADF_RESOURCE_GROUP": "rg-data",
            "AUTOHEAL_ADF_FACTORY": "adf-sales",
            "AUTOHEAL_MODE": mode,
            "AUTOHEAL_DELAY_SCALE": "0.001",
            "AUTOHEAL_POLL_INTERVAL_SECONDS": "0.01",
            "AUTOHEAL_DATABASE_URL": f"sqlite:///{tmp_path / 'autoheal.db'}",
            "AUTOHEAL_DATABRICKS_RETRY_TIMEOUT_SECONDS": "5",
        }
        values.update({f"AUTOHEAL_{k.upper()}": str(v) for k, v in extra.items()})
        for key, value in values.items():
            monkeypatch.setenv(key, str(value))
        context.reset()
        return get_store()

    yield configure  # type: ignore[misc]
    context.reset()
    _collect_prefect_sockets()


def _collect_prefect_sockets() -> None:
    """Collect the sockets Prefect's clients leave behind when their event loop closes, here where the
    ResourceWarning is expected, rather than at a random later point where it would fail another test."""
    import gc
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()
