"""Simulated time: real wall-clock timestamps, shortened durations."""

from __future__ import annotations

import time
from datetime import UTC, datetime


class SimClock:
    """Timestamps are real; durations in a scenario are multiplied by ``scale``.

    With ``scale=1/6000`` a "4-minute" cluster start takes 40 ms of real time.
    """

    def __init__(self, scale: float = 1.0) -> None:
        self.scale = scale
        self._frozen_at: float | None = None

    def now(self) -> float:
        return self._frozen_at if self._frozen_at is not None else time.time()

    def freeze(self) -> None:
        """Stop time, so a test can look at intermediate states and then :meth:`advance` it."""
        self._frozen_at = time.time()

    def advance(self, simulated_seconds: float) -> None:
        if self._frozen_at is None:
            raise RuntimeError("advance() needs a frozen clock: call freeze() first")
        self._frozen_at += simulated_seconds * self.scale

    def after(self, simulated_seconds: float) -> float:
        return self.now() + simulated_seconds * self.scale

    @staticmethod
    def ms(ts: float) -> int:
        return int(ts * 1000)

    @staticmethod
    def iso(ts: float | None) -> str | None:
        if ts is None:
            return None
        return datetime.fromtimestamp(ts, tz=UTC).isoformat().replace("+00:00", "Z")
