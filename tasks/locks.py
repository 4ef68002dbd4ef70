"""Guard a resource (a cluster, a job, a pipeline run) while a playbook changes it, with Prefect
global concurrency limits: they hold across flow-run processes and machines, and show in the UI.

Limits are created on demand, when taking one finds it missing (a creation lost to a concurrent one is
fine), and taken with ``strict=True``: without it Prefect silently skips a limit that does not exist.
"""

from __future__ import annotations

import logging
import re
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, TypeVar

import httpx
from prefect import get_client
from prefect.concurrency.asyncio import ConcurrencySlotAcquisitionError
from prefect.concurrency.sync import concurrency
from prefect.exceptions import ObjectAlreadyExists

from autoheal.domain.outcome import TransientFailure

log = logging.getLogger("autoheal.guard")
T = TypeVar("T")

# How long a slot outlives a holder that stopped renewing it: a flow run killed while it held the
# guard frees the slot when its lease expires (Prefect's repossessor looks every 15 s). The holder
# renews it while alive. Prefect's default is 300 s; 60 s is the least its API accepts
# (prefect/server/api/concurrency_limits_v2.py, increment-with-lease).
LEASE_SECONDS = 60


def limit_name(resource: str) -> str:
    """``cluster:0923-164208-etl001`` -> ``autoheal-cluster-0923-164208-etl001`` (Prefect-safe)."""
    return "autoheal-" + re.sub(r"[^a-z0-9-]+", "-", resource.lower()).strip("-")[:100]


# How long the guard waits for a Prefect API that does not answer (a server restarting, a network
# blip) before the attempt ends as transient: an outage of the orchestrator is not the incident's fault,
# and escalating on it once escalated half a storm (tests/e2e/test_alert_path.py, Prefect stopped).
PATIENCE_SECONDS = 120.0


def _patiently(call: Callable[[], T], what: str) -> T:
    """``call()``, again while the Prefect API does not answer, for up to PATIENCE_SECONDS."""
    patience = PATIENCE_SECONDS
    deadline = time.monotonic() + patience
    pause = 1.0
    while True:
        try:
            return call()
        except Exception as exc:
            if not _unanswered(exc):
                raise
            if time.monotonic() + pause > deadline:
                raise TransientFailure(
                    f"the Prefect API did not answer for {patience:g}s ({what}): {type(exc).__name__}: {exc}",
                    retry_after=patience,
                ) from exc
            log.warning("the Prefect API did not answer (%s): %s; again in %gs", what, type(exc).__name__, pause)
            time.sleep(pause)
            pause = min(pause * 2, 15.0)


def _unanswered(exc: BaseException | None) -> bool:
    """Whether the Prefect API did not answer (no connection, a timeout, a 5xx), here or as the cause
    Prefect wrapped (a slot it could not acquire says only "Unable to acquire", from the ConnectError)."""
    while exc is not None:
        if isinstance(exc, httpx.HTTPStatusError):
            return exc.response.status_code >= 500
        if isinstance(exc, httpx.HTTPError):
            return True
        exc = exc.__cause__
    return False


def _ensure_limit(name: str) -> None:
    with get_client(sync_client=True) as client:
        try:
            client.upsert_global_concurrency_limit_by_name(name, limit=1)
        except ObjectAlreadyExists:
            # Prefect's upsert reads, then creates what it did not find: the first holders of a new
            # resource (twenty runs failed on one dead cluster) all find nothing and all create it,
            # and all but one get a 409. The limit exists now: upsert again to see that it is 1.
            client.upsert_global_concurrency_limit_by_name(name, limit=1)


@contextmanager
def resource_guard(resource: str, *, timeout_seconds: float = 3600) -> Iterator[None]:
    """The playbooks' guard (autoheal/cloud/polling.py) for flow runs: one holder per resource at a time.

    Taking it waits out a Prefect API that does not answer (PATIENCE_SECONDS), then fails the attempt
    as transient. Once taken, a lost lease renewal does not stop the holder (Prefect's default with
    ``strict=True`` cancels it, half-way through a change): the playbooks read the state before they
    act, so a second holder would find the change made. A release the API does not take is logged; the
    slot's lease frees it (the server keeps leases on disk, flows/prefect_server.py)."""
    name = limit_name(resource)
    taking = f"taking the guard of {resource}"
    try:
        slot = _patiently(lambda: _take(name, timeout_seconds), taking)
    except ConcurrencySlotAcquisitionError as exc:
        if exc.__cause__ is not None:  # not a missing limit: the API refused (a 4xx) or failed
            raise
        # The first holder of this resource: the limit does not exist yet. Taking first and creating
        # only then costs one API call (20 ms here) where the resource was guarded before, and the same
        # three calls as creating first where it was not.
        _patiently(lambda: _ensure_limit(name), f"creating the guard of {resource}")
        slot = _patiently(lambda: _take(name, timeout_seconds), taking)
    try:
        yield
    except BaseException:
        _release(slot, resource, sys.exc_info())
        raise
    _release(slot, resource, (None, None, None))


def _take(name: str, timeout_seconds: float) -> AbstractContextManager[object]:
    """One slot of ``name``, entered (a new context manager each try: a failed one cannot be re-entered)."""
    slot = concurrency(
        name,
        occupy=1,
        strict=True,
        timeout_seconds=timeout_seconds,
        lease_duration=LEASE_SECONDS,
        raise_on_lease_renewal_failure=False,
    )
    slot.__enter__()
    return slot


def _release(slot: AbstractContextManager[object], resource: str, exc_info: Any) -> None:
    try:
        slot.__exit__(*exc_info)
    except httpx.HTTPError as exc:
        log.warning(
            "the Prefect API did not take the release of the guard of %s (%s): its lease frees it within %ss",
            resource,
            type(exc).__name__,
            LEASE_SECONDS + 15,
        )
