"""Azure SQL Database's documented error tables against the classifier (tests/data/catalogues/
azure_sql_errors.README.md: 52 rows no rule was written from, each labelled from the page's own words): a
fault the page calls transient heals on its message alone, one it says needs a person's change does not."""

from __future__ import annotations

import pytest

from autoheal.domain.catalog import load_catalog
from autoheal.domain.classifier import RuleClassifier
from tests.unit.catalogues import rows

ROWS = rows("azure_sql_errors.jsonl")
CLASSIFIER = RuleClassifier(load_catalog())

# Transient by the page, and left to a person here, with the reason:
NOT_ALONE = {
    # "marked SUSPECT by recovery": on SQL Server the same words mean a damaged database.
    "926",
    # Database copy: "Please drop target database and try again" is a step before the retry.
    "40564",
    "40566",
    "40567",
    "40568",
    "40569",
}


def test_the_catalogue_is_whole() -> None:
    assert len(ROWS) == 52
    assert {row["expected"] for row in ROWS} == {"transient", "never", "either"}


@pytest.mark.parametrize("expected", ["transient", "never"])
def test_the_pages_own_word_decides(expected: str) -> None:
    wrong = []
    for row in ROWS:
        if row["expected"] != expected or row["code"] in NOT_ALONE:
            continue
        for text in (row["message"], f"Error {row['code']}: {row['message']}"):
            result = CLASSIFIER.classify_text(text, service="adf")
            if result.remediable != (expected == "transient"):
                wrong.append(f"{row['code']}: {result.rule} | {text}")
    assert not wrong, "\n".join(wrong)


def test_a_step_before_the_retry_is_left_to_a_person() -> None:
    for row in ROWS:
        if row["code"] in NOT_ALONE and "drop target database" in row["message"]:
            result = CLASSIFIER.classify_text(row["message"], service="adf")
            assert not result.remediable and result.abstained, (row["code"], result)
