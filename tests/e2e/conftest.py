"""One real stack for the end-to-end tests: a Prefect server on PostgreSQL (127.0.0.1:5432), the
served deployments (flow runs in their own processes), the receiver, the sandbox, and the store
on PostgreSQL too."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from autoheal import context
from autoheal.demo import DEMO_SETTINGS
from autoheal.stack import Stack
from autoheal.store import Store
from sandbox.scenario import Scenario, load_scenario

PG = os.environ.get("AUTOHEAL_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(autouse=True)
def _clean_cloud_env() -> None:
    """The stack's settings live in this process's environment for the whole session: keep them."""


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    suffix = uuid.uuid4().hex[:8]
    names = [f"autoheal_e2e_prefect_{suffix}", f"autoheal_e2e_store_{suffix}"]
    admin = create_engine(PG, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for name in names:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    base = PG.rsplit("/", 1)[0].split("://", 1)[1]
    saved = dict(os.environ)
    for key in list(os.environ):
        if key.startswith(("DATABRICKS_", "AZURE_", "AUTOHEAL_", "PREFECT_")):
            del os.environ[key]
    workdir: Path = tmp_path_factory.mktemp("stack")
    the_stack = Stack(
        workdir,
        scenario=load_scenario("demo"),
        prefect_database_url=f"postgresql+asyncpg://{base}/{names[0]}",
        settings={
            **DEMO_SETTINGS,
            "AUTOHEAL_DATABASE_URL": f"postgresql://{base}/{names[1]}",
            "AUTOHEAL_RECEIVER_PORT": "0",
        },
    )
    try:
        the_stack.start()
        yield the_stack
    finally:
        the_stack.stop()
        os.environ.clear()
        os.environ.update(saved)
        context.reset()
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


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
