"""Serve the sandbox on loopback: Databricks over http, ADF over https with a generated CA."""

from __future__ import annotations

import contextlib
import socket
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import trustme
import uvicorn

from sandbox.app import build_app
from sandbox.scenario import Scenario
from sandbox.state import SandboxState

SANDBOX_TOKEN = "dapi-sandbox-token"
ADF_TOKEN = "sandbox-arm-token"


@dataclass(frozen=True)
class Endpoints:
    databricks_host: str
    adf_base_url: str
    ca_bundle: str
    databricks_token: str
    adf_token: str
    subscription_id: str


class _Server(uvicorn.Server):
    """Stops at once: open keep-alive (and TLS) connections are aborted, not drained."""

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for connection in list(self.server_state.connections):
            transport = getattr(connection, "transport", None)
            if transport is not None:
                transport.abort()
        await super().shutdown(sockets)


class ThreadedServer:
    """An ASGI app served by uvicorn in a daemon thread, on a socket bound beforehand (port 0: any)."""

    def __init__(
        self,
        app: Any,
        sock: socket.socket,
        ssl: tuple[str, str] | None = None,
        lifespan: Literal["auto", "on", "off"] = "off",
    ) -> None:
        kwargs: dict[str, Any] = {}
        if ssl:
            kwargs = {"ssl_certfile": ssl[0], "ssl_keyfile": ssl[1]}
        config = uvicorn.Config(
            app, log_level="warning", access_log=False, lifespan=lifespan, timeout_graceful_shutdown=1, **kwargs
        )
        self.server = _Server(config)
        self.sock = sock
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("sandbox server did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)
        with contextlib.suppress(OSError):
            self.sock.close()

    @classmethod
    def on(
        cls, app: Any, host: str = "127.0.0.1", port: int = 0, lifespan: Literal["auto", "on", "off"] = "off"
    ) -> ThreadedServer:
        server = cls(app, bind(host, port), lifespan=lifespan)
        server.start()
        return server

    @property
    def url(self) -> str:
        host, port = self.sock.getsockname()[:2]
        return f"http://{host}:{port}"


def bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    return sock


class Sandbox:
    """The emulator, in-process. ``with Sandbox(scenario) as sb: ...`` or ``start()``/``stop()``."""

    def __init__(
        self,
        scenario: Scenario | None = None,
        *,
        host: str = "127.0.0.1",
        http_port: int = 0,
        https_port: int = 0,
        workdir: str | Path | None = None,
    ) -> None:
        self.state = SandboxState(scenario)
        self.host = host
        self._ports = (http_port, https_port)
        self._tmp = None if workdir else tempfile.TemporaryDirectory(prefix="autoheal-sandbox-")
        self.workdir = Path(workdir or self._tmp.name).resolve()  # type: ignore[union-attr]
        self._threads: list[ThreadedServer] = []
        self.endpoints: Endpoints | None = None

    def _certs(self) -> tuple[str, str, str]:
        ca = trustme.CA()
        cert = ca.issue_cert(self.host, "localhost")
        self.workdir.mkdir(parents=True, exist_ok=True)
        ca_path, cert_path, key_path = (self.workdir / n for n in ("ca.pem", "server.pem", "server.key"))
        ca.cert_pem.write_to_path(str(ca_path))
        cert.private_key_pem.write_to_path(str(key_path))
        cert_path.write_bytes(b"".join(blob.bytes() for blob in cert.cert_chain_pems))
        return str(ca_path), str(cert_path), str(key_path)

    def start(self) -> Endpoints:
        ca, cert, key = self._certs()
        app = build_app(self.state)
        http_sock, https_sock = bind(self.host, self._ports[0]), bind(self.host, self._ports[1])
        self._threads = [ThreadedServer(app, http_sock, None), ThreadedServer(app, https_sock, (cert, key))]
        for t in self._threads:
            t.start()
        self.state.workspace.token = self.state.workspace.token or SANDBOX_TOKEN
        self.state.adf.token = self.state.adf.token or ADF_TOKEN
        self.endpoints = Endpoints(
            databricks_host=f"http://{self.host}:{http_sock.getsockname()[1]}",
            adf_base_url=f"https://{self.host}:{https_sock.getsockname()[1]}",
            ca_bundle=ca,
            databricks_token=self.state.workspace.token,
            adf_token=self.state.adf.token,
            subscription_id=self.state.adf.subscription_id,
        )
        return self.endpoints

    def load(self, scenario: Scenario) -> None:
        """Swap in another scenario, keeping the servers and the tokens."""
        self.state.load(scenario)
        if self.endpoints:
            self.state.workspace.token = self.endpoints.databricks_token
            self.state.adf.token = self.endpoints.adf_token

    def reset(self) -> None:
        self.load(self.state.scenario)

    def stop(self) -> None:
        for t in self._threads:
            t.stop()
        self._threads = []
        if self._tmp:
            self._tmp.cleanup()

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def exports(self) -> dict[str, str]:
        """The environment a shell (or autoheal) needs to talk to this sandbox."""
        if self.endpoints is None:
            raise RuntimeError("sandbox not started")
        e = self.endpoints
        factory = next(iter(self.state.adf.factories.values()), None)
        out = {
            "DATABRICKS_HOST": e.databricks_host,
            "DATABRICKS_TOKEN": e.databricks_token,
            "AUTOHEAL_ADF_BASE_URL": e.adf_base_url,
            "AUTOHEAL_ADF_CA_BUNDLE": e.ca_bundle,
            "AUTOHEAL_ADF_TOKEN": e.adf_token,
            "AZURE_SUBSCRIPTION_ID": e.subscription_id,
        }
        if factory is not None:
            out["AUTOHEAL_ADF_RESOURCE_GROUP"] = factory.spec.resource_group
            out["AUTOHEAL_ADF_FACTORY"] = factory.spec.name
        return out
