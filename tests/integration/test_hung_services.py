"""A cloud service that accepts a request and then answers nothing for minutes (issue 13): the attempt
ends by its bounds (`AUTOHEAL_CLOUD_HTTP_TIMEOUT_SECONDS` per request, the SDKs' own retry bounds),
as a transient failure that acted on nothing, and leaves no thread behind. The sandbox hangs for real:
its fault holds the connection open, silent, for two minutes."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from autoheal.app.rehearsal import sandbox_settings
from autoheal.cloud.clients import adf_client, databricks_client
from autoheal.cloud.polling import Limits
from autoheal.domain.outcome import TransientFailure
from playbooks import databricks as dbx_playbooks
from sandbox import Sandbox
from tests.conftest import FastClock
from tests.integration import test_playbook_adf as adf_tests
from tests.integration import test_playbook_databricks as dbx_tests

HANG_SECONDS = 120.0
BOUND = 1.0  # seconds each request may wait


def _settings(sandbox: Sandbox) -> Any:
    return sandbox_settings(
        sandbox,
        adf_resource_group=adf_tests.RG,
        adf_factory=adf_tests.FACTORY,
        databricks_retry_timeout_seconds=2,
        adf_retry_total=1,
        cloud_http_timeout_seconds=BOUND,
    )


def test_databricks_hanging_ends_the_attempt_within_its_bounds(
    load: Any, sandbox: Sandbox, clock: FastClock, limits: Limits
) -> None:
    sb = load("cluster-unexpected-termination")
    run_id = dbx_tests.failed_run(sb)
    threads = threading.active_count()
    client = databricks_client(_settings(sandbox), clock=clock)
    try:
        sb.state.add_fault(path="/jobs/runs/get$", kind="slow", delay_seconds=HANG_SECONDS, times=100)
        started = time.monotonic()
        with pytest.raises(TransientFailure):
            dbx_playbooks.heal_cluster_then_repair(
                client, run_id=run_id, restart_if_running=False, since_ms=None, clock=clock, limits=limits
            )
        elapsed = time.monotonic() - started
        # A few requests of BOUND seconds each (the SDK retries timeouts within its 2 s of our clock),
        # nowhere near the two minutes the service hangs.
        assert elapsed < 10 * BOUND, elapsed
        assert sum(1 for _, path, kind in sb.state.faults.fired if kind == "slow" and "runs/get" in path) >= 1
        assert sb.state.counts()["cluster_starts"] == 0 and sb.state.counts()["repairs"] == 0
        sb.state.faults.clear()
        assert dbx_playbooks.heal_cluster_then_repair(
            client, run_id=run_id, restart_if_running=False, since_ms=None, clock=clock, limits=limits
        ).verified
    finally:
        sb.state.faults.clear()
        client.api_client._api_client._session.close()
    assert threading.active_count() == threads


def test_adf_hanging_ends_the_attempt_within_its_bounds(
    load: Any, sandbox: Sandbox, clock: FastClock, limits: Limits
) -> None:
    sb = load("gateway-timeout")
    run_id = adf_tests.failed_run(sb)
    threads = threading.active_count()
    client = adf_client(_settings(sandbox), clock=clock)
    try:
        sb.state.add_fault(path="/pipelineruns/", method="GET", kind="slow", delay_seconds=HANG_SECONDS, times=100)
        started = time.monotonic()
        with pytest.raises(TransientFailure):
            adf_tests.rerun(client, run_id, clock, limits)
        elapsed = time.monotonic() - started
        # One request and one retry (AUTOHEAL_ADF_RETRY_TOTAL=1), BOUND seconds each, and no more.
        assert elapsed < 10 * BOUND, elapsed
        assert sb.state.counts()["recovery_runs"] == 0
        sb.state.faults.clear()
        assert adf_tests.rerun(client, run_id, clock, limits).verified
    finally:
        sb.state.faults.clear()
        client.close()
    assert threading.active_count() == threads
