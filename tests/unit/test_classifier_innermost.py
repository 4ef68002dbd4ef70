"""The innermost cause decides (issue 11), for causes no rule names: every documented error a retry
cannot fix, from the catalogues the other classifier tests read (tests/data/catalogues/, tests/data/spark/),
placed beneath transient words in the forms the runtimes chain causes in (autoheal/domain/causes.py).
Before that module, every one of these the rules did not know healed on its wrapper's words (5,028 of
9,805 wrapped messages): the shape of false heal issue 11 describes first. And a documented transient
error that heals on its own words still heals inside the same wrappers."""

from __future__ import annotations

import pytest

from autoheal.domain.catalog import load_catalog
from autoheal.domain.causes import innermost
from autoheal.domain.classifier import RuleClassifier
from tests.unit.catalogues import rows
from tests.unit.test_classifier_spark_conditions import NEVER_STATES, OWN_WORDS_SAY_RETRY, RENDERED
from tests.unit.test_classifier_storage_catalogues import PASSING_4XX

CATALOG = load_catalog()
CLASSIFIER = RuleClassifier(CATALOG)
TRANSIENT_CLASSES = set(CATALOG.types)

# Transient words outside, the cause last: the JVM's "Caused by:", .NET's inner-exception arrow, ADF's
# Message= chain, the Web activity's "More details:", an activity's "Inner error:".
CHAINS = {
    "jvm": (
        "databricks",
        "org.apache.spark.SparkException: Job aborted due to stage failure: Task 3 in stage 7.0 failed 4 times, "
        "most recent failure: java.net.SocketTimeoutException: Read timed out\nCaused by: {m}",
    ),
    "dotnet": ("adf", "System.Net.Http.HttpRequestException: The operation has timed out. ---> {m}"),
    "adf-fields": (
        "adf",
        "Failure happened on 'Sink' side. 'Type=Microsoft.DataTransfer.Common.Shared.HybridDeliveryException,"
        "Message=A transport-level error has occurred.,Source=Microsoft.DataTransfer.ClientLibrary,"
        "''Type=System.Data.SqlClient.SqlException,Message={m},Source=.Net SqlClient Data Provider,'",
    ),
    "web-activity": ("adf", "Response status code: 'ServiceUnavailable'. More details: '{m}'"),
    "inner-error": ("adf", "Operation on target CopyOrders failed: The operation has timed out. Inner error: {m}"),
}


def _never() -> list[tuple[str, str]]:
    out = [
        (f"spark/{name}", message)
        for name, state, message in RENDERED
        if state[:2] in NEVER_STATES and name not in OWN_WORDS_SAY_RETRY
    ]
    for row in rows("azure_sql_errors.jsonl", "kafka_errors.jsonl", "odbc_sqlstates.jsonl", "postgres_errcodes.jsonl"):
        if row["expected"] == "never":
            out.append((f"{row['catalogue']}/{row['code']}", str(row["message"])))
    for row in rows("azure_storage_errors.jsonl", "s3_errors.jsonl"):
        if 400 <= int(row["http_status"]) < 500 and (row["service"], row["code"]) not in PASSING_4XX:
            out.append((f"{row['service']}/{row['code']}", str(row["message"])))
    return out


NEVER = _never()


def _unnamed(message: str) -> bool:
    """A cause no rule names a class for: not one whose own words already name a transient class, weakly
    (their catalogue tests judge those alone), and not a bare placeholder ("`v1`"), or a chain of its own
    that ends in one ("... Reason: `v1`"), which leaves the wrapper's words as all there is."""
    if innermost(message) is not None or len(message.split()) < 2:
        return False
    return all(
        CLASSIFIER.classify_text(message, service=service).error_type not in TRANSIENT_CLASSES
        for service in ("adf", "databricks")
    )


UNNAMED = [(name, message) for name, message in NEVER if _unnamed(message)]


def test_the_catalogues_give_thousands_of_causes() -> None:
    assert len(NEVER) > 1900
    assert len(UNNAMED) > 1900


@pytest.mark.parametrize("form", sorted(CHAINS))
def test_a_cause_a_retry_cannot_fix_beneath_a_chain_does_not_heal(form: str) -> None:
    service, wrapper = CHAINS[form]
    healed = [
        f"{name}: {result.rule} | {message[:100]}"
        for name, message in UNNAMED
        if (result := CLASSIFIER.classify_text(wrapper.format(m=message), service=service)).remediable
    ]
    assert not healed, "\n".join(healed)


def _transient() -> list[tuple[str, str]]:
    out = [
        (f"{row['catalogue']}/{row['code']}", str(row["message"]))
        for row in rows(
            "azure_sql_errors.jsonl", "kafka_errors.jsonl", "odbc_sqlstates.jsonl", "postgres_errcodes.jsonl"
        )
        if row["expected"] == "transient"
    ]
    out += [
        (f"{row['service']}/{row['code']}", str(row["message"]))
        for row in rows("azure_storage_errors.jsonl", "s3_errors.jsonl")
        if int(row["http_status"]) >= 500
    ]
    return out


TRANSIENT = _transient()


@pytest.mark.parametrize("form", sorted(CHAINS))
def test_a_transient_cause_that_heals_alone_heals_inside_the_wrappers(form: str) -> None:
    service, wrapper = CHAINS[form]
    alone = [
        (name, message) for name, message in TRANSIENT if CLASSIFIER.classify_text(message, service=service).remediable
    ]
    assert len(alone) > 50
    missed = [
        f"{name}: {result.rule} {result.evidence} | {message[:100]}"
        for name, message in alone
        if not (result := CLASSIFIER.classify_text(wrapper.format(m=message), service=service)).remediable
    ]
    assert not missed, "\n".join(missed)


def test_the_abstention_names_the_cause() -> None:
    result = CLASSIFIER.classify_text(
        "Operation on target CopyOrders failed: The operation has timed out. Inner error: The publisher has "
        "retired version 2 of this feed.",
        service="adf",
    )
    assert (result.remediable, result.abstained, result.error_type) == (False, True, "GatewayTimeout")
    assert any("innermost cause names no transient class: 'The publisher" in e for e in result.evidence)


@pytest.mark.parametrize(
    ("message", "cause"),
    [
        (
            "java.io.IOException: Read timed out\nCaused by: java.lang.IllegalStateException: bad state x",
            "java.lang.IllegalStateException: bad state x",
        ),
        (
            "HttpRequestException: Timed out ---> SocketException: Connection reset by peer",
            "SocketException: Connection reset by peer",
        ),
        ("'Type=A,Message=outer words,Source=X,''Type=B,Message=inner words,Source=Y,'", "inner words,Source=Y"),
        ("Response status code: 'BadGateway'. More details: 'Exception: boom happened'", "Exception: boom happened"),
        # Not a marker: where to read more.
        ("The request timed out. For more details: see the run output", None),
        # A chain that ends in a bare value leaves nothing to judge.
        ("An error occurred in the user provided function. Reason: `v1`", None),
        ("Timed out", None),
    ],
)
def test_innermost_reads_the_last_cause_of_a_chain(message: str, cause: str | None) -> None:
    assert innermost(message) == cause
