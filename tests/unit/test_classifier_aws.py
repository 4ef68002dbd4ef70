"""AWS as a Databricks job on AWS meets it, in botocore's ClientError form ("An error occurred (Code) when
calling the Op operation: message"): the codes AWS's own SDK retries heal, the ones naming a credential,
a permission or a missing object veto. The retried codes are botocore's lists (botocore 1.44.8,
botocore/retries/standard.py: _TRANSIENT_ERROR_CODES and _THROTTLED_ERROR_CODES), each with the message
its service documents for it."""

from __future__ import annotations

import pytest

from autoheal.domain.catalog import load_catalog
from autoheal.domain.classifier import RuleClassifier

CLASSIFIER = RuleClassifier(load_catalog())


def _client_error(code: str, message: str, operation: str = "PutObject") -> str:
    return (
        f"botocore.exceptions.ClientError: An error occurred ({code}) when calling the {operation} operation: {message}"
    )


RETRIED = [
    (
        "RequestTimeout",
        "Your socket connection to the server was not read from or written to within the timeout period.",
    ),
    ("RequestTimeoutException", "Task timed out."),
    ("PriorRequestNotComplete", "The request was rejected because Route 53 was still processing a prior request."),
    ("Throttling", "Rate exceeded"),
    ("ThrottlingException", "Rate exceeded"),
    ("TooManyRequestsException", "Rate Exceeded."),
    ("ProvisionedThroughputExceededException", "Rate exceeded for shard shardId-000000000000 in stream s."),
    ("TransactionInProgressException", "Transaction is in progress."),
    ("RequestLimitExceeded", "Request limit exceeded."),
    ("LimitExceededException", "Rate exceeded."),
    ("SlowDown", "Please reduce your request rate."),
    ("InternalError", "We encountered an internal error. Please try again."),
    ("ServiceUnavailable", "Service Unavailable"),
]


@pytest.mark.parametrize(("code", "message"), RETRIED)
def test_what_aws_retries_heals(code: str, message: str) -> None:
    result = CLASSIFIER.classify_text(_client_error(code, message), service="databricks")
    assert result.remediable, result


@pytest.mark.parametrize(
    ("code", "message", "kind"),
    [
        (
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
            "PermissionDenied",
        ),
        ("InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.", "PermissionDenied"),
        ("ExpiredToken", "The provided token has expired.", "PermissionDenied"),
        ("AccessDenied", "Access Denied", "PermissionDenied"),
        ("NoSuchBucket", "The specified bucket does not exist", "InvalidConfiguration"),
    ],
)
def test_a_credential_permission_or_missing_bucket_vetoes(code: str, message: str, kind: str) -> None:
    result = CLASSIFIER.classify_text(_client_error(code, message), service="databricks")
    assert not result.remediable and result.error_type == kind, result
    assert result.vetoed_by is not None


def test_credentials_that_cannot_be_found_are_credentials() -> None:
    result = CLASSIFIER.classify_text("botocore.exceptions.NoCredentialsError: Unable to locate credentials")
    assert not result.remediable and result.error_type == "PermissionDenied", result
