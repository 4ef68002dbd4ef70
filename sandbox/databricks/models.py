"""State machines of an emulated Databricks workspace: clusters, libraries, jobs and runs.

Time advances lazily: every read or write first calls ``tick()``, which plays
out every transition that has come due since the last call.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sandbox.clock import SimClock
from sandbox.databricks import errors
from sandbox.scenario import ClusterSpec, DatabricksSpec, JobSpec, TaskSpec

TERMINAL_LIFE_CYCLES = {"TERMINATED", "SKIPPED", "INTERNAL_ERROR"}
FAILED_RESULTS = {"FAILED", "TIMEDOUT", "CANCELED", "UPSTREAM_FAILED", "MAXIMUM_CONCURRENT_RUNS_REACHED"}


def library_key(spec: dict[str, Any]) -> str:
    """A library's identity, e.g. ``pandas==2.2.0`` or ``dbfs:/libs/x.jar``."""
    if "pypi" in spec:
        return str(spec["pypi"]["package"])
    if "maven" in spec:
        return str(spec["maven"]["coordinates"])
    for kind in ("jar", "whl", "egg", "requirements"):
        if kind in spec:
            return str(spec[kind])
    raise errors.invalid_parameter(f"Library {spec} has no supported type (pypi, maven, jar, whl, requirements).")


@dataclass
class Library:
    spec: dict[str, Any]
    status: str = "PENDING"
    messages: list[str] = field(default_factory=list)
    due: float | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"library": self.spec, "status": self.status,
                               "is_library_for_all_clusters": False}
        if self.messages:
            out["messages"] = self.messages
        return out


@dataclass
class Cluster:
    spec: ClusterSpec
    state: str
    num_workers: int
    autoscale: dict[str, int] | None
    termination_reason: dict[str, Any] | None
    driver_healthy: bool
    fail_starts: int
    state_message: str = ""
    start_time: float = 0.0
    terminated_time: float | None = None
    due: float | None = None
    on_due: Callable[[float], None] | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    libraries: list[Library] = field(default_factory=list)
    starts: int = 0
    restarts: int = 0
    resizes: int = 0

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "cluster_id": self.spec.cluster_id,
            "cluster_name": self.spec.cluster_name,
            "spark_version": self.spec.spark_version,
            "node_type_id": self.spec.node_type_id,
            "driver_node_type_id": self.spec.node_type_id,
            "state": self.state,
            "state_message": self.state_message,
            "start_time": SimClock.ms(self.start_time),
            "cluster_source": "UI",
            "creator_user_name": "etl-owner@example.com",
            "autotermination_minutes": 120,
            "enable_elastic_disk": True,
            "default_tags": {"Vendor": "Databricks", "Creator": "etl-owner@example.com",
                             "ClusterName": self.spec.cluster_name, "ClusterId": self.spec.cluster_id},
        }
        if self.autoscale:
            out["autoscale"] = dict(self.autoscale)
        else:
            out["num_workers"] = self.num_workers
        if self.termination_reason:
            out["termination_reason"] = self.termination_reason
        if self.terminated_time is not None:
            out["terminated_time"] = SimClock.ms(self.terminated_time)
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
        out: dict[str, Any] = {"life_cycle_state": self.life_cycle_state,
                               "state_message": self.state_message, "user_cancelled_or_timedout": False}
        if self.result_state:
            out["result_state"] = self.result_state
        return out

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
        out: dict[str, Any] = {"life_cycle_state": self.life_cycle_state,
                               "state_message": self.state_message, "user_cancelled_or_timedout": False}
        if self.result_state:
            out["result_state"] = self.result_state
        return out

    def status(self) -> dict[str, Any]:
        if not self.terminal:
            return {"state": "PENDING" if self.life_cycle_state == "PENDING" else "RUNNING"}
        ok = self.result_state == "SUCCESS"
        return {"state": "TERMINATED", "termination_details": {
            "code": "SUCCESS" if ok else "RUN_EXECUTION_ERROR",
            "type": "SUCCESS" if ok else "CLIENT_ERROR",
            "message": self.state_message}}

    def as_dict(self, *, include_history: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "job_id": self.job.spec.job_id,
            "run_id": self.run_id,
            "number_in_job": self.number_in_job,
            "original_attempt_run_id": self.run_id,
            "run_name": self.job.spec.name,
            "creator_user_name": "etl-owner@example.com",
            "run_type": "JOB_RUN",
            "trigger": "ONE_TIME",
            "format": "MULTI_TASK",
            "state": self.state(),
            "status": self.status(),
            "start_time": SimClock.ms(self.start_time),
            "end_time": SimClock.ms(self.end_time) if self.end_time else 0,
            "run_page_url": f"https://sandbox.azuredatabricks.net/#job/{self.job.spec.job_id}/run/{self.run_id}",
            "tasks": [t.as_dict() for t in self.tasks.values()],
        }
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
            "settings": {"name": self.spec.name, "timeout_seconds": self.spec.timeout_seconds,
                         "max_concurrent_runs": 1, "format": "MULTI_TASK", "tasks": tasks},
        }


