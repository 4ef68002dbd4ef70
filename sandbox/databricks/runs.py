"""Emulated Databricks jobs, runs and task runs as state: what the Jobs API returns for them
(sandbox/databricks/jobs.py moves them through their life cycles)."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from sandbox.clock import SimClock
from sandbox.scenario import JobSpec, TaskSpec

TERMINAL_LIFE_CYCLES = {"TERMINATED", "SKIPPED", "INTERNAL_ERROR"}
FAILED_RESULTS = {"FAILED", "TIMEDOUT", "CANCELED", "UPSTREAM_FAILED", "MAXIMUM_CONCURRENT_RUNS_REACHED"}


# The fields a task run shares with a Run, for get-output's metadata.
TASK_RUN_AS_RUN = {
    "run_id",
    "attempt_number",
    "state",
    "start_time",
    "end_time",
    "setup_duration",
    "execution_duration",
    "cleanup_duration",
    "cluster_instance",
}


def run_state(life_cycle_state: str, result_state: str | None, message: str) -> dict[str, Any]:
    """The ``state`` object of a run or a task run."""
    out: dict[str, Any] = {
        "life_cycle_state": life_cycle_state,
        "state_message": message,
        "user_cancelled_or_timedout": False,
    }
    if result_state:
        out["result_state"] = result_state
    return out


@dataclass
class TaskRun:
    run_id: int
    spec: TaskSpec
    attempt_number: int
    life_cycle_state: str = "PENDING"
    result_state: str | None = None
    state_message: str = ""
    start_time: float = 0.0
    end_time: float = 0.0
    error: str | None = None
    error_trace: str | None = None
    timeout_seconds: int = 0

    @property
    def terminal(self) -> bool:
        return self.life_cycle_state in TERMINAL_LIFE_CYCLES

    def state(self) -> dict[str, Any]:
        return run_state(self.life_cycle_state, self.result_state, self.state_message)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "run_id": self.run_id,
            "task_key": self.spec.task_key,
            "attempt_number": self.attempt_number,
            "state": self.state(),
            "notebook_task": {"notebook_path": self.spec.notebook_path, "source": "WORKSPACE"},
            "start_time": SimClock.ms(self.start_time),
            "end_time": SimClock.ms(self.end_time) if self.terminal else 0,
            "setup_duration": 0,
            "execution_duration": SimClock.ms(self.end_time - self.start_time) if self.terminal else 0,
            "cleanup_duration": 0,
            "depends_on": [{"task_key": k} for k in self.spec.depends_on],
            "run_if": "ALL_SUCCESS",
        }
        if self.spec.existing_cluster_id:
            out["existing_cluster_id"] = self.spec.existing_cluster_id
            out["cluster_instance"] = {"cluster_id": self.spec.existing_cluster_id}
        if self.timeout_seconds:
            out["timeout_seconds"] = self.timeout_seconds
        return out


@dataclass
class JobRun:
    run_id: int
    job: Job
    number_in_job: int
    start_time: float
    tasks: dict[str, TaskRun]
    life_cycle_state: str = "PENDING"
    result_state: str | None = None
    state_message: str = ""
    end_time: float | None = None
    queue: list[str] = field(default_factory=list)
    due: float | None = None
    repair_history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def terminal(self) -> bool:
        return self.life_cycle_state in TERMINAL_LIFE_CYCLES

    @property
    def latest_repair_id(self) -> int | None:
        repairs = [r for r in self.repair_history if r["type"] == "REPAIR"]
        return repairs[-1]["id"] if repairs else None

    def state(self) -> dict[str, Any]:
        return run_state(self.life_cycle_state, self.result_state, self.state_message)

    def status(self) -> dict[str, Any]:
        if not self.terminal:
            return {"state": "PENDING" if self.life_cycle_state == "PENDING" else "RUNNING"}
        ok = self.result_state == "SUCCESS"
        return {
            "state": "TERMINATED",
            "termination_details": {
                "code": "SUCCESS" if ok else "RUN_EXECUTION_ERROR",
                "type": "SUCCESS" if ok else "CLIENT_ERROR",
                "message": self.state_message,
            },
        }

    def run_duration_ms(self) -> int:
        """The time the run and all its repairs took to finish (0 until it has)."""
        return SimClock.ms(self.end_time) - SimClock.ms(self.start_time) if self.terminal and self.end_time else 0

    def as_dict(self, *, include_history: bool = False, include_tasks: bool = True) -> dict[str, Any]:
        """The run as ``runs/get`` answers it; ``runs/list`` leaves out the tasks unless ``expand_tasks``."""
        out: dict[str, Any] = {
            "job_id": self.job.spec.job_id,
            "run_id": self.run_id,
            "number_in_job": self.number_in_job,
            "original_attempt_run_id": self.run_id,
            "run_name": self.job.spec.name,
            "creator_user_name": "etl-owner@example.com",
            "run_type": "JOB_RUN",
            "trigger": "ONE_TIME",
            "state": self.state(),
            "status": self.status(),
            "start_time": SimClock.ms(self.start_time),
            "end_time": SimClock.ms(self.end_time) if self.end_time else 0,
            # A multi-task run's own durations are 0; its length is run_duration.
            "setup_duration": 0,
            "execution_duration": 0,
            "cleanup_duration": 0,
            "run_duration": self.run_duration_ms(),
            "run_page_url": f"https://sandbox.azuredatabricks.net/#job/{self.job.spec.job_id}/run/{self.run_id}",
        }
        if include_tasks:
            out["tasks"] = [t.as_dict() for t in self.tasks.values()]
        if self.job.spec.timeout_seconds:
            out["timeout_seconds"] = self.job.spec.timeout_seconds
        if include_history:
            out["repair_history"] = copy.deepcopy(self.repair_history)
        return out


@dataclass
class Job:
    spec: JobSpec
    created_time: float
    runs: int = 0

    def as_dict(self) -> dict[str, Any]:
        tasks = []
        for t in self.spec.tasks:
            task: dict[str, Any] = {
                "task_key": t.task_key,
                "notebook_task": {"notebook_path": t.notebook_path, "source": "WORKSPACE"},
                "depends_on": [{"task_key": k} for k in t.depends_on],
                "timeout_seconds": t.timeout_seconds,
            }
            if t.existing_cluster_id:
                task["existing_cluster_id"] = t.existing_cluster_id
            tasks.append(task)
        return {
            "job_id": self.spec.job_id,
            "creator_user_name": "etl-owner@example.com",
            "created_time": SimClock.ms(self.created_time),
            "settings": {
                "name": self.spec.name,
                "timeout_seconds": self.spec.timeout_seconds,
                "max_concurrent_runs": 1,
                "format": "MULTI_TASK",
                "tasks": tasks,
                **({"tags": dict(self.spec.tags)} if self.spec.tags else {}),
            },
        }
