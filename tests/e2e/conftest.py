"""One real stack for the end-to-end tests: a Prefect server on PostgreSQL (127.0.0.1:5432), the
served deployments (flow runs in their own processes), the receiver, the sandbox, and the store
on PostgreSQL too."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from autoheal import services as context
from autoheal.app.demo import DEMO_SETTINGS
from autoheal.app.scratch import ADMIN_URL, clean_environment, scratch_databases
from autoheal.app.stack import Stack
from autoheal.store.store import Store
from flows.children import run_process_name
from sandbox.scenario import Scenario, load_scenario
from tests.e2e.prefect_api import prefect_of
from tests.processes import descendants, name_of

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
            settings={
                **DEMO_SETTINGS,
                "AUTOHEAL_DATABASE_URL": store_db,
                "AUTOHEAL_RECEIVER_PORT": "0",
                # Prefect's least heartbeat period is 30 s; two missed and the run is a zombie.
                "AUTOHEAL_ZOMBIE_AFTER_SECONDS": "65",
            },
        )
        try:
            the_stack.start()
            with prefect_of(the_stack):
                yield the_stack
        finally:
            the_stack.stop()


@pytest.fixture
def world(stack: Stack) -> Iterator[tuple[Stack, Store]]:
    """A fresh store for each test; the test loads its own scenario into the sandbox. Before the store
    is dropped, what the last test left in flight is ended: a run that outlived its test once wrote
    its incident's end into the next test's fresh store, where the same id was a new incident."""
    asyncio.run(end_runs_in_flight(stack))
    store = context.get_store()
    store.drop_all()
    store.migrate()
    yield stack, store


async def end_runs_in_flight(stack: Stack, flows: tuple[str, ...] = ("remediate", "sweep")) -> None:
    """End every remediate (and sweep) flow run not yet final: its process is killed (each names itself
    after its run, flows/children.py) and the run set Cancelled; then the guards' concurrency limits are
    deleted, so no slot a killed run held waits out its lease in the next test. (Prefect's own
    cancellation took over 30 s a run here.) A sweep that ran when the stack started makes incidents and
    remediate runs of its own."""
    from prefect import get_client
    from prefect.client.schemas.filters import (
        FlowFilter,
        FlowFilterName,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.states import Cancelled

    live = FlowRunFilter(
        state=FlowRunFilterState(
            type=FlowRunFilterStateType(
                any_=[StateType.SCHEDULED, StateType.PENDING, StateType.RUNNING, StateType.PAUSED, StateType.CANCELLING]
            )
        )
    )
    ended = 0
    async with get_client() as client:
        ours = FlowFilter(name=FlowFilterName(any_=list(flows)))
        for _ in range(5):  # again: a run Pending when listed may have started meanwhile
            runs = await client.read_flow_runs(flow_filter=ours, flow_run_filter=live)
            if not runs:
                break
            ended += len(runs)
            for run in runs:
                await client.set_flow_run_state(run.id, Cancelled(message="ended by the test fixture"), force=True)
            names = {run_process_name(run.id) for run in runs}
            for serve in stack.serves:
                for pid in descendants(serve.pid):
                    if name_of(pid) in names:
                        with contextlib.suppress(ProcessLookupError):
                            os.kill(pid, signal.SIGKILL)
            await asyncio.sleep(1)
        if ended:
            for limit in await client.read_global_concurrency_limits(limit=200):
                # test_reliability.py's lease test keeps a killed holder's slot across the module's tests
                if limit.name.startswith("autoheal-") and "lease-test" not in limit.name:
                    await client.delete_global_concurrency_limit_by_name(limit.name)


def load(stack: Stack, scenario: str | Scenario) -> None:
    """Load a scenario with fresh run ids: Prefect remembers event ids, which derive from run ids."""
    assert stack.sandbox is not None
    world = load_scenario(scenario) if isinstance(scenario, str) else scenario
    world.adf.run_id_seed = uuid.uuid4().hex
    world.databricks.first_id = 1_000_000 * (2 + uuid.uuid4().int % 1000)
    stack.sandbox.load(world)
