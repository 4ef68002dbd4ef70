"""One real stack for the end-to-end tests: a Prefect server on PostgreSQL (127.0.0.1:5432), the
served deployments (flow runs in their own processes), the receiver, the sandbox, and the store
on PostgreSQL too."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from autoheal import services as context
from autoheal.app.demo import DEMO_SETTINGS
from autoheal.app.scratch import ADMIN_URL, clean_environment, scratch_databases
from autoheal.app.stack import Stack
from autoheal.store.store import Store
from sandbox.scenario import Scenario, load_scenario

PG = os.environ.get("AUTOHEAL_TEST_POSTGRES", ADMIN_URL)


@pytest.fixture(autouse=True)
def _clean_cloud_env() -> None:
    """The stack's settings live in this process's environment for the whole session: keep them."""


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir: Path = tmp_path_factory.mktemp("stack")
    with clean_environment(), scratch_databases("autoheal_e2e", PG) as (prefect_db, store_db):
        the_stack = Stack(
            workdir,
            scenario=load_scenario("demo"),
            prefect_database_url=prefect_db,
            settings={**DEMO_SETTINGS, "AUTOHEAL_DATABASE_URL": store_db, "AUTOHEAL_RECEIVER_PORT": "0"},
        )
        try:
            the_stack.start()
            yield the_stack
        finally:
            the_stack.stop()


@pytest.fixture
def world(stack: Stack) -> Iterator[tuple[Stack, Store]]:
    """A fresh store for each test; the test loads its own scenario into the sandbox. Before the store
    is dropped, what the last test left in flight is cancelled: a run that outlived its test once
    wrote its incident's end into the next test's fresh store, where the same id was a new incident."""
    asyncio.run(cancel_remediations())
    store = context.get_store()
    store.drop_all()
    store.migrate()
    yield stack, store


async def cancel_remediations(timeout: float = 30) -> None:
    """Cancel every remediate flow run not yet final, and wait until Prefect has them final."""
    from prefect import get_client
    from prefect.client.schemas.filters import (
        FlowFilter,
        FlowFilterName,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.states import Cancelled, Cancelling

    live = FlowRunFilter(
        state=FlowRunFilterState(
            type=FlowRunFilterStateType(
                any_=[StateType.SCHEDULED, StateType.PENDING, StateType.RUNNING, StateType.PAUSED, StateType.CANCELLING]
            )
        )
    )
    remediate = FlowFilter(name=FlowFilterName(any_=["remediate"]))
    async with get_client() as client:
        for run in await client.read_flow_runs(flow_filter=remediate, flow_run_filter=live):
            # A run with a process is stopped by its runner; one without (scheduled, paused) just ends.
            running = run.state is not None and run.state.type in (StateType.RUNNING, StateType.CANCELLING)
            await client.set_flow_run_state(run.id, Cancelling() if running else Cancelled(), force=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not await client.read_flow_runs(flow_filter=remediate, flow_run_filter=live):
                return
            await asyncio.sleep(0.5)
        # Cancelling with no runner to act on it (its runner was killed by the test): its process is gone.
        for run in await client.read_flow_runs(flow_filter=remediate, flow_run_filter=live):
            await client.set_flow_run_state(run.id, Cancelled(), force=True)


def load(stack: Stack, scenario: str | Scenario) -> None:
    """Load a scenario with fresh run ids: Prefect remembers event ids, which derive from run ids."""
    assert stack.sandbox is not None
    world = load_scenario(scenario) if isinstance(scenario, str) else scenario
    world.adf.run_id_seed = uuid.uuid4().hex
    world.databricks.first_id = 1_000_000 * (2 + uuid.uuid4().int % 1000)
    stack.sandbox.load(world)
