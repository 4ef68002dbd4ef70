"""Everything the sandbox holds, behind one lock, with an in-process API for tests."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

from sandbox.adf.models import DataFactories
from sandbox.clock import SimClock
from sandbox.databricks.models import Workspace
from sandbox.faults import Fault, FaultBook
from sandbox.scenario import ClusterActivity, Scenario


@dataclass(frozen=True)
class Call:
    """One service request as it arrived: wall-clock time, method, path and query."""

    at: float
    method: str
    path: str
    query: str


class SandboxState:
    """The emulated workspace and factories of one scenario, plus pending faults."""

    def __init__(self, scenario: Scenario | None = None, *, journal_size: int = 100_000) -> None:
        self.lock = threading.Lock()
        self.faults = FaultBook()
        # Every service call, as WireMock's request journal: benchmarks time the first action from it.
        self.journal: deque[Call] = deque(maxlen=journal_size)
        self.load(scenario or Scenario())

    def load(self, scenario: Scenario) -> None:
        """Replace everything with a fresh copy of ``scenario``."""
        with self.lock:
            self.scenario = scenario
            self.clock = SimClock(scenario.time_scale)
            spec = scenario.model_copy(deep=True)
            self.workspace = Workspace(spec.databricks, self.clock)
            self.adf = DataFactories(spec.adf, self.clock)
            self.faults.clear()
            self.journal.clear()
            for fault in spec.faults:
                self.faults.add(fault)

    def reset(self) -> None:
        self.load(self.scenario)

    def add_fault(self, fault: Fault | None = None, **kwargs: Any) -> None:
        self.faults.add(fault or Fault(**kwargs))

    def add_cluster_activity(self, cluster_id: str, activity: ClusterActivity | None = None, **kwargs: Any) -> None:
        """Someone else (a user, another job) acts on a cluster: now, later, or in its past history."""
        with self.lock:
            self.workspace.add_activity(cluster_id, activity or ClusterActivity(**kwargs))

    def counts(self) -> dict[str, Any]:
        with self.lock:
            self.workspace.tick()
            self.adf.tick()
            return {**self.workspace.counts(), **self.adf.counts(), "faults_fired": len(self.faults.fired)}
