"""The database engines and brokers whose text ADF connectors and Databricks jobs print: Oracle, MySQL,
PostgreSQL, Kafka. Written from the fifteenth corpus pass's development lines (tests/data/corpus/README.md);
every message here is written for the test, not copied from the corpus."""

from __future__ import annotations

import pytest

from autoheal.domain.catalog import load_catalog
from autoheal.domain.classifier import RuleClassifier

CLASSIFIER = RuleClassifier(load_catalog())


@pytest.mark.parametrize(
    ("service", "message", "kind"),
    [
        # Connections, sessions and processes exist only while in use: their limit frees.
        ("adf", "ERROR 1040 (HY000): Too many connections", "ThrottlingError"),
        ("adf", "FATAL: sorry, too many clients already", "ThrottlingError"),
        (
            "adf",
            "ORA-00018: maximum number of sessions exceeded; reached the maximum number of sessions",
            "ThrottlingError",
        ),
        # A row another writer changed: the statement run again reads the new row.
        ("adf", "Error 1020 (HY000): Record has changed since last read in table 'customers'", "ThrottlingError"),
        # A peer that went away mid-request.
        (
            "databricks",
            "NetworkException: The server disconnected before the response was received.",
            "HttpConnectionFailed",
        ),
        ("adf", "ORA-03113: end-of-file on communication channel Process ID: 4411", "HttpConnectionFailed"),
        ("adf", "ORA-03135: connection lost contact", "HttpConnectionFailed"),
        ("adf", "ORA-01012: not logged on", "HttpConnectionFailed"),
        (
            "databricks",
            "java.io.EOFException: read 0 bytes before the connection was unexpectedly lost.",
            "HttpConnectionFailed",
        ),
        (
            "databricks",
            "CommunicationsException: Communications link failure during rollback().",
            "HttpConnectionFailed",
        ),
        # A broker between leaders, or short of replicas while one restarts.
        (
            "databricks",
            "No leader for partition events-3: we are in the middle of a leadership election.",
            "InternalServerError",
        ),
        ("databricks", "Produce rejected: fewer in-sync replicas than min.insync.replicas (2).", "InternalServerError"),
    ],
)
def test_an_engine_or_broker_that_frees_or_comes_back_heals(service: str, message: str, kind: str) -> None:
    result = CLASSIFIER.classify_text(message, service=service)
    assert result.remediable and result.error_type == kind, result


@pytest.mark.parametrize(
    ("service", "message"),
    [
        # The same words next to a cause a retry meets again.
        ("adf", "ORA-01017: invalid username/password; logon denied. Connection was unexpectedly closed."),
        (
            "adf",
            "Too many connections: the user 'etl' has exceeded the 'max_user_connections' setting; "
            "grant a higher limit.",
        ),
        (
            "databricks",
            "TopicAuthorizationException: Not authorized to access topics: [orders] (fewer in-sync replicas)",
        ),
    ],
)
def test_the_same_words_beside_a_never_cause_do_not_heal(service: str, message: str) -> None:
    result = CLASSIFIER.classify_text(message, service=service)
    assert not result.remediable, result


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        # A transaction that lost to another, in each engine's words: run again, it commits.
        ("ERROR: could not serialize access due to read/write dependencies among transactions", "ThrottlingError"),
        ("ERROR: deadlock detected. Process 812 waits for ShareLock on transaction 5521", "ThrottlingError"),
        ("ERROR 1213 (40001): Deadlock found when trying to get lock; try restarting transaction", "ThrottlingError"),
        ("ORA-00054: resource busy and acquire with NOWAIT specified or timeout expired", "ThrottlingError"),
        # A database starting, stopping or failing over: it answers again once it is up.
        ("FATAL: terminating connection due to administrator command", "InternalServerError"),
        ("FATAL: the database system is starting up", "InternalServerError"),
        ("ORA-01033: ORACLE initialization or shutdown in progress", "InternalServerError"),
        (
            "ORA-12519: TNS:no appropriate service handler found; listener could not find available handler",
            "InternalServerError",
        ),
        # The server went away mid-query.
        (
            "server closed the connection unexpectedly. This probably means the server terminated abnormally",
            "HttpConnectionFailed",
        ),
        ("ERROR 2013 (HY000): Lost connection to MySQL server during query", "HttpConnectionFailed"),
        ("(2006, 'MySQL server has gone away')", "HttpConnectionFailed"),
        ("psycopg2.OperationalError: SSL SYSCALL error: EOF detected", "HttpConnectionFailed"),
    ],
)
def test_a_database_that_frees_or_comes_back_heals(message: str, kind: str) -> None:
    result = CLASSIFIER.classify_text(message, service="adf")
    assert result.remediable and result.error_type == kind, result


def test_a_client_the_servers_host_rules_refuse_is_a_permission() -> None:
    result = CLASSIFIER.classify_text(
        'FATAL: no pg_hba.conf entry for host "10.1.2.3", user "etl", database "sales", SSL off', service="adf"
    )
    assert not result.remediable and result.error_type == "PermissionDenied", result
