"""Reading Databricks job runs: which tasks failed, on which clusters, with what error. Enrichment
reads through these; the playbooks use them to act and verify."""

from __future__ import annotations

from typing import Any

from databricks.sdk import WorkspaceClient
from databricks.sdk.service.jobs import RunLifeCycleState, RunResultState

from autoheal.cloud.errors import translated

_TERMINAL_RUN = {RunLifeCycleState.TERMINATED, RunLifeCycleState.SKIPPED, RunLifeCycleState.INTERNAL_ERROR}
_BAD_RESULTS = {
    RunResultState.FAILED,
    RunResultState.TIMEDOUT,
    RunResultState.CANCELED,
    RunResultState.UPSTREAM_FAILED,
    RunResultState.MAXIMUM_CONCURRENT_RUNS_REACHED,
}


def failed_tasks(run: Any) -> list[Any]:
    return [t for t in run.tasks or [] if t.state and t.state.result_state in _BAD_RESULTS]


def cluster_ids(run: Any) -> list[str]:
    ids: list[str] = []
    for task in failed_tasks(run):
        cid = task.existing_cluster_id or (task.cluster_instance.cluster_id if task.cluster_instance else None)
        if cid and cid not in ids:
            ids.append(cid)
    return ids


def run_summary(run: Any) -> dict[str, Any]:
    state = run.state
    return {
        "run_id": run.run_id,
        "life_cycle_state": state.life_cycle_state.value if state and state.life_cycle_state else None,
        "result_state": state.result_state.value if state and state.result_state else None,
        "failed_tasks": [t.task_key for t in failed_tasks(run)],
    }


def terminal(run: Any) -> bool:
    return bool(run.state and run.state.life_cycle_state in _TERMINAL_RUN)


def succeeded(run: Any) -> bool:
    return terminal(run) and run.state.result_state == RunResultState.SUCCESS


def task_errors(w: WorkspaceClient, run: Any) -> list[dict[str, str]]:
    """``get-output`` of each failed task: its error and trace."""
    found = []
    for task in failed_tasks(run):
        with translated(f"get output of task run {task.run_id}"):
            output = w.jobs.get_run_output(task.run_id)
        found.append(
            {
                "task_key": task.task_key or "",
                "run_id": str(task.run_id),
                "result_state": task.state.result_state.value if task.state.result_state else "",
                "error": output.error or (task.state.state_message or ""),
                "error_trace": output.error_trace or "",
            }
        )
    return found
