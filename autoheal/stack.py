"""What a single machine needs, started together and stopped together: a Prefect server (unless
PREFECT_API_URL is set), the sandbox (optional), the served deployments (a subprocess whose flow
runs each get a process), and the webhook receiver."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from autoheal import context
from autoheal.prefect_server import LocalPrefectServer, drain_clients
from autoheal.receiver import build_receiver
from autoheal.settings import get_settings
from sandbox import Sandbox
from sandbox.scenario import Scenario
from sandbox.server import ThreadedServer, bind


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
    ) -> None:
        self.workdir = workdir.resolve()
        self.scenario = scenario
        self.prefect_database_url = prefect_database_url
        self.receiver_port = receiver_port
        self.overrides = settings or {}
        self.server: LocalPrefectServer | None = None
        self.sandbox: Sandbox | None = None
        self.serve: subprocess.Popen[bytes] | None = None
        self.receiver: ThreadedServer | None = None
        self.api_url = os.environ.get("PREFECT_API_URL", "")

    @property
    def receiver_url(self) -> str:
        assert self.receiver is not None
        return self.receiver.url

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
        self.start_serving()
        self.start_receiver()
        return self

    def start_prefect(self) -> None:
        self.server = LocalPrefectServer(self.workdir / "prefect", database_url=self.prefect_database_url)
        self.server.start()
        self.api_url = self.server.api_url
        os.environ.update({k: v for k, v in self.server.environment().items() if k != "PREFECT_HOME"})

    def start_serving(self, timeout: float = 90) -> None:
        settings = get_settings()
        env = {
            **os.environ,
            # Absolute (see Settings): the served flow runs start in the project folder, not here.
            "AUTOHEAL_DATABASE_URL": settings.database_url.get_secret_value(),
            **({"AUTOHEAL_CATALOG_FILE": str(settings.catalog_file)} if settings.catalog_file else {}),
            "PREFECT_API_URL": self.api_url,
            "PREFECT_RUNNER_POLL_FREQUENCY": "1",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        }
        with (self.workdir / "serve.log").open("ab") as log:  # the child keeps its own copy of the descriptor
            self.serve = subprocess.Popen(
                [sys.executable, "-m", "flows.serve"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd=Path(__file__).parents[1],
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.serve.poll() is not None:
                raise StackError(
                    f"serving the deployments failed (exit {self.serve.returncode}); see {self.workdir / 'serve.log'}"
                )
            if self._deployment_ready():
                time.sleep(1.5)  # the runner's first poll
                return
            time.sleep(0.5)
        raise StackError(f"the deployments were not served within {timeout:g}s; see {self.workdir / 'serve.log'}")

    def _deployment_ready(self) -> bool:
        try:
            response = httpx.get(f"{self.api_url}/deployments/name/remediate/remediate", timeout=2)
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    def start_receiver(self) -> None:
        settings = get_settings()
        app = build_receiver(settings, context.get_store(), prefect_api_url=self.api_url)
        port = settings.receiver_port if self.receiver_port is None else self.receiver_port
        self.receiver = ThreadedServer(app, bind(settings.receiver_host, port), lifespan="on")  # runs the outbox
        self.receiver.start()

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

    def stop(self) -> None:
        if self.receiver is not None:
            self.receiver.stop()
        if self.serve is not None and self.serve.poll() is None:
            self.serve.terminate()
            try:
                self.serve.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.serve.kill()
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
