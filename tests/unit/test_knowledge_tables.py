"""The code knowledge tables (autoheal/domain/knowledge/*.toml) against the installed SDK and the label set.

Every Databricks termination code the installed SDK knows must have an entry, so a new SDK code
fails here and names itself; no entry may name a code the SDK does not know. Every entry of every
table must carry the required keys, a label from the catalog's label set, a source URL,
and never mark a never-class as remediable.
"""

from __future__ import annotations

import re
import tomllib
from enum import Enum
from pathlib import Path
from typing import Any

import pytest
from databricks.sdk.service import compute, jobs

from autoheal.domain.knowledge import Table

REPO = Path(__file__).parents[2]
KNOWLEDGE = REPO / "autoheal" / "domain" / "knowledge"
# The remediation catalog defines the label set ([types.*] remediable, [never] not).
CATALOG = REPO / "autoheal" / "domain" / "catalog.toml"

CLUSTER_FILE = "databricks_cluster_termination.toml"
RUN_FILE = "databricks_run_termination.toml"
SPARK_FILE = "spark_errors.toml"
ADF_FILE = "adf_error_codes.toml"
API_FILE = "http_and_api_errors.toml"
# Every table in the folder, so that a new one is checked without being listed here.
ALL_FILES = tuple(sorted(path.name for path in KNOWLEDGE.glob("*.toml")))

REQUIRED_KEYS = frozenset({"class", "remediable", "decisive", "why", "source"})
ALLOWED_KEYS = REQUIRED_KEYS | {"type"}

# The SDK type enum each Databricks table's `type` must belong to; the other tables have no type.
TYPE_ENUMS: dict[str, type[Enum]] = {CLUSTER_FILE: compute.TerminationReasonType, RUN_FILE: jobs.TerminationTypeType}


def _load(name: str) -> dict[str, dict[str, Any]]:
    with (KNOWLEDGE / name).open("rb") as handle:
        data = tomllib.load(handle)
    codes = data.get("codes")
    assert isinstance(codes, dict) and codes, f"{name}: no [codes.*] tables"
    return codes


def _catalog() -> dict[str, Any]:
    with CATALOG.open("rb") as handle:
        return tomllib.load(handle)


def _labels() -> tuple[frozenset[str], frozenset[str]]:
    """(every label, the never-remediated labels), as the catalog defines them."""
    catalog = _catalog()
    remediable = frozenset(catalog["types"])
    never = frozenset(catalog["never"])
    return remediable | never, never


def _enum_values(enum: type[Enum]) -> set[str]:
    return {str(member.value) for member in enum}


@pytest.mark.parametrize(
    ("name", "enum"),
    [(CLUSTER_FILE, compute.TerminationReasonCode), (RUN_FILE, jobs.TerminationCodeCode)],
)
def test_every_sdk_code_has_an_entry(name: str, enum: type[Enum]) -> None:
    missing = sorted(_enum_values(enum) - set(_load(name)))
    assert not missing, f"{name} lacks entries for {enum.__name__} members: {', '.join(missing)}"


@pytest.mark.parametrize(
    ("name", "enum"),
    [(CLUSTER_FILE, compute.TerminationReasonCode), (RUN_FILE, jobs.TerminationCodeCode)],
)
def test_no_entry_names_a_code_outside_the_sdk(name: str, enum: type[Enum]) -> None:
    unknown = sorted(set(_load(name)) - _enum_values(enum))
    assert not unknown, f"{name} has entries that are not {enum.__name__} members: {', '.join(unknown)}"


def test_every_sdk_api_error_code_and_status_has_an_entry() -> None:
    """The error codes and HTTP statuses databricks-sdk turns into its exceptions: a new one fails here."""
    from databricks.sdk.errors import platform

    documented = set(_load(API_FILE))
    wanted = {*platform.ERROR_CODE_MAPPING, *(str(status) for status in platform.STATUS_CODE_MAPPING)}
    missing = sorted(wanted - documented)
    assert not missing, f"{API_FILE} lacks entries for databricks-sdk error codes: {', '.join(missing)}"


def test_every_table_in_the_folder_is_one_the_classifier_loads() -> None:
    assert set(ALL_FILES) == {f"{name.value}.toml" for name in Table}


@pytest.mark.parametrize("name", ALL_FILES)
def test_entries_are_well_formed(name: str) -> None:
    labels, never = _labels()
    type_enum = TYPE_ENUMS.get(name)
    allowed_types = _enum_values(type_enum) if type_enum is not None else set()
    problems: list[str] = []
    for code, entry in _load(name).items():
        missing = REQUIRED_KEYS - set(entry)
        if missing:
            problems.append(f"{code}: missing {sorted(missing)}")
            continue
        extra = set(entry) - ALLOWED_KEYS
        if extra:
            problems.append(f"{code}: unexpected keys {sorted(extra)}")
        label = entry["class"]
        if label not in labels:
            problems.append(f"{code}: class {label!r} is not in the label set")
        if not isinstance(entry["remediable"], bool) or not isinstance(entry["decisive"], bool):
            problems.append(f"{code}: remediable and decisive must be booleans")
        elif label in never and entry["remediable"]:
            problems.append(f"{code}: never-class {label!r} marked remediable")
        if not isinstance(entry["why"], str) or not entry["why"].strip():
            problems.append(f"{code}: empty why")
        source = entry["source"]
        if not isinstance(source, str) or not source.startswith("http"):
            problems.append(f"{code}: source {source!r} is not a URL")
        if "type" in entry:
            if type_enum is None:
                problems.append(f"{code}: {name} entries take no type")
            elif entry["type"] not in allowed_types:
                problems.append(f"{code}: type {entry['type']!r} is not a {type_enum.__name__} member")
    assert not problems, f"{name}:\n" + "\n".join(problems)


# Sanity bounds of the two selected (not enumerated) tables. The Spark table also holds every condition of
# Spark's Kafka connector and PySpark's conditions of a running job (ninth corpus pass), hence its 200; the ADF
# table every code its guides document (the list of pages is in its header), hence its 400.
@pytest.mark.parametrize(("name", "low", "high"), [(SPARK_FILE, 40, 200), (ADF_FILE, 400, 600)])
def test_selected_tables_stay_in_their_size_range(name: str, low: int, high: int) -> None:
    count = len(_load(name))
    assert low <= count <= high, f"{name} has {count} entries, expected {low}-{high}"


def test_success_terminations_are_never_healed() -> None:
    for name in (CLUSTER_FILE, RUN_FILE):
        for code, entry in _load(name).items():
            if entry.get("type") == "SUCCESS":
                assert entry["class"] == "Unknown" and entry["remediable"] is False, f"{name}: {code}"


def test_every_documented_adf_code_named_by_a_configuration_fault_is_never_remediable() -> None:
    # autoheal/domain/classifier.py vetoes an undocumented ADF code whose name says Invalid, Missing or
    # Unsupported, on the strength of every documented one: a documented exception would break the rule.
    named = re.compile(r"(?i)invalid|missed|missing|not_?supported?|unsupported")
    exceptions = [code for code, entry in _load(ADF_FILE).items() if named.search(code) and entry["remediable"]]
    assert not exceptions
    assert sum(1 for code in _load(ADF_FILE) if named.search(code)) >= 100
