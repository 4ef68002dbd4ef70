"""Transient words next to an instruction to change something first: conflicting evidence, so the
classifier abstains and a person decides (autoheal/domain/instructions.py). Advice about time or load,
advice for when the failure persists, and where to read more do not count. Written from the first looks
of the corpus passes' development lines (tests/data/corpus/README.md, "Instructions"); every message
here is written for the test, not copied from the corpus."""

from __future__ import annotations

import pytest

from autoheal.domain.catalog import load_catalog
from autoheal.domain.classifier import ACT_AT, RuleClassifier
from autoheal.domain.instructions import instruction

CLASSIFIER = RuleClassifier(load_catalog())

# Each heals on transient words alone; each is told to change something first.
_TOLD = [
    ("adf", "The request to the REST source timed out. Please make sure the linked service points at the new host."),
    ("databricks", "Internal error while committing the batch. Consider enabling the staged commit option."),
    ("adf", "The remote server returned 503 Service Unavailable: Disable the proxy on the integration runtime."),
    ("databricks", "Connection reset by peer while writing to the sink. You must grant the writer the new role."),
    ("adf", "Gateway timeout from the source API. To fix this, change the page size in the copy source."),
    ("databricks", "The operation timed out; ensure that the table location is on the warehouse's storage."),
    # A step before the retry, whatever its verb (Spark's error conditions end so: "... and then retry").
    ("databricks", "Internal error in the pipe operator. Please split the clauses into two operators and then retry."),
    ("databricks", "Service unavailable: please restart your session with the connector package loaded, then retry."),
    ("databricks", 'Internal error. Please unset it by running `spark.conf.unset("x.y")` and then retry.'),
    # A retry in another form (Delta's "please try again using `ALTER TABLE ... DROP FEATURE`").
    (
        "databricks",
        "The commit timed out. To downgrade the table, please try again using ALTER TABLE t DROP FEATURE f.",
    ),
]
# The same transient words with advice that fits a transient failure: they still heal.
_STILL_HEAL = [
    ("adf", "The request to the REST source timed out. Please retry later."),
    (
        "databricks",
        "Internal error while committing the batch. If the problem persists, verify that the cluster "
        "has enough workers.",
    ),
    ("adf", "The service is too busy right now (429). Consider spreading the runs over a larger time frame."),
    ("adf", "The remote server returned 503 Service Unavailable. Check the activity's logs for more details."),
    ("databricks", "Rate limit reached on the workspace API (429): reduce the request rate or wait a minute."),
    # Waiting, looking or a plain restart before the retry changes nothing.
    ("adf", "The server is busy. Please wait a few minutes and then retry the request."),
    ("adf", "The connection to the source timed out. Please check the network connectivity and then retry."),
    ("databricks", "The driver is temporarily unavailable. Restart the cluster and then retry the command."),
    ("adf", "The request was throttled (429). Retry with exponential backoff."),
]


@pytest.mark.parametrize(("service", "message"), _TOLD)
def test_an_instruction_to_change_first_makes_the_transient_words_abstain(service: str, message: str) -> None:
    result = CLASSIFIER.classify_text(message, service=service)
    assert not result.remediable, result
    assert result.abstained and result.confidence < ACT_AT
    assert any(e.startswith("told to change first: '") for e in result.evidence), result.evidence


@pytest.mark.parametrize(("service", "message"), _STILL_HEAL)
def test_advice_about_time_load_persistence_or_logs_is_no_instruction(service: str, message: str) -> None:
    result = CLASSIFIER.classify_text(message, service=service)
    assert result.remediable, result
    assert not any(e.startswith("told to change first") for e in result.evidence)


def test_the_instruction_is_named_in_its_own_words() -> None:
    said = instruction("query timed out. please make sure only one job writes to the checkpoint, then rerun.")
    assert said == "make sure only one job writes to the checkpoint"


@pytest.mark.parametrize(
    "message",
    [
        # A verb inside a value or a name is no instruction: the JSON target "Update Active Agents".
        '{"message": "jobs is not fully initialized yet. please retry later.", "target": "update active agents"}',
        # Nor one in the middle of a sentence that states what happened.
        "the service failed to update the cluster because of a transient fault.",
    ],
)
def test_a_verb_that_is_not_an_imperative_is_no_instruction(message: str) -> None:
    assert instruction(message) is None


def test_a_decisive_code_is_not_second_guessed_by_advice() -> None:
    # A termination code that names its own transient cause decides, whatever advice follows it.
    result = CLASSIFIER.classify_text(
        "CLOUD_PROVIDER_LAUNCH_FAILURE: AllocationFailed. Please make sure the region has capacity.",
        service="databricks",
    )
    assert result.confidence >= 0.95 and result.remediable, result


# The other side of the same knowledge: the service telling the caller to send the same thing again,
# unchanged, is the service saying the failure is transient.
@pytest.mark.parametrize(
    "message",
    [
        "The request could not be processed at this time. Retry the request after 30 seconds.",
        "Your transaction was rolled back by the engine to resolve a lock conflict. Rerun the transaction.",
        "The operation was cancelled by the server while it rebalanced. Resubmit the query.",
    ],
)
def test_an_instruction_to_send_the_same_again_heals(message: str) -> None:
    result = CLASSIFIER.classify_text(message, service="adf")
    assert result.remediable, result


def test_an_instruction_to_send_it_again_after_changing_something_does_not() -> None:
    result = CLASSIFIER.classify_text(
        "Column 'region_code' could not be bound. Please verify that the column exists, then rerun the statement.",
        service="adf",
    )
    assert not result.remediable, result


def test_a_quoted_query_is_no_order_to_select() -> None:
    """SQLAlchemy's "[SQL: SELECT ...]" after a driver's transient error: a query, not an instruction."""
    from autoheal.domain.instructions import instruction

    assert instruction("[08s01] tcp provider: error code 0x68 (104)\n[sql: select top 10 * from dbo.events]") is None
    assert instruction("please select a different region and retry.") == "select a different region and retry."
