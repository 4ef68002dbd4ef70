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
        "Unrecognized option 'socketTimeout' in the connection string",
        "Unknown configuration key spark.network.timeout.ms",
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


@pytest.mark.parametrize(
    "message",
    [
        # A quoted compound name is a setting, a column or an object; its words are no event.
        "The value of 'connectTimeout' could not be read from the linked service.",
        "Failed to load rows into `retry_queue.throttled_events`.",
        'The stored procedure "dbo.usp_LogServerBusy" ended with return value 1.',
    ],
)
def test_a_quoted_name_is_no_transient_word(message: str) -> None:
    result = CLASSIFIER.classify_text(message, service="adf")
    assert not result.remediable, result


@pytest.mark.parametrize(
    "message",
    [
        # The same words outside quotes, a plain quoted word, an upper-case code in quotes: still events.
        "java.net.SocketTimeoutException: connect timed out",
        "The activity failed with reason 'Timeout'.",
        "The HTTP/2 server reset the stream. HTTP/2 error code 'REFUSED_STREAM' (0x7).",
    ],
)
def test_words_that_are_no_name_still_count(message: str) -> None:
    result = CLASSIFIER.classify_text(message, service="adf")
    assert result.remediable, result


@pytest.mark.parametrize(
    "message",
    [
        # A requirement the setup does not meet, beside transient words (messages written for the test).
        "Connection reset while connecting: SSL connection is required, but not provided by the server.",
        "Gateway timeout after install: the ODBC driver is not installed on the integration runtime node.",
        "Please retry. The target table 'sales.orders' is read-only.",
        "Service unavailable: this linked service type can only be used with the Azure integration runtime.",
        "Timeout: ERROR: Cannot install pkg-a==1.0 and pkg-b==2.0 because these package versions have conflicting "
        "dependencies.",
    ],
)
def test_a_requirement_the_setup_does_not_meet_vetoes(message: str) -> None:
    result = CLASSIFIER.classify_text(message, service="adf")
    assert not result.remediable and result.error_type == "InvalidConfiguration", result


@pytest.mark.parametrize(
    "message",
    [
        "The connection timed out because the linked service points to the wrong port.",
        "Connection failed: the password is wrong for user 'etl'.",
        "Request timed out: the access token is from the wrong tenant.",
    ],
)
def test_a_thing_stated_to_be_wrong_vetoes(message: str) -> None:
    result = CLASSIFIER.classify_text(message, service="adf")
    assert not result.remediable and result.vetoed_by is not None, result


def test_something_went_wrong_is_the_services_own_fault() -> None:
    # LivyHttpRequestFailure's "Something went wrong while processing your request. Please try again later."
    result = CLASSIFIER.classify_text(
        "Something went wrong while processing your request. Please try again later.", service="adf"
    )
    assert result.remediable, result
