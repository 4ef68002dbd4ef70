"""The Prefect server autoheal starts (flows/prefect_server.py) is the one it talks to: a port taken by
another process between choosing it and binding it is not mistaken for a running server of ours."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from autoheal.app.scratch import ADMIN_URL, scratch_databases
from flows.prefect_server import LocalPrefectServer

PG = os.environ.get("AUTOHEAL_TEST_POSTGRES", ADMIN_URL)


class Impostor(BaseHTTPRequestHandler):
    """Another Prefect server: healthy, with a home of its own."""

    def do_GET(self) -> None:
        body = json.dumps({"home": "/somewhere/else"} if self.path.endswith("/admin/settings") else True).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def prefect_database() -> Iterator[str]:
    with scratch_databases("autoheal_port", PG) as (prefect_db, _):
        yield prefect_db


@pytest.mark.timeout(300)
def test_a_port_taken_before_the_server_binds_it_is_left_to_its_owner(tmp_path: Path, prefect_database: str) -> None:
    server = LocalPrefectServer(tmp_path / "prefect", port=0, database_url=prefect_database)
    taken = server.port
    impostor = ThreadingHTTPServer(("127.0.0.1", taken), Impostor)  # takes the port after it was chosen
    threading.Thread(target=impostor.serve_forever, daemon=True).start()
    try:
        server.start(timeout=120)
        assert server.port != taken
        assert b"already in use" in server.log.read_bytes()  # ours lost the first port
        settings = httpx.get(f"{server.api_url}/admin/settings", timeout=10).json()
        assert Path(settings["home"]).resolve() == server.home
    finally:
        server.stop()
        impostor.shutdown()
        impostor.server_close()
