"""Never-class causes inside transient-looking wrappers (a delegated subnet under an allocation failure, a
bad request inside a 5xx body, a memory limit, a calendar quota), written from the eleventh corpus pass's
development false heals, each tested with messages written here (not corpus lines), beside the transient
wording next to it that must still heal."""

from __future__ import annotations

import pytest

from autoheal.domain.catalog import load_catalog
from autoheal.domain.classifier import RuleClassifier

CLASSIFIER = RuleClassifier(load_catalog())


@pytest.mark.parametrize(
    ("service", "message", "code", "sign"),
    [
        # A subnet delegated to another service: nodes cannot be placed in it, whatever the allocation
        # wording or the documented transient allocation code around it.
        (
            "adf",
            "AllocationFailed: could not allocate 4 nodes because the subnet 'snet-batch' is delegated to "
            "Microsoft.Web/serverFarms; retry later.",
            "AllocationFailed",
            "network-configuration",
        ),
        (
            "databricks",
            "Cluster launch failed: subnet private-subnet has delegation to Microsoft.Sql/managedInstances, "
            "cannot create NIC. Please retry.",
            None,
            "network-configuration",
        ),
        # A 4xx code named inside the body of a 5xx or allocation wrapper: the request itself was refused.
        (
            "adf",
            'Service unavailable (503). Response body: {"code": "BadRequest", "message": "generation 2 image '
            'on size A1"}',
            None,
            "configuration",
        ),
        (
            "adf",
            "InternalServerError: the operation failed. Details: code=InvalidParameter, target=diskSizeGB",
            None,
            "InvalidParameter",  # Resource Manager's code for a value the resource rejects
        ),
        # A container killed for going over its memory limit, or a message naming the Spark setting to raise.
        (
            "databricks",
            "Lost executor 3: container killed for exceeding physical memory limits (9.1 GB of 9 GB used)",
            None,
            "configuration",
        ),
        (
            "databricks",
            "Stage failed after 4 attempts; consider increasing spark.executor.memory",
            None,
            "configuration",
        ),
        # A quota that resets only with the calendar.
        (
            "adf",
            "The API has reached its daily request quota; calls are blocked until the next day.",
            None,
            "quota-never-fits",
        ),
        ("adf", "Monthly usage limit of the connector reached. Try again later.", None, "quota-never-fits"),
    ],
)
def test_a_never_cause_under_allocation_5xx_or_executor_loss_wording_vetoes(
    service: str, message: str, code: str | None, sign: str
) -> None:
    result = CLASSIFIER.classify_text(message, service=service, error_code=code)
    assert not result.remediable and result.rule == f"veto:{sign}", result


@pytest.mark.parametrize(
    ("service", "message", "kind"),
    [
        (
            "adf",
            "The API has reached its daily request quota; calls are blocked until the next day.",
            "ThrottlingError",
        ),
        (
            "databricks",
            "The workspace has reached its daily limit of job runs; new runs are rejected.",
            "DatabricksResourceExhausted",
        ),
    ],
)
def test_a_quota_that_never_fits_keeps_the_quota_class_of_its_service(service: str, message: str, kind: str) -> None:
    """The corpus label rules file a quota as ThrottlingError on ADF and DatabricksResourceExhausted in
    Databricks; the veto takes remediable away, not the class."""
    result = CLASSIFIER.classify_text(message, service=service)
    assert (result.error_type, result.remediable) == (kind, False), result


@pytest.mark.parametrize(
    ("service", "message", "code"),
    [
        # Capacity the region lacks for now frees up (the allocation code's documented meaning).
        (
            "adf",
            "Desired number of dedicated nodes could not be allocated. Reason - Deployment allocation failed due "
            "to insufficient capacity for the requested VM size in the region.",
            "AllocationFailed",
        ),
        # A busy or rate-limiting answer inside a body is no refused request.
        ("adf", 'The server returned 503: {"code": "ServerBusy", "message": "The server is busy, try again"}', None),
        ("adf", '{"code": "TooManyRequests", "message": "Rate limit is exceeded. Try again in 20 seconds."}', None),
        # Executor loss without a memory limit named.
        (
            "databricks",
            "ExecutorLostFailure (executor 4 exited unrelated to the running tasks) Reason: Container preempted by "
            "scheduler",
            None,
        ),
        ("databricks", "Executor lost: worker decommissioned, container released by the node manager", None),
        # A rate limit per hour frees within the run; only a daily or monthly allowance does not.
        ("adf", "Rate limit exceeded: 1000 requests per hour; retry after 60 seconds", None),
    ],
)
def test_the_transient_neighbours_of_those_causes_still_heal(service: str, message: str, code: str | None) -> None:
    result = CLASSIFIER.classify_text(message, service=service, error_code=code)
    assert result.remediable and result.vetoed_by is None, result
