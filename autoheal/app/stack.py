"""What a single machine needs, started together and stopped together: a Prefect server (unless
PREFECT_API_URL is set), the sandbox (optional), the served deployments (a subprocess whose flow
runs each get a process), and the webhook receiver."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any, Literal

import httpx

from autoheal import services as context
from autoheal.app.receiver import build_receiver
from autoheal.settings import get_settings
from flows.children import die_with_parent
from flows.prefect_server import LocalPrefectServer, drain_clients
from sandbox import Sandbox
from sandbox.scenario import Scenario
from sandbox.server import ThreadedServer, bind

ROOT = Path(__file__).resolve().parents[2]


class StackError(RuntimeError):
    pass


class Stack:
    def __init__(
        self,
        workdir: Path,
        *,
        scenario: Scenario | None = None,
        prefect_database_url: str | None = None,
        receiver_port: int | None = None,
        settings: dict[str, str] | None = None,
        runner: Literal["served", "worker"] = "served",
        receiver_process: bool = False,
        runners: int = 1,
        worker_limit: int | None = None,
    ) -> None:
        self.workdir = workdir.resolve()
        self.scenario = scenario
        self.prefect_database_url = prefect_database_url
        self.receiver_port = receiver_port
        self.overrides = settings or {}
        self.server: LocalPrefectServer | None = None
        self.sandbox: Sandbox | None = None
        self.runner = runner
        self.receiver_process = receiver_process
        self.receiver_child: subprocess.Popen[bytes] | None = None
        self._receiver_url = ""
        self.serve: subprocess.Popen[bytes] | None = None  # the first live one of ``serves``
        # Scale-out on one machine: ``runners`` served runners (`python -m flows.serve`, each with its
        # own fork server) serving the same deployments, or ``runners`` workers of one process pool,
        # all against this stack's one Prefect server. Prefect hands each flow run to one of them.
        self.runners = runners
        self.worker_limit = worker_limit
        self.serves: list[subprocess.Popen[bytes]] = []
        self.receiver: ThreadedServer | None = None
        self.api_url = os.environ.get("PREFECT_API_URL", "")

    @property
    def receiver_url(self) -> str:
        return self._receiver_url

    @property
    def ui_url(self) -> str:
        return self.api_url.removesuffix("/api")

    def start(self) -> Stack:
        self.workdir.mkdir(parents=True, exist_ok=True)
        if not self.api_url:
            self.start_prefect()
        if self.scenario is not None:
            self.sandbox = Sandbox(self.scenario, workdir=self.workdir / "sandbox")
            self.sandbox.start()
            os.environ.update(self.sandbox.exports())
        os.environ.update(self.overrides)
        os.environ.setdefault("AUTOHEAL_WEBHOOK_TOKEN", secrets.token_urlsafe(24))
        context.reset()
        if self.runner == "worker":
            self.start_worker()
        else:
            self.start_serving()
        self.start_receiver()
        return self

    def start_prefect(self) -> None:
        self.server = LocalPrefectServer(self.workdir / "prefect", database_url=self.prefect_database_url)
        self.server.start()
        self.api_url = self.server.api_url
        os.environ.update({k: v for k, v in self.server.environment().items() if k != "PREFECT_HOME"})

    def _flow_env(self) -> dict[str, str]:
        settings = get_settings()
        return {
            **os.environ,
            # Absolute (see Settings): the flow runs start in the project folder, not here.
            "AUTOHEAL_DATABASE_URL": settings.database_url.get_secret_value(),
            **({"AUTOHEAL_CATALOG_FILE": str(settings.catalog_file)} if settings.catalog_file else {}),
            "PREFECT_API_URL": self.api_url,
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            # Heartbeats from each flow run: the zombie automation (flows/serve.py) marks a run whose
            # heartbeats stop Crashed, and the reconciler starts its incident again.
            "PREFECT_FLOWS_HEARTBEAT_FREQUENCY": os.environ.get("PREFECT_FLOWS_HEARTBEAT_FREQUENCY", "30"),
        }

    def _start(self, command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        name = "serve.log" if not self.serves else f"serve-{len(self.serves) + 1}.log"
        with (self.workdir / name).open("ab") as log:  # the child keeps its own copy of the descriptor
            child = subprocess.Popen(
                command,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd=ROOT,
                # Killed when this process dies, even of SIGKILL: a graceful stop with nobody left to
                # wait for it would hang on a Prefect server that is stopping too (its runner pauses
                # the deployments through the API first). Its fork server and flow runs follow it.
                preexec_fn=partial(die_with_parent, signal.SIGKILL),
            )
        self.serves.append(child)
        # The first live runner: a runner started again after one was killed takes its place here
        # (once this stayed the dead one, and a test looked for a run's process under it).
        self.serve = next((serve for serve in self.serves if serve.poll() is None), child)
        return child

    def start_serving(self, timeout: float = 90) -> None:
        # One after another: each runner re-applies the deployments, and Prefect replaces a deployment's
        # trigger by deleting its automations and creating them again; two runners doing that at once
        # can leave two automations, and so two flow runs per alert.
        for _ in range(self.runners):
            before = self._deployment_updated()
            self._start([sys.executable, "-m", "flows.serve"], self._flow_env())
            self._wait_until_served(timeout, after=before)

    def start_worker(self, pool: str = "autoheal-process", timeout: float = 90) -> None:
        """The other way to run flows: `remediate` deployed to a process work pool, and a worker that
        starts each of its runs as `python -m prefect.engine` (what prefect.yaml sets up)."""
        env = self._flow_env()
        for command in (
            ["prefect", "work-pool", "create", pool, "--type", "process", "--overwrite"],
            ["flows.serve", "--pool", pool],
        ):
            done = subprocess.run([sys.executable, "-m", *command], env=env, capture_output=True, text=True, cwd=ROOT)
            if done.returncode != 0:
                raise StackError(f"{' '.join(command)} failed: {done.stderr[-2000:]}")
        worker_env = {**env, "PREFECT_WORKER_QUERY_SECONDS": "1", "PREFECT_WORKER_PREFETCH_SECONDS": "0"}
        limit = ["--limit", str(self.worker_limit)] if self.worker_limit else []
        for n in range(1, self.runners + 1):
            command = ["prefect", "worker", "start", "--pool", pool, "--name", f"autoheal-worker-{n}", *limit]
            self._start([sys.executable, "-m", *command], worker_env)
            self._wait_until_served(timeout, pool=pool, workers=n)

    def _wait_until_served(
        self, timeout: float, *, pool: str | None = None, workers: int = 1, after: str | None = None
    ) -> None:
        """Until the newest runner has applied the deployments (their `updated` moved past ``after``),
        or the pool has ``workers`` workers that have polled it."""
        child = self.serves[-1]
        log = self.workdir / ("serve.log" if len(self.serves) == 1 else f"serve-{len(self.serves)}.log")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if child.poll() is not None:
                raise StackError(f"serving the deployments failed (exit {child.returncode}); see {log}")
            updated = self._deployment_updated()
            ready = updated is not None and (pool is not None or updated != after)
            if ready and (pool is None or (self._pool_ready(pool) and self._workers(pool) >= workers)):
                time.sleep(1.5)  # the runner's first poll
                return
            time.sleep(0.5)
        raise StackError(f"the deployments were not served within {timeout:g}s; see {log}")

    def _workers(self, pool: str) -> int:
        try:
            response = httpx.post(f"{self.api_url}/work_pools/{pool}/workers/filter", json={}, timeout=2)
        except httpx.HTTPError:
            return 0
        return len(response.json()) if response.status_code == 200 else 0

    def kill_runner(self, index: int) -> list[int]:
        """SIGKILL the ``index``-th runner or worker, its process group and every process under it (a
        flow run in a session of its own included): what the loss of its machine does. Returns the pids."""
        child = self.serves[index]
        pids = _descendants(child.pid)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        child.wait(timeout=10)
        return pids

    def _pool_ready(self, pool: str) -> bool:
        """A worker has polled the pool (its status turns READY on the first heartbeat)."""
        try:
            response = httpx.get(f"{self.api_url}/work_pools/{pool}", timeout=2)
        except httpx.HTTPError:
            return False
        return response.status_code == 200 and response.json().get("status") == "READY"

    def _deployment_updated(self) -> str | None:
        """When the `remediate` deployment was last applied, or None while it does not exist."""
        try:
            response = httpx.get(f"{self.api_url}/deployments/name/remediate/remediate", timeout=2)
        except httpx.HTTPError:
            return None
        return str(response.json().get("updated")) if response.status_code == 200 else None

    def start_receiver(self, timeout: float = 60) -> None:
        settings = get_settings()
        port = settings.receiver_port if self.receiver_port is None else self.receiver_port
        sock = bind(settings.receiver_host, port)
        if not self.receiver_process:
            app = build_receiver(settings, context.get_store(), prefect_api_url=self.api_url)
            self.receiver = ThreadedServer(app, sock, lifespan="on")  # runs the outbox
            self.receiver.start()
            self._receiver_url = self.receiver.url
            return
        # In its own process (`autoheal serve`), as in production: benchmarks measure it apart.
        port = sock.getsockname()[1]
        sock.close()
        env = {**self._flow_env(), "AUTOHEAL_RECEIVER_PORT": str(port)}
        with (self.workdir / "receiver.log").open("ab") as log:
            self.receiver_child = subprocess.Popen(
                [sys.executable, "-m", "autoheal.app.cli", "serve"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
                preexec_fn=die_with_parent,
            )
        self._receiver_url = f"http://{settings.receiver_host}:{port}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.receiver_child.poll() is not None:
                raise StackError(f"the receiver exited ({self.receiver_child.returncode}); see receiver.log")
            try:
                if httpx.get(f"{self._receiver_url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise StackError(f"the receiver did not answer within {timeout:g}s")

    def post(self, path: str, payload: Any) -> httpx.Response:
        token = get_settings().webhook_token
        headers = {"X-Autoheal-Token": token.get_secret_value()} if token else {}
        return httpx.post(f"{self.receiver_url}{path}", json=payload, headers=headers, timeout=30)

    def stop_prefect(self) -> None:
        """Stop only the Prefect server; `restart_prefect` brings it back on the same port and database."""
        if self.server is not None:
            self.server.stop()

    def restart_prefect(self) -> None:
        if self.server is None:
            raise StackError("this stack did not start the Prefect server")
        self.server.start()

    def running_flow_runs(self) -> int:
        """Flow runs pending or running on this stack's Prefect server (0 when it does not answer)."""
        if not self.api_url:
            return 0
        query = {"flow_runs": {"state": {"type": {"any_": ["PENDING", "RUNNING"]}}}}
        try:
            response = httpx.post(f"{self.api_url}/flow_runs/count", json=query, timeout=5)
        except httpx.HTTPError:
            return 0
        return int(response.json()) if response.status_code == 200 else 0

    def stop(self, grace_seconds: float | None = None) -> None:
        """Stop everything this stack started, in order: the receiver stops taking alerts (what it
        took is stored; an event not yet sent stays in the outbox for the next start); flow runs in
        progress get ``grace_seconds`` (AUTOHEAL_STOP_GRACE_SECONDS) to finish, and whatever is cut
        short is left to the reconciler (flows/reconcile.py); then the served deployments, the
        sandbox, and the Prefect server last."""
        if self.receiver is not None:
            self.receiver.stop()
        if self.receiver_child is not None and self.receiver_child.poll() is None:
            self.receiver_child.terminate()  # uvicorn's graceful stop: no new requests, the lifespan's end
        grace = get_settings().stop_grace_seconds if grace_seconds is None else grace_seconds
        deadline = time.monotonic() + grace
        while self.serve is not None and self.serve.poll() is None and time.monotonic() < deadline:
            if self.running_flow_runs() == 0:
                break
            time.sleep(0.5)
        for child in (self.receiver_child, *self.serves):
            if child is not None and child.poll() is None:
                child.terminate()
                try:
                    child.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    child.kill()  # a runner still cancelling its runs (Prefect's cancellation can take 30 s a run)
                    child.wait()  # reaped: a process left unwaited is still "running" to Python, and a zombie
        if self.sandbox is not None:
            self.sandbox.stop()
        if self.server is not None:
            self.server.stop()
        else:
            drain_clients()

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _descendants(pid: int) -> list[int]:
    """``pid`` and every process under it, read from /proc (Linux); just ``pid`` elsewhere."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            try:
                todo.extend(int(c) for c in task.read_text().split())
            except OSError:
                continue
    return found
