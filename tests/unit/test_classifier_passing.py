"""Faults that pass by themselves, written from what the services document rather than from corpus lines:
a lock another client holds, a service in maintenance or failing over, a driver restarted mid-run. Every
message here is written for the test."""

from __future__ import annotations

import pytest

from autoheal.domain.catalog import load_catalog
from autoheal.domain.classifier import RuleClassifier

CLASSIFIER = RuleClassifier(load_catalog())


@pytest.mark.parametrize(
    ("service", "message", "kind"),
    [
        ("databricks", "Could not obtain lock on table events within 60 seconds", "DatabricksResourceExhausted"),
        ("adf", "ERROR 40XL1: A lock could not be obtained within the time requested", "ThrottlingError"),
        ("adf", "The service is currently undergoing maintenance. Please try later.", "InternalServerError"),
        ("adf", "The database 'sales' is currently being failed over to a secondary replica.", "InternalServerError"),
        (
            "databricks",
            "Run result unavailable: job failed with error message Driver of the cluster (0601-182128-abcd) was "
            "restarted during the run.",
            "DatabricksDriverNotResponding",
        ),
        # A wait that ran out on something still coming up (written from the nineteenth corpus pass).
        ("databricks", "0611-094512-abc123de is PENDING, but has to be RUNNING", "DatabricksClusterStartFailure"),
        (
            "databricks",
            'database instance "sales-db" is not ready for accepting connections (state: STARTING)',
            "DatabricksClusterStartFailure",
        ),
        ("databricks", "model serving endpoint churn-scorer is still provisioning", "DatabricksTimeoutError"),
        # Limits on what runs at once free as runs end; S3's SlowDown is a request rate (the twenty-first pass).
        ("databricks", "Max concurrent job runs per job exceeded", "DatabricksResourceExhausted"),
        ("adf", "Max concurrent compute (DPU usage) exceeded", "ThrottlingError"),
        ("adf", "com.amazonaws.services.s3.model.AmazonS3Exception: Slow Down (Status Code: 503)", "ThrottlingError"),
        # No answer, a connection lost to something named, a server under load, a limit on what runs at once
        # written with its number: the misses in wording no corpus line holds.
        ("adf", "Failed to get a response from the REST endpoint; the request was abandoned.", "GatewayTimeout"),
        ("databricks", "Connection to the SQL warehouse was lost.", "HttpConnectionFailed"),
        ("adf", "The request could not be processed because the server is under heavy load.", "ThrottlingError"),
        (
            "databricks",
            "The workspace has reached its limit of 1000 concurrently running tasks.",
            "DatabricksResourceExhausted",
        ),
    ],
)
def test_a_fault_that_passes_heals(service: str, message: str, kind: str) -> None:
    result = CLASSIFIER.classify_text(message, service=service)
    assert result.remediable and result.error_type == kind, result


@pytest.mark.parametrize(
    "message",
    [
        "Could not acquire lock: permission denied on /dbfs/locks/events",
        "The service is undergoing maintenance; the linked service's password has expired.",
        "Failover in progress, but login failed for user 'etl'.",
        # A run or job still going is no resource being made: a rerun would run it twice.
        "Timed out waiting: job run 7781 is still in progress",
        "Connection to the storage account was lost: the account's key is not valid.",
    ],
)
def test_a_never_cause_beside_it_still_vetoes(message: str) -> None:
    result = CLASSIFIER.classify_text(message, service="adf")
    assert not result.remediable and result.vetoed_by is not None, result


def test_a_commit_that_lost_to_many_concurrent_commits_heals() -> None:
    # Delta's DELTA_MAX_COMMIT_RETRIES_EXCEEDED (state 40000, transaction rollback): contention that passes.
    result = CLASSIFIER.classify_text(
        "[DELTA_MAX_COMMIT_RETRIES_EXCEEDED] This commit has failed as it has been tried 10 times but did not "
        "succeed. This can be caused by the Delta table being committed continuously by many concurrent commits.",
        service="databricks",
    )
    assert result.remediable and result.error_type == "DatabricksResourceExhausted", result
