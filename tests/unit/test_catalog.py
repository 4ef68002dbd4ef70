from __future__ import annotations

from pathlib import Path

import pytest

from autoheal.domain.catalog import NEVER_REMEDIATED, CatalogError, load_catalog, parse_catalog
from playbooks.registry import PLAYBOOKS

DESIGN_TABLE = {  # the starting values (attempts and delays) of the system autoheal replaces
    "GatewayTimeout": [10, 30, 60],
    "HttpConnectionFailed": [5, 15, 30],
    "ThrottlingError": [30, 60, 120, 300, 600],
    "InternalServerError": [30, 60],
    "UserErrorSourceBlobNotExists": [60, 120, 300],
    "DatabricksClusterStartFailure": [60, 120],
    "DatabricksTimeoutError": [30, 60],
    "DatabricksDriverNotResponding": [60],
    "DatabricksLibraryInstallationError": [30, 60],
    "DatabricksResourceExhausted": [60, 120],
    "ClusterUnexpectedTermination": [60, 120],
}


def test_bundled_catalog_matches_the_design_table_and_names_real_playbooks() -> None:
    catalog = load_catalog()
    assert {name: e.delays for name, e in catalog.types.items()} == DESIGN_TABLE
    assert all(e.attempts == len(e.delays) for e in catalog.types.values())
    assert tuple(catalog.never) == NEVER_REMEDIATED
    for entry in catalog.types.values():
        for service, playbook in entry.playbooks.items():
            assert PLAYBOOKS[playbook][0] == service


def test_schedule_maps_attempts_onto_prefect_retries() -> None:
    entry = load_catalog().types["ThrottlingError"]
    assert entry.schedule() == (30, 4, [60, 120, 300, 600])
    first, retries, later = entry.schedule(0.01)
    assert (first, retries) == (pytest.approx(0.3), 4) and later == pytest.approx([0.6, 1.2, 3.0, 6.0])


def test_errors_name_the_line(tmp_path: Path) -> None:
    text = (Path(__file__).parents[2] / "autoheal" / "domain" / "catalog.toml").read_text()
    broken = text.replace("attempts = 5\n", "attempts = 4\n")
    line = broken.splitlines().index("[types.ThrottlingError]") + 1
    with pytest.raises(CatalogError, match=rf"line {line} \(\[types.ThrottlingError\]\): .*delays has 5 values"):
        parse_catalog(broken, "x.toml")
    with pytest.raises(CatalogError, match="must list Unknown"):
        parse_catalog(text.replace('Unknown = "no rule', 'Unknownish = "no rule'), "x.toml")
    with pytest.raises(CatalogError, match="not valid TOML"):
        parse_catalog("[types.X\n", "x.toml")
    with pytest.raises(CatalogError, match=r"playbooks\.spark"):
        parse_catalog(
            text.replace('playbooks = { adf = "adf.rerun_after_upstream" }', 'playbooks = { spark = "x" }'), "x.toml"
        )
    with pytest.raises(CatalogError, match="cannot read"):
        load_catalog(tmp_path / "missing.toml")


def test_schedule_after_spent_attempts_runs_only_what_is_left() -> None:
    entry = load_catalog().types["ThrottlingError"]
    assert entry.schedule(spent=3) == (300, 1, [600])
