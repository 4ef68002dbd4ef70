"""One real stack for the end-to-end tests: a Prefect server on PostgreSQL (127.0.0.1:5432), the
served deployments (flow runs in their own processes), the receiver, the sandbox, and the store
on PostgreSQL too."""

from __future__ import annotations

import os
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
    """A fresh store for each test; the test loads its own scenario into the sandbox."""
    store = context.get_store()
    store.drop_all()
    store.migrate()
    yield stack, store


def load(stack: Stack, scenario: str | Scenario) -> None:
    """Load a scenario with fresh run ids: Prefect remembers event ids, which derive from run ids."""
    assert stack.sandbox is not None
    world = load_scenario(scenario) if isinstance(scenario, str) else scenario
    world.adf.run_id_seed = uuid.uuid4().hex
    world.databricks.first_id = 1_000_000 * (2 + uuid.uuid4().int % 1000)
    stack.sandbox.load(world)
