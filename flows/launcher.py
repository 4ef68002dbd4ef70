"""Flow-run processes forked from a preloaded server, instead of spawned from nothing.

Prefect's runner starts every flow run with multiprocessing's "spawn": a new interpreter that
imports prefect, our flow modules and the cloud SDKs again, 3.2 CPU-seconds and 3.5 s here before
the flow does anything (ARCHITECTURE.md, "Flow-run processes"). multiprocessing's "forkserver" pays that once: a clean
server process (started by exec, not forked from the threaded runner) imports the modules, and each
flow run is a fork of it. A run keeps everything the runner relies on: its own process, its pid for
cancellation, its exit code, its environment and settings.

The runner's ``DirectSubprocessStarter`` looks ``run_flow_in_subprocess`` up in its module for each
run and names that as the way to override it; :func:`install` replaces that one name. The body of
:func:`run_flow_in_forked_process` is Prefect 3.9's ``run_flow_in_subprocess`` with the context
changed. Those private names are Prefect's, not a promise: :func:`enable` checks the version and the
names first, and falls back to Prefect's own spawn (logged once) when either is not what this was
written against; tests/flows/test_launcher.py fails with the reason on an unsupported version.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import multiprocessing
import multiprocessing.context
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import certifi
import prefect
from prefect.context import (
    FlowRunContext,
    SettingsContext,
    SyncClientContext,
    TagsContext,
    TaskRunContext,
    get_settings_context,
    serialize_context,
)
from prefect.settings.context import get_current_settings
from prefect.settings.models.root import Settings
from prefect.utilities.callables import cloudpickle_wrapped_call
from prefect.utilities.processutils import sanitize_subprocess_env

from flows.children import die_with_parent, name_process, run_process_name

log = logging.getLogger("autoheal.launcher")

SUPPORTED = ("3.9.",)  # the Prefect releases whose private names below were read and tested
# The private names this module uses: (module, attribute).
PRIVATE = (
    ("prefect.runner._starter_direct", "run_flow_in_subprocess"),
    ("prefect.flow_engine", "_CONTROL_CHANNEL_ENV_KEYS"),
    ("prefect.flow_engine", "_run_serialized_call_with_control_bootstrap"),
    ("prefect.flow_engine", "_runtime_subprocess_env"),
    ("prefect.flow_engine", "run_flow"),
    ("prefect.engine", "handle_engine_signals"),
    ("prefect.flow_engine", "observe_flow_run_suspension"),
)


def _private(module: str, name: str) -> Any:
    return getattr(importlib.import_module(module), name)


def unsupported_reason() -> str | None:
    """Why forking cannot be used with the installed Prefect, or None when it can."""
    version = prefect.__version__
    if not version.startswith(SUPPORTED):
        return (
            f"Prefect {version} is installed; flows/launcher.py was written against Prefect "
            f"{' or '.join(v + 'x' for v in SUPPORTED)} and relies on its private names"
        )
    missing = []
    for module, name in PRIVATE:
        try:
            _private(module, name)
        except (ImportError, AttributeError):
            missing.append(f"{module}.{name}")
    if missing:
        return f"Prefect {version} lacks the private names flows/launcher.py uses: {', '.join(missing)}"
    return None


@cache
def enable() -> bool:
    """Make this process's runner fork flow runs from the preloaded server; False (logged once) when
    the installed Prefect is not one this was written against, and the runner keeps Prefect's spawn."""
    reason = unsupported_reason()
    if reason is not None:
        log.warning("flow runs are spawned by Prefect, not forked (about 3 CPU-s more each): %s", reason)
        return False
    install()
    return True

