"""Serialize remediation per resource (a cluster, a pipeline) with Prefect global concurrency limits.

Limits are created on demand, and taken with ``strict=True``: without it Prefect silently skips
a limit that does not exist.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from prefect import get_client
from prefect.concurrency.asyncio import concurrency


def limit_name(lock: str) -> str:
    """``cluster:0923-164208-etl001`` -> ``autoheal-cluster-0923-164208-etl001`` (Prefect-safe)."""
    return "autoheal-" + re.sub(r"[^a-z0-9-]+", "-", lock.lower()).strip("-")[:100]


@asynccontextmanager
async def resource_lock(lock: str, *, timeout_seconds: float = 3600) -> AsyncIterator[None]:
    name = limit_name(lock)
    async with get_client() as client:
        await client.upsert_global_concurrency_limit_by_name(name, limit=1)
    async with concurrency(name, occupy=1, strict=True, timeout_seconds=timeout_seconds):
        yield
