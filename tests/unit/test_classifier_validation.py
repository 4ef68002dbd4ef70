"""The vocabulary of a request's validation (a value, type, format or feature refused) vetoes the transient
words around it; a list of possible causes does not. Messages written for the test."""

from __future__ import annotations

import pytest

from autoheal.domain.catalog import load_catalog
from autoheal.domain.classifier import RuleClassifier

CLASSIFIER = RuleClassifier(load_catalog())


@pytest.mark.parametrize(
    "message",
    [
        "503 Service Unavailable from the gateway: the client protocol version is incompatible.",
        "The request timed out: the JSON body is malformed at position 118.",
        "Internal server error: the legacy endpoint was disabled by the account owner.",
        "Please try again later. Change data feed was not enabled on the source.",
        "Gateway timeout while calling the endpoint: API version 2019-01-01 is deprecated and no longer supported.",
        "Connection reset: the parameter 'batchSize' must be between 1 and 10000.",
        "Transient failure: the column 'customer_id' cannot be null.",
    ],
)
def test_a_refused_value_or_feature_vetoes_transient_words(message: str) -> None:
    result = CLASSIFIER.classify_text(message, service="adf")
    assert not result.remediable and result.rule == "veto:validation", result


def test_possible_causes_are_no_statement_about_this_failure() -> None:
    message = (
        "SPARK_STARTUP_FAILURE: The Spark driver failed to start within 200 seconds. Possible reasons may "
        "include incompatible libraries and initialization scripts that corrupted the Spark container."
    )
    result = CLASSIFIER.classify_text(message, service="databricks")
    assert result.vetoed_by is None or "validation" not in result.vetoed_by, result
