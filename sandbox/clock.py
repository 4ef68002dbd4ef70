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

    def now(self) -> float:
        return time.time()

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
