"""The services underneath ADF and Databricks jobs: Service Bus and Event Hubs clients, Cosmos DB's SDKs and
its MongoDB API. Written from the fourteenth corpus pass's development lines (tests/data/corpus/README.md);
every message here is written for the test, not copied from the corpus."""

from __future__ import annotations

import pytest

from autoheal.domain.catalog import load_catalog
from autoheal.domain.classifier import RuleClassifier

CLASSIFIER = RuleClassifier(load_catalog())


@pytest.mark.parametrize(
    ("service", "message"),
    [
        # A lock another client holds, a transaction that lost to another: contention that frees.
        ("databricks", "SessionLockLostException: the session 'orders-7' is currently locked by another client"),
        (
            "adf",
            "Command failed with error 112 (WriteConflict): the transaction failed due to a conflicting transaction",
        ),
        # An idle connection the service closed: the next call opens a new one.
        (
            "databricks",
            "Error{condition=amqp:connection:forced, description='The connection was inactive for more "
            "than the allowed 60000 milliseconds and is closed by container 'c1'.'}",
        ),
        ("adf", "MongoConnectionException: The network request has failed while reading from the pooled socket."),
        # A request whose end-to-end cancellation token ran out is a timeout, not a credential.
        ("adf", "CosmosOperationCanceledException: The operation was cancelled. Cancellation Token has expired: true"),
        ("adf", "Sub code=40901. Another conflicting operation is currently in progress on the container."),
    ],
)
def test_transient_conditions_of_the_services_underneath_heal(service: str, message: str) -> None:
    result = CLASSIFIER.classify_text(message, service=service)
    assert result.remediable, result


def test_an_expired_access_token_is_still_a_credential() -> None:
    result = CLASSIFIER.classify_text("Request failed: the access token has expired; sign in again.", service="adf")
    assert result.error_type == "PermissionDenied" and not result.remediable, result


def test_a_store_whose_total_size_is_over_its_limit_never_fits() -> None:
    result = CLASSIFIER.classify_text(
        "QuotaExceededException: The total size of entities in the namespace exceeds the limit of 80 GB. "
        "The service is busy.",
        service="databricks",
    )
    assert not result.remediable and result.vetoed_by is not None, result


@pytest.mark.parametrize(
    ("message", "heals"),
    [
        # A retry after doing something else first is a change to the request (HTTP 412).
        ("412 Precondition Failed: the item changed. Retry the request after reading the item again.", False),
        ("412 Precondition Failed: the eTag is stale. Resubmit the update after fetching the latest version.", False),
        # A retry after waiting is no change.
        ("The service is busy. Retry the request after waiting a few seconds.", True),
    ],
)
def test_a_retry_after_doing_something_first_abstains(message: str, heals: bool) -> None:
    result = CLASSIFIER.classify_text(message, service="adf")
    assert result.remediable is heals, result
