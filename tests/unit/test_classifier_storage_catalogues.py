"""Every error Azure Storage and Amazon S3 document, with its HTTP status, against the classifier
(tests/data/catalogues/README.md: 327 rows no rule was written from). A request the service refused
(4xx) does not heal, unless the service's own words for it say it passes; one the service failed to
serve (5xx) heals, on its message alone and in the form an activity error writes it, unless the status
itself says the service cannot do it (501 Not Implemented, 505)."""

from __future__ import annotations

import pytest

from autoheal.domain.catalog import load_catalog
from autoheal.domain.classifier import RuleClassifier
from tests.unit.catalogues import rows

CLASSIFIER = RuleClassifier(load_catalog())

# 4xx codes whose documentation says the condition passes: a rate, an operation still in progress, a
# socket the client let time out (botocore retries S3's RequestTimeout), an account still being created,
# and a blob that may not have arrived yet (the catalog's UserErrorSourceBlobNotExists, healed by waiting).
PASSING_4XX = {
    ("common", "AccountBeingCreated"),
    ("blob", "SnaphotOperationRateExceeded"),
    ("blob", "BlobNotFound"),
    ("s3", "OperationAborted"),
    ("file", "ShareSnapshotInProgress"),  # "Another Share Snapshot operation is in progress": it ends
    ("s3", "RequestTimeout"),
}
CANNOT_SERVE = {501, 505}


ROWS = rows("azure_storage_errors.jsonl", "s3_errors.jsonl")


def _forms(row: dict[str, object]) -> list[str]:
    message = str(row["message"])
    return [message, f"Status code {row['http_status']}, ErrorCode: {row['code']}, Message: {message}"]


def _service(row: dict[str, object]) -> str:
    return "databricks" if row["service"] == "s3" else "adf"


def test_the_catalogues_are_whole() -> None:
    assert len(ROWS) == 327
    assert {str(row["service"]) for row in ROWS} == {"common", "blob", "queue", "table", "file", "datalake", "s3"}


def test_a_refused_request_does_not_heal() -> None:
    healed = [
        f"{row['service']}/{row['code']} ({row['http_status']}): {result.rule} | {text}"
        for row in ROWS
        if 400 <= int(str(row["http_status"])) < 500 and (row["service"], row["code"]) not in PASSING_4XX
        for text in _forms(row)
        if (result := CLASSIFIER.classify_text(text, service=_service(row))).remediable
    ]
    assert not healed, "\n".join(healed)


@pytest.mark.parametrize("form", [0, 1], ids=["message", "activity-error"])
def test_a_request_the_service_failed_to_serve_heals(form: int) -> None:
    missed = [
        f"{row['service']}/{row['code']} ({row['http_status']}): {result.rule} | {text}"
        for row in ROWS
        if int(str(row["http_status"])) >= 500 and int(str(row["http_status"])) not in CANNOT_SERVE
        for text in _forms(row)[form : form + 1]
        if not (result := CLASSIFIER.classify_text(text, service=_service(row))).remediable
    ]
    assert not missed, "\n".join(missed)


def test_the_passing_4xx_heal_and_the_cannot_serve_5xx_do_not() -> None:
    for row in ROWS:
        key, status = (row["service"], row["code"]), int(str(row["http_status"]))
        if key in PASSING_4XX:
            assert CLASSIFIER.classify_text(_forms(row)[1], service=_service(row)).remediable, row
        if status in CANNOT_SERVE:
            assert not CLASSIFIER.classify_text(_forms(row)[1], service=_service(row)).remediable, row
