"""The database and broker error catalogues whose sources say which errors are transient (tests/data/
catalogues/README.md): Kafka's protocol errors (its Retriable column), ODBC's SQLSTATEs and PostgreSQL's
error codes (their classes). 507 rows no rule was written from. No error the source calls permanent heals;
the transient ones heal, except those named below, which are left to a person, each with its reason."""

from __future__ import annotations

import pytest

from autoheal.domain.catalog import load_catalog
from autoheal.domain.classifier import RuleClassifier
from tests.unit.catalogues import rows

CLASSIFIER = RuleClassifier(load_catalog())
FORMS = {
    "kafka": ("databricks", "org.apache.kafka.common.KafkaException: {message}"),
    "odbc": ("adf", "ERROR [{code}] [Microsoft][ODBC Driver 18 for SQL Server] {message}"),
    "postgres": ("adf", "ERROR: {message}"),
}
# Transient by their source, left to a person here:
LEFT_TO_A_PERSON = {
    # Kafka: a topic or topic ID this broker does not host may not exist at all (exceptions.toml leaves
    # UnknownTopicOrPartitionException out for that reason); a corrupt record, a disk error on the broker's log,
    # a listener missing from the leader, and the client's own fetch and share sessions, which the client
    # re-creates before anything surfaces in a job.
    ("kafka", "UNKNOWN_TOPIC_OR_PARTITION"),
    ("kafka", "UNKNOWN_TOPIC_ID"),
    ("kafka", "INCONSISTENT_TOPIC_ID"),
    ("kafka", "CORRUPT_MESSAGE"),
    ("kafka", "KAFKA_STORAGE_ERROR"),
    ("kafka", "LISTENER_NOT_FOUND"),
    ("kafka", "ELECTION_NOT_NEEDED"),
    ("kafka", "UNSTABLE_OFFSET_COMMIT"),
    ("kafka", "FETCH_SESSION_ID_NOT_FOUND"),
    ("kafka", "INVALID_FETCH_SESSION_EPOCH"),
    ("kafka", "FETCH_SESSION_TOPIC_ID_ERROR"),
    ("kafka", "SHARE_SESSION_NOT_FOUND"),
    ("kafka", "INVALID_SHARE_SESSION_EPOCH"),
    # The connection-exception class in its generic words: a connection that could not be made or was refused
    # also fits a wrong host, port or login (the weak connection-failed sign, autoheal/domain/transient.py).
    ("odbc", "08001"),
    ("odbc", "08002"),
    ("odbc", "08003"),
    ("odbc", "08004"),
    ("odbc", "08007"),
    ("odbc", "40003"),
    ("postgres", "08000"),
    ("postgres", "08001"),
    ("postgres", "08003"),
    ("postgres", "08004"),
    ("postgres", "08006"),
    ("postgres", "08007"),
    ("postgres", "08P01"),
    ("postgres", "57P03"),
    # Insufficient resources named only by the class, a full disk and memory: they stay until a person acts.
    ("postgres", "53000"),
    ("postgres", "53100"),
    ("postgres", "53200"),
}


ROWS = rows("kafka_errors.jsonl", "odbc_sqlstates.jsonl", "postgres_errcodes.jsonl")


def _classify(row: dict[str, object], form: int) -> bool:
    service, template = FORMS[str(row["catalogue"])]
    text = str(row["message"]) if form == 0 else template.format(code=row["code"], message=row["message"])
    return CLASSIFIER.classify_text(text, service=service).remediable


def test_the_catalogues_are_whole() -> None:
    assert len(ROWS) == 507
    assert {str(row["catalogue"]) for row in ROWS} == set(FORMS)


@pytest.mark.parametrize("form", [0, 1], ids=["message", "as-printed"])
def test_no_permanent_error_heals(form: int) -> None:
    healed = [
        f"{row['catalogue']} {row['code']}: {row['message']}"
        for row in ROWS
        if row["expected"] == "never" and _classify(row, form)
    ]
    assert not healed, "\n".join(healed)


@pytest.mark.parametrize("form", [0, 1], ids=["message", "as-printed"])
def test_the_transient_errors_heal_but_those_left_to_a_person(form: int) -> None:
    missed = [
        f"{row['catalogue']} {row['code']}: {row['message']}"
        for row in ROWS
        if row["expected"] == "transient"
        and (row["catalogue"], row["code"]) not in LEFT_TO_A_PERSON
        and not _classify(row, form)
    ]
    assert not missed, "\n".join(missed)
    left = {(row["catalogue"], row["code"]) for row in ROWS if row["expected"] == "transient"}
    assert not LEFT_TO_A_PERSON - left, LEFT_TO_A_PERSON - left
