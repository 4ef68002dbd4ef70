"""Point this test process's Prefect client at one stack's server."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from prefect.settings import PREFECT_API_URL, temporary_settings

from autoheal.app.stack import Stack


@contextmanager
def prefect_of(stack: Stack) -> Iterator[None]:
    """While a stack runs, `get_client()` here talks to its server. Prefect reads its settings into a
    context once, when it is first imported: after an earlier stack of another module had set
    PREFECT_API_URL, that stale address stayed, and the next stack's fixtures could not reach their own
    server (test_scale_out.py run before test_alert_path.py: ConnectError in conftest.end_runs_in_flight)."""
    with temporary_settings(updates={PREFECT_API_URL: stack.api_url}):
        yield
