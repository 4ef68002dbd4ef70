"""Every error condition Spark and Delta document, rendered as a job would see it, against the classifier:
a condition whose SQLSTATE class is a fault of the job's own never heals, on its words alone or with its
name and state. This judges the words on some 1,380 messages (of 2,124 rendered) no rule was written
from: the catalogues are Spark's and Delta's (tests/data/README.md), the rules' knowledge of them is a
selection (autoheal/domain/knowledge/spark_errors.toml)."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest

from autoheal.domain.catalog import load_catalog
from autoheal.domain.classifier import RuleClassifier

CATALOGUES = [
    Path(__file__).parents[1] / "data" / "spark" / name
    for name in ("error-conditions.json.gz", "delta-error-classes.json.gz")
]
CLASSIFIER = RuleClassifier(load_catalog())

# SQLSTATE classes (Spark's error-states.json) whose conditions are the job's own fault: dynamic SQL, a
# feature not supported, cardinality, data, integrity, privileges, external routines (a UDF), schema names,
# syntax or access, Java DDL, application state, program limits, configuration files, data sources,
# procedural logic. Left out: connection (08), transaction rollback (40), insufficient resources (53),
# operator intervention (57), system (58), CLI (HY), miscellaneous (56) and internal (XX) errors, and
# conditions with no state: either side.
NEVER_STATES = frozenset(
    {"07", "0A", "21", "22", "23", "2B", "38", "39", "3F", "42", "46", "51", "54", "F0", "HV", "KD", "P0"}
)
_PLACEHOLDER = re.compile(r"<(\w+)>")
# Conditions whose own words tell the caller to run the same thing again, unchanged: the catalogue's state
# class says one thing, the service's advice another, and the advice is what a person would follow.
OWN_WORDS_SAY_RETRY = {
    # "Please try again later. If the issue persists, contact support."
    "DELTA_FEATURE_DROP_CHECKPOINT_FAILED",
    # "... running concurrently with a Row Tracking disablement ... Please retry the disablement operation"
    "DELTA_ROW_TRACKING_BACKFILL_RUNNING_CONCURRENTLY_WITH_UNBACKFILL",
    # "... usually a result of concurrent write. Please run the REORG TABLE ... command again."
    "DELTA_ICEBERG_COMPAT_VIOLATION.FILES_NOT_ICEBERG_COMPAT",
    # "Internal error: two DomainMetadata actions within the same transaction ...": Delta calls it internal.
    "DELTA_DUPLICATE_DOMAIN_METADATA_INTERNAL_ERROR",
}


def _text(message: str | list[str]) -> str:
    return " ".join(message) if isinstance(message, list) else message


def _rendered() -> list[tuple[str, str, str]]:
    """(condition name, SQLSTATE, message with every placeholder filled), subconditions included."""
    conditions = {}
    for catalogue in CATALOGUES:
        conditions.update(json.loads(gzip.decompress(catalogue.read_bytes())))
    out = []
    for name, condition in conditions.items():
        state = condition.get("sqlState", "")
        head = _text(condition["message"])
        for sub, sub_condition in (condition.get("subClass") or {"": None}).items():
            message = head + (" " + _text(sub_condition["message"]) if sub_condition else "")
            full_name = f"{name}.{sub}" if sub else name
            out.append((full_name, state, _PLACEHOLDER.sub("`v1`", message)))
    return out


RENDERED = _rendered()


def test_the_catalogue_is_whole() -> None:
    assert len(RENDERED) > 2100
    assert sum(1 for _, state, _ in RENDERED if state[:2] in NEVER_STATES) > 1350


@pytest.mark.parametrize("form", ["words", "named"])
def test_no_condition_of_the_jobs_own_fault_heals(form: str) -> None:
    healed = []
    for name, state, message in RENDERED:
        if state[:2] not in NEVER_STATES or name in OWN_WORDS_SAY_RETRY:
            continue
        text = message if form == "words" else f"[{name}] {message} SQLSTATE: {state}"
        result = CLASSIFIER.classify_text(text, service="databricks")
        if result.remediable:
            healed.append(f"{name} ({state}): {result.rule} {result.evidence}")
    assert not healed, "\n".join(healed)
