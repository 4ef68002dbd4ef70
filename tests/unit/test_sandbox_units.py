"""Sandbox pieces without a server: scenario loading and the fault book."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.faults import Fault, FaultBook
from sandbox.scenario import ScenarioError, bundled_scenarios, load_scenario
from sandbox.state import SandboxState

CATALOG_TYPES = {
    "GatewayTimeout",
    "HttpConnectionFailed",
    "ThrottlingError",
    "InternalServerError",
    "UserErrorSourceBlobNotExists",
    "DatabricksClusterStartFailure",
    "DatabricksTimeoutError",
    "DatabricksDriverNotResponding",
    "DatabricksLibraryInstallationError",
    "DatabricksResourceExhausted",
    "ClusterUnexpectedTermination",
}


def test_a_bundled_scenario_for_each_catalog_type() -> None:
    covered = {load_scenario(name).error_type for name in bundled_scenarios(single_type=True)}
    assert covered == CATALOG_TYPES


def test_scenario_errors_name_the_problem(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="no bundled scenario of that name"):
        load_scenario("no-such-thing")
    bad = tmp_path / "bad.yaml"
    bad.write_text("databricks:\n  clusters:\n    - cluster_name: x\n")
    with pytest.raises(ScenarioError, match="cluster_id"):
        load_scenario(bad)
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    with pytest.raises(ScenarioError, match="not valid JSON"):
        load_scenario(broken)
    typo = tmp_path / "typo.yaml"
    typo.write_text("time_scael: 1\n")
    with pytest.raises(ScenarioError, match="time_scael"):
        load_scenario(typo)


def test_fault_book_counts_down_and_matches_method_and_path() -> None:
    book = FaultBook()
    book.add(Fault(path="/clusters/start$", method="POST", status=429, times=2))
    assert book.take("GET", "/api/2.1/clusters/start") is None
    assert book.take("POST", "/api/2.1/clusters/get") is None
    assert book.take("POST", "/api/2.1/clusters/start") is not None
    assert book.take("POST", "/api/2.1/clusters/start") is not None
    assert book.take("POST", "/api/2.1/clusters/start") is None
    assert len(book.fired) == 2


def test_reset_restores_the_scenario() -> None:
    state = SandboxState(load_scenario("driver-not-responding"))
    state.workspace.clusters["0923-164208-etl001"].driver_healthy = True
    state.add_fault(path="x", times=1)
    state.reset()
    assert state.workspace.clusters["0923-164208-etl001"].driver_healthy is False
    assert state.faults.take("GET", "x") is None