class Workspace:
    """One Databricks workspace's clusters, libraries, jobs and runs."""

    def __init__(self, spec: DatabricksSpec, clock: SimClock) -> None:
        self.clock = clock
        self.token = spec.token
        self.failing_libraries = dict(spec.failing_libraries)
        self._ids = itertools.count(1_000_001)
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
            while cluster.due is not None and cluster.due <= now and cluster.on_due:
                due, action = cluster.due, cluster.on_due
                cluster.due, cluster.on_due = None, None
                action(due)
            self._tick_libraries(cluster, now)
        for run in self.runs.values():
            self._tick_run(run, now)

    # ---- clusters -----------------------------------------------------------

    def _new_cluster(self, spec: ClusterSpec, now: float) -> Cluster:
        reason = spec.termination_reason.model_dump() if spec.termination_reason else None
        cluster = Cluster(
            spec=spec, state=spec.state, num_workers=spec.num_workers,
            autoscale=spec.autoscale.model_dump() if spec.autoscale else None,
            termination_reason=reason, driver_healthy=spec.driver_healthy,
            fail_starts=spec.fail_starts, start_time=now - 3600,
            terminated_time=now if spec.state in ("TERMINATED", "ERROR") else None,
        )
        if reason:
            cluster.state_message = f"Cluster terminated. Reason: {reason['code']}"
        if not spec.driver_healthy:
            self._event(cluster, "DRIVER_NOT_RESPONDING", now,
                        {"driver_state_message": "Driver is up but is not responsive, likely due to GC."})
        for lib in spec.libraries:
            status = "INSTALLED"
            if library_key(lib) in self.failing_libraries:
                status = "FAILED"
            cluster.libraries.append(Library(spec=lib, status=status, messages=self._lib_messages(lib, status, spec.cluster_id)))
        return cluster

    def cluster(self, cluster_id: str) -> Cluster:
        self.tick()
        try:
            return self.clusters[cluster_id]
        except KeyError:
            raise errors.invalid_parameter(f"Cluster {cluster_id} does not exist") from None

    def _event(self, cluster: Cluster, kind: str, ts: float, details: dict[str, Any] | None = None) -> None:
        cluster.events.append({"cluster_id": cluster.spec.cluster_id, "timestamp": SimClock.ms(ts),
                               "type": kind, "details": details or {}})

    def _schedule(self, cluster: Cluster, seconds: float, action: Callable[[float], None]) -> None:
        cluster.due = self.clock.after(seconds)
        cluster.on_due = action

    def _come_up(self, cluster: Cluster, at: float, *, event: str) -> None:
        if cluster.fail_starts > 0:
            cluster.fail_starts -= 1
            reason = cluster.spec.start_failure.model_dump()
            cluster.state, cluster.termination_reason = "TERMINATED", reason
            cluster.state_message = f"Cluster terminated. Reason: {reason['code']}"
            cluster.terminated_time = at
            self._event(cluster, "TERMINATING", at, {"reason": reason})
            return
        cluster.state, cluster.state_message = "RUNNING", ""
        cluster.termination_reason, cluster.terminated_time = None, None
        cluster.driver_healthy = True
        cluster.start_time = at
        cluster.libraries = [lib for lib in cluster.libraries if lib.status != "UNINSTALL_ON_RESTART"]
        for lib in cluster.libraries:
            lib.status, lib.messages, lib.due = "INSTALLING", [], at + cluster.spec.install_seconds * self.clock.scale
        self._event(cluster, event, at, {"current_num_workers": cluster.num_workers})
        self._event(cluster, "DRIVER_HEALTHY", at)

    def start(self, cluster_id: str) -> None:
        cluster = self.cluster(cluster_id)
        if cluster.state not in ("TERMINATED", "ERROR"):
            raise errors.invalid_state(f"Cluster {cluster_id} is in unexpected state {cluster.state.title()}.")
        cluster.starts += 1
        cluster.state, cluster.state_message = "PENDING", "Finding instances for new nodes, acquiring more instances if necessary"
        self._event(cluster, "STARTING", self.clock.now(), {"user": "autoheal"})
        self._schedule(cluster, cluster.spec.start_seconds, lambda at: self._come_up(cluster, at, event="RUNNING"))

    def restart(self, cluster_id: str) -> None:
        cluster = self.cluster(cluster_id)
        if cluster.state != "RUNNING":
            raise errors.invalid_state(f"Cluster {cluster_id} is in unexpected state {cluster.state.title()}.")
        cluster.restarts += 1
        cluster.state, cluster.state_message = "RESTARTING", "Restarting Spark"
        self._event(cluster, "RESTARTING", self.clock.now(), {"user": "autoheal"})
        self._schedule(cluster, cluster.spec.restart_seconds, lambda at: self._come_up(cluster, at, event="RUNNING"))

    def terminate(self, cluster_id: str) -> None:
        cluster = self.cluster(cluster_id)
        if cluster.state in ("TERMINATED", "TERMINATING"):
            return
        cluster.state = "TERMINATING"
        reason = {"code": "USER_REQUEST", "type": "SUCCESS", "parameters": {"username": "autoheal"}}
        self._event(cluster, "TERMINATING", self.clock.now(), {"reason": reason})

        def done(at: float) -> None:
            cluster.state, cluster.termination_reason, cluster.terminated_time = "TERMINATED", reason, at

        self._schedule(cluster, 10, done)

    def resize(self, cluster_id: str, *, num_workers: int | None, autoscale: dict[str, int] | None) -> None:
        cluster = self.cluster(cluster_id)
        if cluster.state != "RUNNING":
            raise errors.invalid_state(f"Cluster {cluster_id} is in unexpected state {cluster.state.title()}.")
        if num_workers is None and autoscale is None:
            raise errors.invalid_parameter("Either num_workers or autoscale must be specified.")
        cluster.resizes += 1
        cluster.state = "RESIZING"
        previous = cluster.num_workers
        self._event(cluster, "RESIZING", self.clock.now(),
                    {"current_num_workers": previous, "target_num_workers": num_workers or 0})

        def done(at: float) -> None:
            if autoscale is not None:
                cluster.autoscale = dict(autoscale)
                cluster.num_workers = max(cluster.num_workers, autoscale["min_workers"])
            else:
                cluster.autoscale, cluster.num_workers = None, int(num_workers or 0)
            cluster.state = "RUNNING"
            self._event(cluster, "UPSIZE_COMPLETED", at, {"current_num_workers": cluster.num_workers})

        self._schedule(cluster, cluster.spec.resize_seconds, done)

    def edit(self, cluster_id: str, body: dict[str, Any]) -> None:
        cluster = self.cluster(cluster_id)
        if cluster.state not in ("RUNNING", "TERMINATED"):
            raise errors.invalid_state(f"Cluster {cluster_id} is in unexpected state {cluster.state.title()}.")
        if "autoscale" in body and body["autoscale"]:
            cluster.autoscale = dict(body["autoscale"])
        elif "num_workers" in body:
            cluster.autoscale, cluster.num_workers = None, int(body["num_workers"])
        self._event(cluster, "EDITED", self.clock.now(), {"user": "autoheal"})
        if cluster.state == "RUNNING":  # an edit of a running cluster restarts it
            cluster.state = "RESTARTING"
            self._schedule(cluster, cluster.spec.restart_seconds,
                           lambda at: self._come_up(cluster, at, event="RUNNING"))

    def events(self, cluster_id: str, body: dict[str, Any]) -> dict[str, Any]:
        cluster = self.cluster(cluster_id)
        events = cluster.events
        if body.get("start_time"):
            events = [e for e in events if e["timestamp"] >= int(body["start_time"])]
        if body.get("end_time"):
            events = [e for e in events if e["timestamp"] <= int(body["end_time"])]
        if body.get("event_types"):
            events = [e for e in events if e["type"] in body["event_types"]]
        if body.get("order", "DESC") == "DESC":
            events = list(reversed(events))
        offset, limit = int(body.get("offset") or 0), int(body.get("limit") or 50)
        page = events[offset:offset + limit]
        out: dict[str, Any] = {"events": copy.deepcopy(page), "total_count": len(events)}
        if offset + limit < len(events):
            out["next_page"] = {**{k: v for k, v in body.items() if k not in ("page_token", "page_size")},
                                "offset": offset + limit, "limit": limit}
        return out

    # ---- libraries ----------------------------------------------------------

    def _lib_messages(self, spec: dict[str, Any], status: str, cluster_id: str) -> list[str]:
        if status != "FAILED":
            return []
        key = library_key(spec)
        detail = self.failing_libraries.get(key, "")
        return [f"Library installation attempted on the driver node of cluster {cluster_id} and failed. "
                f"Please refer to the following error message to fix the library or contact Databricks support. "
                f"Error Code: DRIVER_LIBRARY_INSTALLATION_FAILURE. Error Message: {detail}"]

    def _tick_libraries(self, cluster: Cluster, now: float) -> None:
        for lib in cluster.libraries:
            if lib.status == "INSTALLING" and lib.due is not None and lib.due <= now:
                failed = library_key(lib.spec) in self.failing_libraries
                lib.status = "FAILED" if failed else "INSTALLED"
                lib.messages = self._lib_messages(lib.spec, lib.status, cluster.spec.cluster_id)
                lib.due = None

    def install(self, cluster_id: str, libraries: list[dict[str, Any]]) -> None:
        cluster = self.cluster(cluster_id)
        for spec in libraries:
            key = library_key(spec)
            existing = [lib for lib in cluster.libraries if library_key(lib.spec) == key]
            if existing and existing[0].status != "UNINSTALL_ON_RESTART":
                continue
            lib = existing[0] if existing else Library(spec=spec)
            if not existing:
                cluster.libraries.append(lib)
            if cluster.state == "RUNNING":
                lib.status = "INSTALLING"
                lib.due = self.clock.now() + cluster.spec.install_seconds * self.clock.scale
            else:
                lib.status = "PENDING"

    def uninstall(self, cluster_id: str, libraries: list[dict[str, Any]]) -> None:
        cluster = self.cluster(cluster_id)
        keys = {library_key(spec) for spec in libraries}
        for lib in cluster.libraries:
            if library_key(lib.spec) in keys:
                lib.status, lib.messages = "UNINSTALL_ON_RESTART", []

    def library_status(self, cluster_id: str) -> dict[str, Any]:
        cluster = self.cluster(cluster_id)
        return {"cluster_id": cluster_id, "library_statuses": [lib.as_dict() for lib in cluster.libraries]}

    # ---- jobs and runs ------------------------------------------------------

    def job(self, job_id: int) -> Job:
        try:
            return self.jobs[int(job_id)]
        except (KeyError, ValueError):
            raise errors.invalid_parameter(f"Job {job_id} does not exist.") from None

    def update_job(self, job_id: int, new_settings: dict[str, Any]) -> None:
        job = self.job(job_id)
        if "timeout_seconds" in new_settings:
            job.spec.timeout_seconds = int(new_settings["timeout_seconds"])
        if "name" in new_settings:
            job.spec.name = str(new_settings["name"])
        by_key = {t.task_key: t for t in job.spec.tasks}
        for task in new_settings.get("tasks", []):
            target = by_key.get(task.get("task_key", ""))
            if target is None:
                raise errors.invalid_parameter(f"Task key {task.get('task_key')!r} does not exist in job {job_id}.")
            if "timeout_seconds" in task:
                target.timeout_seconds = int(task["timeout_seconds"])
            if "existing_cluster_id" in task:
                target.existing_cluster_id = str(task["existing_cluster_id"])

    def run_now(self, job_id: int) -> JobRun:
        self.tick()
        job = self.job(job_id)
        job.runs += 1
        now = self.clock.now()
        run = JobRun(run_id=next(self._ids), job=job, number_in_job=job.runs, start_time=now, tasks={})
        for spec in job.spec.tasks:
            task = TaskRun(run_id=next(self._ids), spec=spec, attempt_number=0)
            run.tasks[spec.task_key] = task
            self.task_runs[task.run_id] = (run, task)
        run.queue = [t.task_key for t in job.spec.tasks]
        run.due = now + 5 * self.clock.scale
        run.repair_history.append({"type": "ORIGINAL", "start_time": SimClock.ms(now), "end_time": 0,
                                   "task_run_ids": [t.run_id for t in run.tasks.values()]})
        self.runs[run.run_id] = run
        return run

    def run(self, run_id: int) -> JobRun:
        self.tick()
        try:
            return self.runs[int(run_id)]
        except (KeyError, ValueError):
            raise errors.invalid_parameter(f"Run {run_id} does not exist.") from None

    def _tick_run(self, run: JobRun, now: float) -> None:
        while run.due is not None and run.due <= now:
            at = run.due
            run.due = None
            if run.life_cycle_state == "PENDING":
                run.life_cycle_state = "RUNNING"
            running = [t for t in run.tasks.values() if t.life_cycle_state == "RUNNING"]
            for task in running:
                self._finish_task(task, at)
            self._start_next(run, at)

    def _start_next(self, run: JobRun, at: float) -> None:
        while run.queue:
            key = run.queue.pop(0)
            task = run.tasks[key]
            upstream = [run.tasks[k] for k in task.spec.depends_on if k in run.tasks]
            if any(u.result_state != "SUCCESS" for u in upstream):
                task.life_cycle_state, task.result_state = "TERMINATED", "UPSTREAM_FAILED"
                task.state_message = "Upstream task(s) failed."
                task.start_time = task.end_time = at
                continue
            task.life_cycle_state, task.start_time = "RUNNING", at
            task.timeout_seconds = task.spec.timeout_seconds or run.job.spec.timeout_seconds
            duration = task.spec.duration_seconds
            if task.timeout_seconds and duration > task.timeout_seconds:
                duration = task.timeout_seconds
            run.due = at + duration * self.clock.scale
            return
        self._finish_run(run, at)

    def _finish_task(self, task: TaskRun, at: float) -> None:
        task.end_time = at
        task.life_cycle_state = "TERMINATED"
        failure = self._task_failure(task)
        if failure is None:
            task.result_state, task.state_message, task.error, task.error_trace = "SUCCESS", "", None, None
            return
        task.result_state, task.error, task.error_trace = failure
        task.state_message = task.error or ""

    def _task_failure(self, task: TaskRun) -> tuple[str, str, str | None] | None:
        spec = task.spec
        cluster = self.clusters.get(spec.existing_cluster_id or "")
        if spec.existing_cluster_id and cluster is None:
            return ("FAILED", f"Cluster {spec.existing_cluster_id} does not exist", None)
        if cluster is not None:
            if cluster.state != "RUNNING" and cluster.state != "RESIZING":
                reason = (cluster.termination_reason or {}).get("code", "UNKNOWN")
                return ("FAILED", f"Cluster {cluster.spec.cluster_id} was terminated during the run. "
                        f"Termination reason: {reason}.", None)
            if not cluster.driver_healthy:
                return ("FAILED", "The spark driver has stopped unexpectedly and is restarting. "
                        "Your notebook will be automatically reattached.", None)
            failed = [lib for lib in cluster.libraries if lib.status == "FAILED"]
            if failed:
                key = library_key(failed[0].spec)
                return ("FAILED", f"Library installation failed for library due to user error for pypi "
                        f'{{ package: "{key}" }}. {" ".join(failed[0].messages)}', None)
            workers = cluster.autoscale["max_workers"] if cluster.autoscale else cluster.num_workers
            if spec.min_workers and workers < spec.min_workers:
                return ("FAILED", f"RESOURCE_EXHAUSTED: The stage needs {spec.min_workers} workers and "
                        f"the cluster has {workers}; executors were lost to memory pressure.", None)
        if task.timeout_seconds and spec.duration_seconds > task.timeout_seconds:
            return ("TIMEDOUT", f"Task {spec.task_key} timed out after {task.timeout_seconds} seconds.", None)
        if spec.fail_times > 0:
            spec.fail_times -= 1
            trace = spec.error_trace or f"---------------------------------------------------------------------------\n{spec.error}"
            return ("FAILED", spec.error, trace)
        return None

    def _finish_run(self, run: JobRun, at: float) -> None:
        results = [t.result_state for t in run.tasks.values()]
        run.life_cycle_state, run.end_time = "TERMINATED", at
        if all(r == "SUCCESS" for r in results):
            run.result_state, run.state_message = "SUCCESS", ""
        elif "TIMEDOUT" in results and "FAILED" not in results:
            run.result_state, run.state_message = "TIMEDOUT", "Run timed out."
        else:
            failed = [t.spec.task_key for t in run.tasks.values() if t.result_state != "SUCCESS"]
            run.result_state = "FAILED"
            run.state_message = f"Task {failed[0]} failed with message: {run.tasks[failed[0]].state_message}"
        entry = run.repair_history[-1]
        entry["end_time"] = SimClock.ms(at)
        entry["state"] = run.state()
        entry["status"] = run.status()

    def repair(self, run_id: int, body: dict[str, Any]) -> int:
        run = self.run(run_id)
        if not run.terminal:
            raise errors.invalid_state(
                f"Run {run_id} is in state {run.life_cycle_state} and cannot be repaired until it terminates.")
        latest = run.latest_repair_id
        if latest is not None and body.get("latest_repair_id") != latest:
            raise errors.invalid_parameter(
                f"The latest repair ID {body.get('latest_repair_id')} does not match the latest repair "
                f"{latest} of run {run_id}. Please provide latest_repair_id.")
        if body.get("rerun_all_failed_tasks"):
            keys = [k for k, t in run.tasks.items() if t.result_state in FAILED_RESULTS]
        else:
            keys = [k for k in body.get("rerun_tasks", []) if k in run.tasks]
        if not keys:
            raise errors.invalid_parameter(f"Run {run_id} has no tasks to repair.")
        now = self.clock.now()
        for key in keys:
            old = run.tasks[key]
            task = TaskRun(run_id=next(self._ids), spec=old.spec, attempt_number=old.attempt_number + 1)
            run.tasks[key] = task
            self.task_runs[task.run_id] = (run, task)
        repair_id = next(self._ids)
        run.repair_history.append({"type": "REPAIR", "id": repair_id, "start_time": SimClock.ms(now), "end_time": 0,
                                   "task_run_ids": [run.tasks[k].run_id for k in keys]})
        run.queue = [t.task_key for t in run.job.spec.tasks if t.task_key in keys]
        run.life_cycle_state, run.result_state, run.state_message, run.end_time = "PENDING", None, "", None
        run.due = now + 5 * self.clock.scale
        return repair_id

    def cancel(self, run_id: int) -> None:
        run = self.run(run_id)
        if run.terminal:
            return
        now = self.clock.now()
        for task in run.tasks.values():
            if not task.terminal:
                task.life_cycle_state, task.result_state, task.end_time = "TERMINATED", "CANCELED", now
                task.state_message = "Run cancelled."
        run.queue, run.due = [], None
        self._finish_run(run, now)
        run.result_state, run.state_message = "CANCELED", "Run cancelled."

    def output(self, run_id: int) -> dict[str, Any]:
        self.tick()
        if int(run_id) in self.runs and len(self.runs[int(run_id)].tasks) > 1:
            raise errors.invalid_parameter(
                "Retrieving the output of runs with multiple tasks is not supported. "
                "Please retrieve the output of each individual task run instead.")
        if int(run_id) in self.runs:
            run = self.runs[int(run_id)]
            task = next(iter(run.tasks.values()))
        elif int(run_id) in self.task_runs:
            run, task = self.task_runs[int(run_id)]
        else:
            raise errors.invalid_parameter(f"Run {run_id} does not exist.")
        metadata = run.as_dict()
        metadata.update(task.as_dict())
        out: dict[str, Any] = {"metadata": metadata}
        if task.error:
            out["error"] = task.error
        if task.error_trace:
            out["error_trace"] = task.error_trace
        if task.result_state == "SUCCESS":
            out["notebook_output"] = {"result": "ok", "truncated": False}
        return out

    def counts(self) -> dict[str, int]:
        """What was done to this workspace: for tests and benchmarks."""
        return {
            "cluster_starts": sum(c.starts for c in self.clusters.values()),
            "cluster_restarts": sum(c.restarts for c in self.clusters.values()),
            "cluster_resizes": sum(c.resizes for c in self.clusters.values()),
            "repairs": sum(len(r.repair_history) - 1 for r in self.runs.values()),
            "task_executions": sum(1 for _, t in self.task_runs.values() if t.life_cycle_state != "PENDING"
                                   and t.result_state != "UPSTREAM_FAILED"),
        }
