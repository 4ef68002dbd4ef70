"""An injectable clock, so verification polls and Retry-After waits can be tested without waiting."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Protocol, TypeVar

T = TypeVar("T")


class Clock(Protocol):
    def time(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def time(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        time.sleep(max(0.0, seconds))


class PollTimeout(Exception):
    """Raised by :func:`poll` when ``done`` never held; the caller decides what it means."""

    def __init__(self, what: str, timeout: float, last: object) -> None:
        super().__init__(f"timed out after {timeout:g}s waiting for {what}")
        self.last = last


def poll(
    fetch: Callable[[], T], done: Callable[[T], bool], *, clock: Clock, interval: float, timeout: float, what: str
) -> T:
    """Call ``fetch`` every ``interval`` seconds until ``done(value)``; raise PollTimeout past ``timeout``."""
    deadline = clock.time() + timeout
    while True:
        value = fetch()
        if done(value):
            return value
        if clock.time() >= deadline:
            raise PollTimeout(what, timeout, value)
        clock.sleep(interval)


# Holds a named resource ("cluster:<id>") while a playbook changes it, so that a second remediation of
# the same resource waits and then sees the change instead of repeating it. The flows pass Prefect's
# global concurrency limits (tasks/locks.py); alone, a playbook holds nothing.
Guard = Callable[[str], AbstractContextManager[object]]


def no_guard(resource: str) -> AbstractContextManager[object]:
    return nullcontext()


class Limits:
    """How often and how long playbooks poll while they verify, and what guards their changes."""

    def __init__(
        self,
        *,
        poll_interval: float = 10,
        cluster_timeout: float = 1800,
        run_timeout: float = 7200,
        upstream_wait: float = 1800,
        upstream_lookback_hours: float = 24,
        guard: Guard = no_guard,
    ) -> None:
        self.poll_interval = poll_interval
        self.cluster_timeout = cluster_timeout
        self.run_timeout = run_timeout
        self.upstream_wait = upstream_wait
        self.upstream_lookback_hours = upstream_lookback_hours
        self.guard = guard


class ScaledClock:
    """Simulated seconds that pass ``1/scale`` times faster than real ones, matching a sandbox's time_scale."""

    def __init__(self, scale: float) -> None:
        self.scale = scale
        self._origin = time.time()

    def time(self) -> float:
        return self._origin + (time.time() - self._origin) / self.scale

    def sleep(self, seconds: float) -> None:
        time.sleep(max(0.0, seconds) * self.scale)
