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
        binds it: on a shared machine another server can take it meanwhile, ours then exits, and the
        one answering the health check is not ours. So the answer counts only while our process
        still runs; otherwise a new free port is tried."""
        for _ in range(tries):
            self._start_once(timeout)
            time.sleep(1)  # a server that lost its port exits within moments of starting
            if self.process is not None and self.process.poll() is None:
                return
            self.port = _free_port(0)
        raise PrefectServerError(f"the Prefect server exited after starting, {tries} times; see {self.log}")

    def _start_once(self, timeout: float) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **self.environment()}
        env.pop("PREFECT_API_URL", None)  # the server itself must not point at another API
        # Concurrency leases on disk (under PREFECT_HOME), not in the server's memory: a restart once
        # lost the lease of a slot whose release it never saw, and the slot stayed taken for good
        # (tests/e2e/test_alert_path.py, Prefect stopped mid-storm). Several servers share Redis instead
        # (prefect-redis; README "Scaling out").
        env.setdefault("PREFECT_SERVER_CONCURRENCY_LEASE_STORAGE", LEASES_ON_DISK)
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
                raise PrefectServerError(f"the Prefect server exited with {self.process.returncode}; see {self.log}")
            try:
                if httpx.get(f"{self.api_url}/health", timeout=2).status_code == 200:
                    return  # from our process, if it still runs (start checks)
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        self.stop()
        raise PrefectServerError(f"the Prefect server did not answer within {timeout:g}s; see {self.log}")

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
