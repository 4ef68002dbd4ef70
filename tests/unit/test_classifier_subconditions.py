"""Error conditions read with their sub-condition ("[FAILED_READ_FILE.PARQUET_COLUMN_DATA_TYPE_MISMATCH] ..."):
where the documented sub-condition names a different cause than its condition's default, the pair decides;
where it does not (or is not documented), the condition's default stands. Written from the twelfth corpus pass's
development lines; every message here is written for the test, not copied from the corpus."""

from __future__ import annotations

import pytest

from autoheal.domain.catalog import load_catalog
from autoheal.domain.classifier import RuleClassifier

CLASSIFIER = RuleClassifier(load_catalog())


_SCHEMA = [
    "[FAILED_READ_FILE.PARQUET_COLUMN_DATA_TYPE_MISMATCH] Error while reading file "
    "abfss://bronze@lake01.dfs.core.windows.net/invoices/part-00042.parquet. Data type mismatches when reading "
    "Parquet column unit_price. Expected Spark type decimal(10,2), actual Parquet type FLOAT. SQLSTATE: KD001",
    "[FAILED_READ_FILE.FAILED_CONVERT_PARQUET_COLUMN] Error while reading file "
    "dbfs:/mnt/silver/customers/part-00007.parquet. Possible cause: Parquet column cannot be converted. "
    "SQLSTATE: KD001",
    "Job aborted due to stage failure: Task 3 in stage 9.0 failed 4 times: "
    "[CANNOT_READ_FILE.DATA_TYPE_MISMATCH] Cannot read CSV file at path: /Volumes/main/raw/landing/orders.csv. "
    "Column types do not match the read schema. Mismatching columns: order_qty SQLSTATE: KD003",
]
_CONDITION_DEFAULT = [
    # The nearest opposite: the same condition with a sub-condition that names corrupt data keeps the
    # condition's default.
    "[FAILED_READ_FILE.CANNOT_READ_FILE_FOOTER] Error while reading file "
    "abfss://bronze@lake01.dfs.core.windows.net/invoices/part-00042.parquet. Could not read footer. "
    "SQLSTATE: KD001",
    # Files replaced or removed under a cached listing: the text does not say which, and it stays a never
    # class (no heal on the condition's default).
    "[FAILED_READ_FILE.FILE_NOT_EXIST] Error while reading file dbfs:/mnt/silver/customers/part-00007.parquet. "
    "File does not exist. It is possible the underlying files have been updated. SQLSTATE: KD001",
    # A sub-condition no table documents falls back to its condition.
    "[FAILED_READ_FILE.NO_HINT] Error while reading file dbfs:/mnt/silver/customers/part-00007.parquet. "
    "SQLSTATE: KD001",
]


@pytest.mark.parametrize(
    ("message", "expected"),
    [(m, "SchemaMismatch") for m in _SCHEMA] + [(m, "DataQuality") for m in _CONDITION_DEFAULT],
)
def test_a_documented_sub_condition_decides_and_others_keep_the_condition_default(message: str, expected: str) -> None:
    result = CLASSIFIER.classify_text(message, service="databricks")
    assert result.error_type == expected
    assert not result.remediable


def test_an_unbracketed_dotted_name_is_not_read_as_a_sub_condition() -> None:
    # A file or package name with a dot and capitals is no error condition.
    message = "Error while reading file dbfs:/tmp/FAILED_READ_FILE.PARQUET_COLUMN_DATA_TYPE_MISMATCH.txt: corrupt file"
    assert CLASSIFIER.classify_text(message, service="databricks").error_type != "SchemaMismatch"
