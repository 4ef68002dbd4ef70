"""The runner asks for only as many scheduled runs as it can start (flows/poller.py), against the real
Prefect test server and Prefect's own poller, limit manager and deployment registry."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any
from uuid import uuid4

import httpx
import prefect.runner._scheduled_run_poller as prefect_poller
import pytest
from prefect import flow, get_client
from prefect.runner._deployment_registry import DeploymentRegistry
from prefect.runner._limit_manager import LimitManager
from prefect.runner._scheduled_run_poller import ScheduledRunPoller

from flows import poller


@flow(name="poller-probe")
def probe() -> None:
    pass


@pytest.fixture
def restore_poller() -> Iterator[None]:
    original = ScheduledRunPoller._get_scheduled_flow_runs
    yield
    ScheduledRunPoller._get_scheduled_flow_runs = original  # type: ignore[method-assign]


@asynccontextmanager
async def _world(limit: int, runs: int) -> AsyncIterator[tuple[ScheduledRunPoller, LimitManager, list[str]]]:
    """A deployment with ``runs`` scheduled runs, and a poller for it with ``limit`` slots; the requests
    its client sends are listed."""
    sent: list[str] = []

    async def note(request: httpx.Request) -> None:
        sent.append(f"{request.url.path} {request.content.decode()}")

    async with get_client() as client, LimitManager(limit=limit) as limits:
        flow_id = await client.create_flow(probe)
        deployment_id = await client.create_deployment(flow_id=flow_id, name=f"probe-{uuid4()}")
        for _ in range(runs):
            await client.create_flow_run_from_deployment(deployment_id)
        registry = DeploymentRegistry()
        registry.register_deployment(deployment_id)
        client._client.event_hooks["request"].append(note)
        made: Any = ScheduledRunPoller(
            query_seconds=0.1,
            prefetch_seconds=10,
            client=client,
            limit_manager=limits,
            deployment_registry=registry,
            resolve_starter=None,  # type: ignore[arg-type]  # the poll never starts a run here
            runs_task_group=None,  # type: ignore[arg-type]
            storage_objs=[],
            process_manager=None,  # type: ignore[arg-type]
            state_proposer=None,  # type: ignore[arg-type]
            hook_runner=None,  # type: ignore[arg-type]
            cancellation_manager=None,  # type: ignore[arg-type]
            get_attempt_conclusion=lambda _: None,
        )
        yield made, limits, sent


def _poll(
    limit: int, runs: int, take: int, keep_ready: float = 10.0, polled_before: bool = False
) -> tuple[list[Any], list[str]]:
    """The runs and requests of one poll after ``take`` slots are taken (``polled_before``: and after a
    poll with every slot free)."""

    async def go() -> tuple[list[Any], list[str]]:
        async with _world(limit, runs) as (made, limits, sent):
            if polled_before:
                await made._get_scheduled_flow_runs()
            for _ in range(take):
                limits.acquire()
            sent.clear()
            poller.KEEP_READY_SECONDS = keep_ready
            try:
                found = await made._get_scheduled_flow_runs()
            finally:
                poller.KEEP_READY_SECONDS = 10.0
            return list(found), list(sent)

    return asyncio.run(go())


def test_install_replaces_prefects_poll_once(restore_poller: None) -> None:
    assert poller.install()
    assert poller.install()
    assert prefect_poller.ScheduledRunPoller._get_scheduled_flow_runs is poller.scheduled_runs_within_room


def test_a_poll_asks_for_as_many_runs_as_there_are_free_slots(prefect_server: None, restore_poller: None) -> None:
    poller.install()
    found, sent = _poll(limit=5, runs=6, take=2)
    assert len(found) == 3  # 5 slots, 2 taken: 3 of the 6 scheduled runs, not all of them
    assert len(sent) == 1 and '"limit":3' in sent[0].replace(" ", "")


def test_a_runner_with_every_slot_taken_does_not_ask(prefect_server: None, restore_poller: None) -> None:
    poller.install()
    found, sent = _poll(limit=2, runs=3, take=2, polled_before=True)
    assert found == [] and sent == []


def test_at_capacity_one_small_poll_now_and_then_keeps_the_deployment_ready(
    prefect_server: None, restore_poller: None
) -> None:
    poller.install()
    found, sent = _poll(limit=2, runs=3, take=2, keep_ready=0.0, polled_before=True)
    assert len(sent) == 1 and '"limit":1' in sent[0].replace(" ", "")
    assert len(found) == 1


def test_without_the_patch_prefect_asks_for_every_scheduled_run(
    prefect_server: None, restore_poller: None
) -> None:
    """What flows/poller.py is for: Prefect's own poll, at capacity, still fetches the whole backlog."""
    if poller._PREFECT:  # installed earlier in this process (a served runner started by another test)
        ScheduledRunPoller._get_scheduled_flow_runs = poller._PREFECT[0]  # type: ignore[method-assign]
    found, sent = _poll(limit=2, runs=3, take=2)
    assert len(found) == 3 and len(sent) == 1
