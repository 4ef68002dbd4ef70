"""Limits on how many things exist (jobs, tokens, tables, activities in a pipeline) against limits on how
many run at once: the first never frees by waiting, the second does. And a Databricks permission level
named as lacking is a permission, whatever launch wording surrounds it. Messages written for the test."""

from __future__ import annotations

import pytest

from autoheal.domain.catalog import load_catalog
from autoheal.domain.classifier import RuleClassifier

CLASSIFIER = RuleClassifier(load_catalog())


@pytest.mark.parametrize(
    ("service", "message"),
    [
        ("databricks", "QUOTA_EXCEEDED: The maximum number of jobs (12000) has been reached in this workspace."),
        ("databricks", "RESOURCE_LIMIT_EXCEEDED: You have reached the maximum number of personal access tokens (600)."),
        ("adf", "Maximum number of activities per pipeline (80) exceeded."),
        ("databricks", "Limit exceeded: maximum number of secret scopes (100) per workspace has been reached."),
    ],
)
def test_a_limit_on_how_many_things_exist_never_heals(service: str, message: str) -> None:
    result = CLASSIFIER.classify_text(message, service=service)
    assert not result.remediable and result.vetoed_by is not None, result


@pytest.mark.parametrize(
    "message",
    [
        "The maximum number of concurrent runs (1000) has been reached for this workspace. Try again later.",
        "Maximum number of active jobs exceeded: the limit has been reached; retry later.",
    ],
)
def test_a_limit_on_how_many_run_at_once_still_heals(message: str) -> None:
    result = CLASSIFIER.classify_text(message, service="databricks")
    assert result.remediable, result


@pytest.mark.parametrize(
    "message",
    [
        "ERROR: the job's service principal lacks CAN_USE on the cluster policy; the cluster could not be started",
        "Failed to start cluster: user etl@contoso.com does not have CAN_ATTACH_TO on cluster 0412-abc",
        "Run failed: the run-as identity is missing IS_OWNER on the job; temporarily unavailable",
    ],
)
def test_a_databricks_permission_level_lacking_is_a_permission(message: str) -> None:
    result = CLASSIFIER.classify_text(message, service="databricks")
    assert result.error_type == "PermissionDenied" and not result.remediable, result


@pytest.mark.parametrize(
    ("service", "message"),
    [
        ("databricks", "Failed to create cluster because of the subscription's quota."),
        ("adf", "The operation failed: quota exceeded for this Batch account."),
    ],
)
def test_a_quota_and_nothing_more_abstains(service: str, message: str) -> None:
    """A quota of what is in use frees; one of what exists or is granted does not: the bare word cannot tell."""
    result = CLASSIFIER.classify_text(message, service=service)
    assert not result.remediable and result.abstained and result.rule == "sign:quota", result


@pytest.mark.parametrize(
    "message",
    [
        # The numbers show the request fits once other clusters release their cores.
        "Operation could not be completed as it results in exceeding approved standardDSv3Family Cores quota. "
        "Current Limit: 100, Current Usage: 90, Additional Required: 16.",
        # A quota on what is in use at once.
        "QuotaExceededException: SessionsQuotaExceeded for namespace ingest-prod.",
        "The active pod quota of the cloud account is exceeded.",
        "Your Spark job requested 64 vCores. However, the workspace only has 32 vCores available "
        "out of quota of 200 vCores.",
    ],
)
def test_a_quota_that_frees_as_others_finish_heals(message: str) -> None:
    result = CLASSIFIER.classify_text(message, service="databricks")
    assert result.remediable, result


@pytest.mark.parametrize(
    ("service", "message"),
    [
        # A size limit in any tense, behind words of a connection that closed.
        ("adf", "Connection was closed: the request size exceeded the maximum allowed size of 4194304 bytes."),
        ("adf", "The connection was reset because the message size exceeded the limit of 256 KB."),
        ("databricks", "Request timed out: the value exceeded the varchar length of column 'name'."),
        # Spark's TaskSetManager: what one job collects is past a setting (spark.driver.maxResultSize).
        (
            "databricks",
            "Job aborted due to stage failure: Total size of serialized results of 12 tasks (4.1 GiB) is bigger "
            "than spark.driver.maxResultSize (4.0 GiB)",
        ),
    ],
)
def test_a_size_past_its_limit_never_heals(service: str, message: str) -> None:
    result = CLASSIFIER.classify_text(message, service=service)
    assert not result.remediable and result.vetoed_by is not None, result
