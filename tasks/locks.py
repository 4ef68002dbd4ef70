"""Guard a resource (a cluster, a job, a pipeline run) while a playbook changes it, with Prefect
global concurrency limits: they hold across flow-run processes and machines, and show in the UI.

Limits are created on demand (a creation lost to a concurrent one is fine), and taken with
``strict=True``: without it Prefect silently skips a limit that does not exist.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from prefect import get_client
from prefect.concurrency.sync import concurrency
from prefect.exceptions import ObjectAlreadyExists

# How long a slot outlives a holder that stopped renewing it: a flow run killed while it held the
# guard frees the slot when its lease expires (Prefect's repossessor looks every 15 s). The holder
# renews it while alive. Prefect's default is 300 s; 60 s is the least its API accepts
# (prefect/server/api/concurrency_limits_v2.py, increment-with-lease).
LEASE_SECONDS = 60


def limit_name(resource: str) -> str:
    """``cluster:0923-164208-etl001`` -> ``autoheal-cluster-0923-164208-etl001`` (Prefect-safe)."""
    return "autoheal-" + re.sub(r"[^a-z0-9-]+", "-", resource.lower()).strip("-")[:100]


@contextmanager
def resource_guard(resource: str, *, timeout_seconds: float = 3600) -> Iterator[None]:
    """The playbooks' guard (autoheal/cloud/polling.py) for flow runs: one holder per resource at a time."""
    name = limit_name(resource)
    with get_client(sync_client=True) as client:
        try:
            client.upsert_global_concurrency_limit_by_name(name, limit=1)
        except ObjectAlreadyExists:
            # Prefect's upsert reads, then creates what it did not find: the first holders of a new
            # resource (twenty runs failed on one dead cluster) all find nothing and all create it,
            # and all but one get a 409. The limit exists now: upsert again to see that it is 1.
            client.upsert_global_concurrency_limit_by_name(name, limit=1)
    with concurrency(name, occupy=1, strict=True, timeout_seconds=timeout_seconds, lease_duration=LEASE_SECONDS):
        yield
