"""A local Prefect server for the demo (and `autoheal up`): started unless PREFECT_API_URL is set."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from flows.children import die_with_parent


class PrefectServerError(RuntimeError):
    pass


def _free_port(preferred: int) -> int:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", preferred))
            return int(sock.getsockname()[1])
        except OSError:
            sock.bind(("127.0.0.1", 0))
            return int(sock.getsockname()[1])


def drain_clients(timeout: float = 10) -> None:
    """Send the logs and events this process still holds, before the server they go to stops."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for worker in (APILogWorker, EventsWorker):
        worker.drain_all(timeout=timeout)


LEASES_ON_DISK = "prefect.server.concurrency.lease_storage.filesystem"


class LocalPrefectServer:
    """``prefect server start`` on loopback with its SQLite database under ``home``."""

    def __init__(self, home: Path, *, port: int = 4200, database_url: str | None = None) -> None:
        self.home = home.resolve()
        self.port = _free_port(port)
        self.database_url = database_url
        self.process: subprocess.Popen[bytes] | None = None
        self.log = self.home / "server.log"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    @property
    def ui_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def environment(self) -> dict[str, str]:
        env = {
            "PREFECT_HOME": str(self.home),
            "PREFECT_SERVER_API_HOST": "127.0.0.1",
            "PREFECT_SERVER_API_PORT": str(self.port),
            "PREFECT_UI_API_URL": self.api_url,
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_API_URL": self.api_url,
        }
        if self.database_url:
            env["PREFECT_API_DATABASE_CONNECTION_URL"] = self.database_url
        return env

    def start(self, timeout: float = 90, tries: int = 3) -> None:
        """Start the server and wait for it to answer. The port is chosen free before the server
        binds it: on a shared machine another server can take it meanwhile, ours then exits, and a
        server answers on that port that is not ours (once, under parallel tests, a stack worked
        against another stack's server until that one stopped). So only an answer that names our
        PREFECT_HOME counts, and a server that lost its port is started again on a new free one."""
        for _ in range(tries):
            if self._start_once(timeout):
                return
            self.port = _free_port(0)
        raise PrefectServerError(f"the Prefect server lost its port to another process {tries} times; see {self.log}")

    def _start_once(self, timeout: float) -> bool:
        """True once our server answers; False when it exited because another process took its port."""
        self.home.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **self.environment()}
        env.pop("PREFECT_API_URL", None)  # the server itself must not point at another API
        # Concurrency leases on disk (under PREFECT_HOME), not in the server's memory: a restart once
        # lost the lease of a slot whose release it never saw, and the slot stayed taken for good
        # (tests/e2e/test_alert_path.py, Prefect stopped mid-storm). Several servers share Redis instead
        # (prefect-redis; README "Scaling out").
        env.setdefault("PREFECT_SERVER_CONCURRENCY_LEASE_STORAGE", LEASES_ON_DISK)
        logged_before = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(self.port)],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=die_with_parent,  # it stops when its parent dies, even of SIGKILL
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                with self.log.open("rb") as log:
                    log.seek(logged_before)
                    if b"already in use" in log.read():  # the CLI's own check, or uvicorn's bind
                        return False
                raise PrefectServerError(f"the Prefect server exited with {self.process.returncode}; see {self.log}")
            if self._answers_as_ours():
                return True
            time.sleep(0.5)
        self.stop()
        raise PrefectServerError(f"the Prefect server did not answer within {timeout:g}s; see {self.log}")

    def _answers_as_ours(self) -> bool:
        """The server on our port answers, and its settings name our PREFECT_HOME (its admin API)."""
        try:
            if httpx.get(f"{self.api_url}/health", timeout=2).status_code != 200:
                return False
            settings = httpx.get(f"{self.api_url}/admin/settings", timeout=5)
        except httpx.HTTPError:
            return False
        home = settings.json().get("home") if settings.status_code == 200 else None
        return isinstance(home, str) and Path(home).resolve() == self.home

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        drain_clients()
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