# The modules a flow run needs, imported once by the fork server (one that is not installed is skipped).
# Beyond the flows and SDKs: what Prefect's engine and the PostgreSQL driver import on first use, found
# by listing the modules a forked run still imported.
PRELOAD = [
    "flows.remediate",
    "flows.sweep",
    "flows.reconcile",
    "databricks.sdk",
    "azure.mgmt.datafactory",
    "azure.identity",
    "prefect.task_engine",
    "prefect.concurrency.sync",
    "anyio._backends._asyncio",
    "psycopg",
    "sqlalchemy.dialects.postgresql.psycopg",
    "prefect.utilities.visualization",  # with graphviz: the flow engine's, ~9 ms a run
    "rich._emoji_codes",  # Prefect's console log handler's
    "flows.warmup",
    # multiprocessing runs the parent's main module again in every child (as __mp_main__): the runner's
    # is `python -m flows.serve`, whose imports (Prefect's runner, its events) cost each run ~30 ms of
    # CPU when the server had not imported them; imported here, the re-run only defines its names.
    "flows.serve",
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
    # A run whose fork server died (its `flows.serve` killed) gets SIGTERM, which Prefect's engine
    # handles: the run ends Crashed and the reconciler (flows/reconcile.py) starts its incident again.
    die_with_parent()

    run_flow = _private("prefect.flow_engine", "run_flow")
    runtime_env = _private("prefect.flow_engine", "_runtime_subprocess_env")
    handle_engine_signals = _private("prefect.engine", "handle_engine_signals")
    if isinstance(kwargs.get("flow"), str):  # a reference: the fork server has already imported it
        module, _, name = kwargs["flow"].partition(":")
        kwargs["flow"] = getattr(importlib.import_module(module), name)
    for key in remove_env or ():
        os.environ.pop(key, None)
    os.environ.update(runtime_env(env))
    _without_suspension_observer()
    settings_context = get_settings_context()
    flow_run = kwargs.get("flow_run")
    if flow_run is not None:
        name_process(run_process_name(flow_run.id))
    settings = Settings()
    kwargs["context"] = _hydrate_with(kwargs.get("context"), settings)
    with (
        SettingsContext(profile=settings_context.profile, settings=settings),
        handle_engine_signals(getattr(flow_run, "id", None)),
        # One sync API client for the whole run: without it Prefect's engine builds one for the context it
        # hydrates and one for each read of the result storage, besides the flow's own, and every client
        # builds a verified TLS context from certifi's bundle (about 30 ms of CPU each, even for http).
        SyncClientContext.get_or_create(),
    ):
        outcome = run_flow(*args, **kwargs)
        if asyncio.iscoroutine(outcome):
            asyncio.run(outcome)


@contextmanager
def _no_observer(*_: Any, **__: Any) -> Iterator[None]:
    yield


def _without_suspension_observer() -> None:
    """This run does not watch for being suspended from outside.

    For a run of a deployment, Prefect 3.9's engine starts a thread with its own event loop, API client
    and events websocket that waits for another process to suspend the run (``suspend_flow_run`` with its
    id), and reads the run once before it may start (``observe_flow_run_suspension``): 68 ms before the
    run was Running, 110 ms more at its end (the thread sleeps in 0.2 s steps before it notices the run
    is over), and a websocket subscriber per run on the server. Nothing in autoheal suspends a run from
    outside; the approval suspends the run from within (flows/approval.py), which Prefect signals through
    the in-process registry it still keeps (``register_flow_run_suspension_request``). A person stops a
    run by cancelling it, which the runner carries out. Only forked runs are changed."""
    flow_engine = importlib.import_module("prefect.flow_engine")
    setattr(flow_engine, "observe_flow_run_suspension", _no_observer)  # noqa: B010  # not exported


def _hydrate_with(context: Any, settings: Settings) -> Any:
    """The serialized context with this run's settings object in place of the runner's serialized ones.

    Prefect's engine hydrates the context it is given, and validating serialized settings builds a
    whole Settings again (about 35 ms). The one just built comes from this run's environment, which
    holds the runner's settings as variables (``to_environment_variables`` in
    :func:`run_flow_in_forked_process`) and the run's own, so it is what hydrating would give."""
    if not isinstance(context, dict) or not isinstance(context.get("settings_context"), dict):
        return context
    return {**context, "settings_context": {**context["settings_context"], "settings": settings}}


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


_RUNNER_CONTEXT: list[tuple[Any, dict[str, str], dict[str, Any]]] = []  # (settings context, its env, serialized)


def _runner_context() -> tuple[dict[str, str], dict[str, Any]]:
    """The current settings as environment variables, and the serialized context, for a run to start.

    Made once per settings context in the runner, whose context holds no run and no tags and whose
    settings do not change between runs: dumping them twice cost ~40 ms of the runner's event loop
    before every fork. Inside a run (or under tags) they are made afresh each time, as Prefect does."""
    settings_context = get_settings_context()
    if FlowRunContext.get() is not None or TaskRunContext.get() is not None or TagsContext.get().current_tags:
        return get_current_settings().to_environment_variables(exclude_unset=True), serialize_context()
    if not _RUNNER_CONTEXT or _RUNNER_CONTEXT[0][0] is not settings_context:
        env = settings_context.settings.to_environment_variables(exclude_unset=True)
        _RUNNER_CONTEXT[:] = [(settings_context, env, serialize_context())]
    _, env, serialized = _RUNNER_CONTEXT[0]
    return env, serialized


HTTP_BUNDLE = "autoheal-prefect-plain-http-ca.pem"


def plain_http_bundle(env: Mapping[str, str | None]) -> dict[str, str]:
    """PREFECT_API_SSL_CERT_FILE for a run whose Prefect API is plain http and that names no CA bundle.

    Prefect builds a verified TLS context for every API client it makes, http or not, from certifi's
    bundle of about 140 certificates: 13 ms of CPU each, and a run makes five or six clients (its sync
    and async ones, the resource guard's, the log and event workers'), three of them before its first
    action. A plain-http API never uses them, so the run is given a bundle of one certificate, which
    loads in well under a millisecond. Were a request ever sent over TLS with it, verification would
    fail rather than pass. An https API, or a bundle set by the operator, is left alone."""
    url = env.get("PREFECT_API_URL") or ""
    if not url.startswith("http://") or env.get("PREFECT_API_SSL_CERT_FILE"):
        return {}
    try:
        return {"PREFECT_API_SSL_CERT_FILE": str(_one_certificate())}
    except OSError:  # a file that cannot be written costs only the time saved: Prefect's bundle then
        return {}


@cache
def _one_certificate() -> Path:
    """The first certificate of certifi's bundle, in a file of its own (written once per user)."""
    end = "-----END CERTIFICATE-----"
    text = Path(certifi.where()).read_text()
    begin = text.index("-----BEGIN CERTIFICATE-----")
    pem = text[begin : text.index(end, begin) + len(end)] + "\n"
    path = Path(tempfile.gettempdir()) / f"{os.getuid()}-{HTTP_BUNDLE}"
    if not path.exists() or path.read_text() != pem:
        partial = path.with_name(f"{path.name}.{os.getpid()}")
        partial.write_text(pem)
        partial.replace(path)
    return path


def run_flow_in_forked_process(
    flow: Any,
    flow_run: Any = None,
    parameters: dict[str, Any] | None = None,
    wait_for: Iterable[Any] | None = None,
    context: dict[str, Any] | None = None,
    env: dict[str, str | None] | None = None,
) -> multiprocessing.process.BaseProcess:
    """Prefect's ``run_flow_in_subprocess``, forked from the preloaded server rather than spawned."""
    runtime_env = _private("prefect.flow_engine", "_runtime_subprocess_env")
    control_keys = _private("prefect.flow_engine", "_CONTROL_CHANNEL_ENV_KEYS")
    bootstrap = _private("prefect.flow_engine", "_run_serialized_call_with_control_bootstrap")

    settings_env, serialized = _runner_context()
    merged_env: dict[str, str | None] = (
        dict[str, str | None](settings_env)
        | os.environ
        | {"PREFECT__ENABLE_CANCELLATION_AND_CRASHED_HOOKS": "false"}
        | (env or {})
    )
    merged_env |= plain_http_bundle(merged_env)
    sanitized = sanitize_subprocess_env(merged_env)
    wrapped = cloudpickle_wrapped_call(
        _run_flow_with_env,
        env=runtime_env(sanitized),
        remove_env={key for key, value in merged_env.items() if value is None},
        flow=reference(flow) or flow,
        flow_run=flow_run,
        parameters=parameters,
        wait_for=wait_for,
        context=context or serialized,
    )
    startup_env = {key: value for key, value in sanitized.items() if key in control_keys}
    process = _context().Process(
        target=bootstrap,
        args=(wrapped.args[0], startup_env),  # type: ignore[attr-defined]  # a functools.partial,
    )
    process.start()
    return process


def start_server() -> int | None:
    """Start the fork server now, while the runner starts, rather than at its first flow run: its
    imports (PRELOAD, flows/warmup.py) took about 5 s here, and the first alert a runner took after a
    start waited for them (the first run of each runner in bench/scale.py: 6.5 s to first action, the
    runs after it 1.5 s). Returns the server's pid."""
    _context()
    forkserver = importlib.import_module("multiprocessing.forkserver")
    forkserver.ensure_running()
    pid = getattr(forkserver._forkserver, "_forkserver_pid", None)
    return pid if isinstance(pid, int) else None


def install() -> None:
    """Replace the runner's starter (its documented override point); :func:`enable` checks first."""
    starter = importlib.import_module("prefect.runner._starter_direct")
    setattr(starter, "run_flow_in_subprocess", run_flow_in_forked_process)  # noqa: B010  # not exported


def installed() -> bool:
    starter = importlib.import_module("prefect.runner._starter_direct")
    return getattr(starter, "run_flow_in_subprocess", None) is run_flow_in_forked_process
