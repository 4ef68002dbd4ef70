"""Emulated Databricks jobs, runs, task runs and repairs: the operations that move them through their
life cycles (their state: sandbox/databricks/runs.py)."""

from __future__ import annotations

import itertools
from typing import Any

from sandbox.clock import SimClock
from sandbox.databricks import errors
from sandbox.databricks.compute import Cluster, library_key
from sandbox.databricks.runs import FAILED_RESULTS, TASK_RUN_AS_RUN, Job, JobRun, TaskRun


class JobOps:
    """Job and run operations of a workspace (mixed into :class:`Workspace`)."""

    clock: SimClock
    clusters: dict[str, Cluster]
    jobs: dict[int, Job]
    runs: dict[int, JobRun]
    task_runs: dict[int, tuple[JobRun, TaskRun]]
    _ids: itertools.count[int]

    def tick(self) -> None:
        raise NotImplementedError

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
        run.repair_history.append(
            {
                "type": "ORIGINAL",
                "start_time": SimClock.ms(now),
                "end_time": 0,
                "task_run_ids": [t.run_id for t in run.tasks.values()],
            }
        )
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
                return (
                    "FAILED",
                    f"Cluster {cluster.spec.cluster_id} was terminated during the run. Termination reason: {reason}.",
                    None,
                )
            if not cluster.driver_healthy:
                return (
                    "FAILED",
                    "The spark driver has stopped unexpectedly and is restarting. "
                    "Your notebook will be automatically reattached.",
                    None,
                )
            failed = [lib for lib in cluster.libraries if lib.status == "FAILED"]
            if failed:
                key = library_key(failed[0].spec)
                return (
                    "FAILED",
                    f"Library installation failed for library due to user error for pypi "
                    f'{{ package: "{key}" }}. {" ".join(failed[0].messages)}',
                    None,
                )
            workers = cluster.autoscale["max_workers"] if cluster.autoscale else cluster.num_workers
            if spec.min_workers and workers < spec.min_workers:
                return (
                    "FAILED",
                    f"RESOURCE_EXHAUSTED: The stage needs {spec.min_workers} workers and "
                    f"the cluster has {workers}; executors were lost to memory pressure.",
                    None,
                )
        if task.timeout_seconds and spec.duration_seconds > task.timeout_seconds:
            return ("TIMEDOUT", f"Task {spec.task_key} timed out after {task.timeout_seconds} seconds.", None)
        if spec.fail_times > 0:
            spec.fail_times -= 1
            trace = (
                spec.error_trace
                or f"---------------------------------------------------------------------------\n{spec.error}"
            )
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
                f"Run {run_id} is in state {run.life_cycle_state} and cannot be repaired until it terminates."
            )
        latest = run.latest_repair_id
        if latest is not None and body.get("latest_repair_id") != latest:
            raise errors.invalid_parameter(
                f"The latest repair ID {body.get('latest_repair_id')} does not match the latest repair "
                f"{latest} of run {run_id}. Please provide latest_repair_id."
            )
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
        run.repair_history.append(
            {
                "type": "REPAIR",
                "id": repair_id,
                "start_time": SimClock.ms(now),
                "end_time": 0,
                "task_run_ids": [run.tasks[k].run_id for k in keys],
            }
        )
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
                "Please retrieve the output of each individual task run instead."
            )
        if int(run_id) in self.runs:
            run = self.runs[int(run_id)]
            task = next(iter(run.tasks.values()))
        elif int(run_id) in self.task_runs:
            run, task = self.task_runs[int(run_id)]
        else:
            raise errors.invalid_parameter(f"Run {run_id} does not exist.")
        # The task run, as a Run: the run's fields with the task's own, and the task in ``tasks``
        # (task-only keys such as task_key are not Run fields).
        task_dict = task.as_dict()
        metadata = run.as_dict(include_tasks=False)
        metadata.update({k: v for k, v in task_dict.items() if k in TASK_RUN_AS_RUN})
        metadata["run_duration"] = task_dict["execution_duration"]
        metadata["tasks"] = [task_dict]
        out: dict[str, Any] = {"metadata": metadata}
        if task.error:
            out["error"] = task.error
        if task.error_trace:
            out["error_trace"] = task.error_trace
        if task.result_state == "SUCCESS":
            out["notebook_output"] = {"result": "ok", "truncated": False}
        return out
