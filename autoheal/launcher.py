"""Flow-run processes forked from a preloaded server, instead of spawned from nothing.

Prefect's runner starts every flow run with multiprocessing's "spawn": a new interpreter that
imports prefect, our flow modules and the cloud SDKs again, 3.2 CPU-seconds and 3.5 s here before
the flow does anything (DESIGN section 3). multiprocessing's "forkserver" pays that once: a clean
server process (started by exec, not forked from the threaded runner) imports the modules, and each
flow run is a fork of it. A run keeps everything the runner relies on: its own process, its pid for
cancellation, its exit code, its environment and settings.

The runner's ``DirectSubprocessStarter`` looks ``run_flow_in_subprocess`` up in its module for each
run and names that as the way to override it; :func:`install` replaces that one name. The body of
:func:`run_flow_in_forked_process` is Prefect 3.9's ``run_flow_in_subprocess`` with the context
changed; pyproject pins prefect below 3.10 and a test checks the override is in place.
"""

from __future__ import annotations

import asyncio
import importlib
import multiprocessing
import multiprocessing.context
import os
from collections.abc import Iterable
from typing import Any

import prefect.runner._starter_direct as starter
from prefect.context import SettingsContext, get_settings_context, serialize_context
from prefect.engine import handle_engine_signals
from prefect.flow_engine import (
    _CONTROL_CHANNEL_ENV_KEYS,
    _run_serialized_call_with_control_bootstrap,
    _runtime_subprocess_env,
    run_flow,
)
from prefect.settings.context import get_current_settings
from prefect.settings.models.root import Settings
from prefect.utilities.callables import cloudpickle_wrapped_call
from prefect.utilities.processutils import sanitize_subprocess_env

# The modules a flow run needs, imported once by the fork server (one that is not installed is skipped).
# Beyond the flows and SDKs: what Prefect's engine and the PostgreSQL driver import on first use, found
# by listing the modules a forked run still imported.
PRELOAD = [
    "flows.remediate",
    "flows.sweep",
    "databricks.sdk",
    "azure.mgmt.datafactory",
    "azure.identity",
    "prefect.task_engine",
    "prefect.concurrency.sync",
    "anyio._backends._asyncio",
    "psycopg",
    "sqlalchemy.dialects.postgresql.psycopg",
    "autoheal.warmup",
]


def _context() -> multiprocessing.context.ForkServerContext:
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)
    return ctx


def _run_flow_with_env(
    *args: Any,
    env: dict[str, str | None] | None = None,
    remove_env: set[str] | None = None,
    **kwargs: Any,
) -> None:
    """In the child: take the run's environment, then run the flow (async flows on a new loop)."""

    if isinstance(kwargs.get("flow"), str):  # a reference: the fork server has already imported it
        module, _, name = kwargs["flow"].partition(":")
        kwargs["flow"] = getattr(importlib.import_module(module), name)
    for key in remove_env or ():
        os.environ.pop(key, None)
    os.environ.update(_runtime_subprocess_env(env))
    settings_context = get_settings_context()
    flow_run = kwargs.get("flow_run")
    with (
        SettingsContext(profile=settings_context.profile, settings=Settings()),
        handle_engine_signals(getattr(flow_run, "id", None)),
    ):
        outcome = run_flow(*args, **kwargs)
        if asyncio.iscoroutine(outcome):
            asyncio.run(outcome)


def reference(flow: Any) -> str | None:
    """"module:name" when that import gives back this very flow object, else None.

    A flow object would be pickled by value, its function's globals cut down to the names its code
    uses: the parameter annotations (strings under `from __future__ import annotations`) then no
    longer resolve, and the child is sent more than it needs."""
    fn = getattr(flow, "fn", None)
    module, name = getattr(fn, "__module__", None), getattr(fn, "__name__", None)
    if not module or not name:
        return None
    try:
        found = getattr(importlib.import_module(module), name, None)
    except ImportError:
        return None
    return f"{module}:{name}" if found is flow else None


def run_flow_in_forked_process(
    flow: Any,
    flow_run: Any = None,
    parameters: dict[str, Any] | None = None,
    wait_for: Iterable[Any] | None = None,
    context: dict[str, Any] | None = None,
    env: dict[str, str | None] | None = None,
) -> multiprocessing.process.BaseProcess:
    """Prefect's ``run_flow_in_subprocess``, forked from the preloaded server rather than spawned."""

    merged_env: dict[str, str | None] = (
        dict[str, str | None](get_current_settings().to_environment_variables(exclude_unset=True))
        | os.environ
        | {"PREFECT__ENABLE_CANCELLATION_AND_CRASHED_HOOKS": "false"}
        | (env or {})
    )
    sanitized = sanitize_subprocess_env(merged_env)
    wrapped = cloudpickle_wrapped_call(
        _run_flow_with_env,
        env=_runtime_subprocess_env(sanitized),
        remove_env={key for key, value in merged_env.items() if value is None},
        flow=reference(flow) or flow,
        flow_run=flow_run,
        parameters=parameters,
        wait_for=wait_for,
        context=context or serialize_context(),
    )
    startup_env = {key: value for key, value in sanitized.items() if key in _CONTROL_CHANNEL_ENV_KEYS}
    process = _context().Process(
        target=_run_serialized_call_with_control_bootstrap,
        args=(wrapped.args[0], startup_env),  # type: ignore[attr-defined]  # a functools.partial,
    )
    process.start()
    return process


def install() -> None:
    """Make this process's runner fork flow runs from the preloaded server."""
    setattr(starter, "run_flow_in_subprocess", run_flow_in_forked_process)  # noqa: B010  # not exported


def installed() -> bool:
    return getattr(starter, "run_flow_in_subprocess", None) is run_flow_in_forked_process
