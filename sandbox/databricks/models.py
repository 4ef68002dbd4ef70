"""An emulated Databricks workspace: clusters, libraries, jobs and runs.

Time advances lazily: every read or write first calls ``tick()``, which plays
out every transition that has come due since the last call.
"""

from __future__ import annotations

import itertools

from sandbox.clock import SimClock
from sandbox.databricks.clusters import ClusterOps
from sandbox.databricks.compute import Cluster, Library, library_key
from sandbox.databricks.jobs import JobOps
from sandbox.databricks.runs import Job, JobRun, TaskRun
from sandbox.scenario import DatabricksSpec

__all__ = ["Cluster", "Job", "JobRun", "Library", "TaskRun", "Workspace", "library_key"]


class Workspace(ClusterOps, JobOps):
    """One Databricks workspace's clusters, libraries, jobs and runs."""

    def __init__(self, spec: DatabricksSpec, clock: SimClock) -> None:
        self.clock = clock
        self.token = spec.token
        self.workspace_id = spec.workspace_id
        self.account_id = spec.account_id
        self.failing_libraries = dict(spec.failing_libraries)
        self._ids = itertools.count(spec.first_id)
        self.clusters: dict[str, Cluster] = {}
        self.jobs: dict[int, Job] = {}
        self.runs: dict[int, JobRun] = {}
        self.task_runs: dict[int, tuple[JobRun, TaskRun]] = {}
        now = clock.now()
        for c in spec.clusters:
            self.clusters[c.cluster_id] = self._new_cluster(c, now)
        for j in spec.jobs:
            self.jobs[j.job_id] = Job(spec=j.model_copy(deep=True), created_time=now)
        for r in spec.runs:
            self.run_now(r.job_id)

    # ---- time ---------------------------------------------------------------

    def tick(self) -> None:
        now = self.clock.now()
        for cluster in self.clusters.values():
            self._tick_cluster(cluster, now)
        for run in self.runs.values():
            self._tick_run(run, now)

    def counts(self) -> dict[str, int]:
        """What was done to this workspace: for tests and benchmarks."""
        return {
            "cluster_starts": sum(c.starts for c in self.clusters.values()),
            "cluster_restarts": sum(c.restarts for c in self.clusters.values()),
            "cluster_resizes": sum(c.resizes for c in self.clusters.values()),
            "repairs": sum(len(r.repair_history) - 1 for r in self.runs.values()),
            "task_executions_in_repairs": sum(
                1
                for _, t in self.task_runs.values()
                if t.attempt_number > 0 and t.life_cycle_state != "PENDING" and t.result_state != "UPSTREAM_FAILED"
            ),
            "task_executions": sum(
                1
                for _, t in self.task_runs.values()
                if t.life_cycle_state != "PENDING" and t.result_state != "UPSTREAM_FAILED"
            ),
        }
