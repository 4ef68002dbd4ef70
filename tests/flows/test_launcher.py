"""Flow runs forked from the preloaded server (flows/launcher.py), as the served runner starts them."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import prefect.flow_engine as flow_engine
import prefect.runner._starter_direct as starter
import pytest
from prefect import flow, get_client
from prefect.client.schemas.sorting import FlowRunSort

from flows import launcher


@flow(name="launcher-probe")
def probe(out: str) -> None:
    Path(out).write_text(
        json.dumps(
            {
                "pid": os.getpid(),
                "ppid": os.getppid(),
                "preloaded": "flows.remediate" in sys.modules,
                "observes_suspension": flow_engine.observe_flow_run_suspension is not launcher._no_observer,
            }
        )
    )


@pytest.fixture
def restore_starter() -> Iterator[None]:
    original = getattr(starter, "run_flow_in_subprocess")  # noqa: B009
    yield
    setattr(starter, "run_flow_in_subprocess", original)  # noqa: B010


def test_the_installed_prefect_is_one_the_launcher_supports() -> None:
    """Fails on a Prefect release the launcher was not written against, saying which and why."""
    assert launcher.unsupported_reason() is None, launcher.unsupported_reason()


def test_enable_replaces_the_runners_starter(restore_starter: None) -> None:
    launcher.enable.cache_clear()
    assert not launcher.installed()
    assert launcher.enable() is True
    assert launcher.installed()


def test_an_unsupported_prefect_falls_back_to_its_own_spawn_and_says_so_once(
    restore_starter: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    launcher.enable.cache_clear()
    monkeypatch.setattr(launcher, "PRIVATE", (*launcher.PRIVATE, ("prefect.flow_engine", "_gone_in_this_release")))
    assert "prefect.flow_engine._gone_in_this_release" in (launcher.unsupported_reason() or "")
    with caplog.at_level("WARNING", logger="autoheal.launcher"):
        assert launcher.enable() is False
        assert launcher.enable() is False
    assert not launcher.installed()
    assert [r.getMessage() for r in caplog.records].count(caplog.records[0].getMessage()) == 1
    assert "spawned by Prefect" in caplog.records[0].getMessage()
    monkeypatch.setattr(launcher.prefect, "__version__", "4.0.0")
    assert "Prefect 4.0.0 is installed" in (launcher.unsupported_reason() or "")
    launcher.enable.cache_clear()


def test_a_flow_run_is_forked_from_the_preloaded_server_and_completes(prefect_server: None, tmp_path: Path) -> None:
    out = tmp_path / "probe.json"
    process = launcher.run_flow_in_forked_process(probe, parameters={"out": str(out)})
    process.join(timeout=90)
    assert process.exitcode == 0
    seen = json.loads(out.read_text())
    # Its parent is the fork server, not this process, and the flow modules were already imported there.
    assert seen["pid"] == process.pid and seen["ppid"] != os.getpid() and seen["preloaded"] is True
    # The forked run does not watch for an outside suspension (flows/launcher.py); this process still would.
    assert seen["observes_suspension"] is False
    assert flow_engine.observe_flow_run_suspension is not launcher._no_observer

    async def last_run_state() -> str | None:
        async with get_client() as client:
            (run,) = await client.read_flow_runs(limit=1, sort=FlowRunSort.EXPECTED_START_TIME_DESC)
            return run.state.type.value if run.state else None

    assert asyncio.run(last_run_state()) == "COMPLETED"


def test_an_importable_flow_is_sent_by_reference_and_a_local_one_by_value() -> None:
    from flows.remediate import remediate

    @flow(name="local")
    def local() -> None: ...

    assert launcher.reference(remediate) == "flows.remediate:remediate"
    assert launcher.reference(probe) == "tests.flows.test_launcher:probe"
    assert launcher.reference(local) is None


def test_a_plain_http_api_gets_a_bundle_of_one_certificate_and_https_keeps_its_own() -> None:
    import ssl

    (path,) = launcher.plain_http_bundle({"PREFECT_API_URL": "http://127.0.0.1:4200/api"}).values()
    assert Path(path).read_text().count("BEGIN CERTIFICATE") == 1
    context = ssl.create_default_context(cafile=path)  # what Prefect builds for each client
    assert context.cert_store_stats()["x509_ca"] == 1
    assert launcher.plain_http_bundle({"PREFECT_API_URL": "https://api.prefect.cloud/api/accounts/a"}) == {}
    assert launcher.plain_http_bundle({"PREFECT_API_URL": "http://h/api", "PREFECT_API_SSL_CERT_FILE": "/ca.pem"}) == {}
    assert launcher.plain_http_bundle({}) == {}


def test_the_fork_server_starts_before_the_first_run_and_only_once() -> None:
    """A runner starts its fork server while it starts (flows/serve.py), not at its first flow run."""
    pid = launcher.start_server()
    assert pid is not None
    os.kill(pid, 0)  # alive
    assert launcher.start_server() == pid
