"""SIGTERM, SIGINT or SIGKILL to `autoheal up`, `demo`, `serve` and `sandbox` leaves no process
behind (issue 13). Each test starts the command as a user would, lists its process tree, sends the
signal, and checks every process of that tree is gone: the Prefect server, `flows.serve`, its fork
server and resource tracker, the flow runs."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from autoheal.app.scratch import ADMIN_URL, scratch_databases
from tests.e2e.test_alert_path import adf_alert
from tests.processes import command, descendants, wait_gone

ROOT = Path(__file__).resolve().parents[2]
PG = os.environ.get("AUTOHEAL_TEST_POSTGRES", ADMIN_URL)


@pytest.fixture
def environment(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A clean environment for the command: a Prefect server of its own on PostgreSQL, the store on SQLite."""
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "AUTOHEAL_", "DATABRICKS_", "AZURE"))}
    with scratch_databases("autoheal_stop", PG) as (prefect_db, _):
        yield {
            **keep,
            "PYTHONPATH": str(ROOT),
            "PREFECT_API_DATABASE_CONNECTION_URL": prefect_db,
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "AUTOHEAL_DATABASE_URL": f"sqlite:///{tmp_path / 'store.db'}",
            "AUTOHEAL_RECEIVER_PORT": "0",
            "AUTOHEAL_WEBHOOK_TOKEN": "clean-stop-token",
            "AUTOHEAL_DELAY_SCALE": "0.01",
            "AUTOHEAL_STOP_GRACE_SECONDS": "5",
        }


STARTED: list[subprocess.Popen[bytes]] = []


@pytest.fixture(autouse=True)
def _nothing_left_by_a_failed_test() -> Iterator[None]:
    """A test that fails before its signal is sent leaves nothing running either."""
    yield
    while STARTED:
        process = STARTED.pop()
        if process.poll() is None:
            for pid in [*descendants(process.pid), process.pid]:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            process.wait()


def start(args: list[str], env: dict[str, str], tmp_path: Path) -> subprocess.Popen[bytes]:
    with (tmp_path / "out.log").open("wb") as log:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(
            [sys.executable, "-m", "autoheal.app.cli", *args],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            # As started from a terminal: a shell that runs this suite in the background (CI's, say)
            # passes SIGINT on ignored, and Python then keeps ignoring it (no KeyboardInterrupt at all).
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
    STARTED.append(process)
    return process


def wait_for(tmp_path: Path, text: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in (tmp_path / "out.log").read_text(errors="replace"):
            return
        if process.poll() is not None:
            break
        time.sleep(0.5)
    raise AssertionError(f"no {text!r} in {timeout}s: {(tmp_path / 'out.log').read_text(errors='replace')[-3000:]}")


def send_an_alert(tmp_path: Path) -> None:
    """An alert to the receiver `up` printed: a flow run is forked at once (no wait for a schedule)."""
    found = re.search(r"Receiver\s+(http://\S+)/alerts/azure-monitor", (tmp_path / "out.log").read_text())
    assert found, (tmp_path / "out.log").read_text()[-2000:]
    answer = httpx.post(
        f"{found.group(1)}/alerts/azure-monitor",
        json=adf_alert(f"clean-stop-{uuid.uuid4()}"),
        headers={"X-Autoheal-Token": "clean-stop-token"},
        timeout=30,
    )
    assert answer.status_code == 202, answer.text


def tree_with_flow_runs(parent: int, timeout: float = 150) -> list[int]:
    """The parent's process tree once `flows.serve` has forked a flow run, so the fork server and the
    resource tracker are in it too."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        tree = descendants(parent)
        if any("forkserver" in command(pid) for pid in tree):
            return tree
        time.sleep(1)
    raise AssertionError(f"no fork server under {parent}: {[command(p) for p in descendants(parent)]}")


def stop_and_check(process: subprocess.Popen[bytes], tree: list[int], sig: int, timeout: float) -> None:
    names = {pid: command(pid) for pid in tree}
    process.send_signal(sig)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        raise AssertionError(f"{sig!r} did not stop it within {timeout}s") from None
    left = wait_gone(tree, timeout=60)
    for pid in left:  # not to leave them to the next test
        os.kill(pid, signal.SIGKILL)
    assert not left, [names[pid] for pid in left]


@pytest.mark.timeout(400)
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL], ids=["SIGTERM", "SIGINT", "SIGKILL"])
def test_up_leaves_no_process_behind(environment: dict[str, str], tmp_path: Path, sig: int) -> None:
    process = start(["up", "--sandbox", "--workdir", str(tmp_path / "w")], environment, tmp_path)
    wait_for(tmp_path, "Ctrl-C stops everything", process, 150)
    send_an_alert(tmp_path)
    tree = tree_with_flow_runs(process.pid)
    commands = " ".join(command(p) for p in tree)
    assert "prefect server start" in commands and "flows.serve" in commands and "resource_tracker" in commands
    stop_and_check(process, tree, sig, timeout=90)


@pytest.mark.timeout(400)
def test_demo_stops_on_sigterm_with_everything_it_started(environment: dict[str, str], tmp_path: Path) -> None:
    process = start(["demo", "--workdir", str(tmp_path / "w")], environment, tmp_path)
    wait_for(tmp_path, "Everything stays up until Ctrl-C", process, 300)
    tree = descendants(process.pid)
    assert any("forkserver" in command(p) for p in tree), [command(p) for p in tree]
    stop_and_check(process, tree, signal.SIGTERM, timeout=90)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("args", [["sandbox"], ["serve"]], ids=["sandbox", "serve"])
def test_sandbox_and_serve_stop_on_sigterm(environment: dict[str, str], tmp_path: Path, args: list[str]) -> None:
    process = start(args, {**environment, "PREFECT_API_URL": "http://127.0.0.1:9/api"}, tmp_path)
    wait_for(tmp_path, "sandbox running" if args == ["sandbox"] else "Application startup complete", process, 60)
    tree = [process.pid, *descendants(process.pid)]
    stop_and_check(process, tree, signal.SIGTERM, timeout=30)
    assert process.returncode is not None
