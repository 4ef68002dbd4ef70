"""Apache Kafka's client exceptions (autoheal/domain/knowledge/exceptions.toml, read from each class's own file in
apache/kafka): a class that extends RetriableException and whose javadoc names a passing cause heals on its own, with
its class, unless a never-class sign stands next to it; a class that is not retriable and names a permission or a
setting vetoes the transient words around it, and names itself. Messages are written here in the form a Structured
Streaming job prints them, not taken from the corpus."""

from __future__ import annotations

import pytest

from autoheal.domain.catalog import load_catalog
from autoheal.domain.classifier import DECISIVE_CODE, RuleClassifier
from autoheal.domain.knowledge import Table, table
from tests.unit.test_classifier_exceptions import assert_vetoed_by

CLASSIFIER = RuleClassifier(load_catalog())
_KAFKA = "https://github.com/apache/kafka/blob/"
_ERRORS = "/clients/src/main/java/org/apache/kafka/common/errors/"
_CONFIG = "/clients/src/main/java/org/apache/kafka/common/config/"  # ConfigException, the client's own settings


@pytest.mark.parametrize(
    ("service", "message", "exception", "kind"),
    [
        (
            "databricks",
            "StreamingQueryException: Query orders_sink terminated with exception: Job aborted due to stage failure: "
            "Task 3 in stage 12.0 failed 4 times. Caused by: org.apache.kafka.common.errors."
            "NotLeaderOrFollowerException: For requests intended only for the leader, this error indicates that the "
            "broker is not the current leader.",
            "NotLeaderOrFollowerException",
            "InternalServerError",
        ),
        (
            "databricks",
            "Caused by: org.apache.kafka.common.errors.NotEnoughReplicasException: Messages are rejected since there "
            "are fewer in-sync replicas than required for partition events-4.",
            "NotEnoughReplicasException",
            "InternalServerError",
        ),
        (
            "databricks",
            "org.apache.kafka.common.errors.CoordinatorLoadInProgressException: The coordinator is loading the group "
            "metadata for consumer group spark-kafka-source-7f3c.",
            "CoordinatorLoadInProgressException",
            "InternalServerError",
        ),
        (
            "databricks",
            "java.util.concurrent.ExecutionException: org.apache.kafka.common.errors.NetworkException: The server "
            "closed the socket before the produce request to broker 2 completed.",
            "NetworkException",
            "HttpConnectionFailed",
        ),
        (
            "databricks",
            "Stream ingest_events failed: org.apache.kafka.common.errors.LeaderNotAvailableException: "
            "There is no leader for partition clicks-0 at the moment.",
            "LeaderNotAvailableException",
            "InternalServerError",
        ),
        (
            "databricks",
            "StreamingQueryException: Query offsets_reader terminated with exception: org.apache.kafka.common.errors."
            "UnstableOffsetCommitException: There are unstable offsets for the requested topic partitions.",
            "UnstableOffsetCommitException",
            "InternalServerError",
        ),
    ],
)
def test_a_retriable_kafka_exception_heals_with_its_class(
    service: str, message: str, exception: str, kind: str
) -> None:
    result = CLASSIFIER.classify_text(message, service=service)
    assert result.remediable and result.vetoed_by is None, result
    assert result.rule == f"code:{exception}" and result.confidence == DECISIVE_CODE, result
    entry = table(Table.EXCEPTION)[exception]
    assert result.error_type == kind and entry.evidence in result.evidence, result


def test_a_kafka_throttling_quota_heals_as_databricks_resource_exhaustion() -> None:
    """The generic throttling class is read as Databricks' own on Databricks, as for every other code."""
    message = (
        "org.apache.kafka.common.errors.ThrottlingQuotaExceededException: The create-partitions request on "
        "topic audit exceeded the quota of the principal."
    )
    result = CLASSIFIER.classify_text(message, service="databricks")
    assert result.remediable and result.rule == "code:ThrottlingQuotaExceededException", result
    assert result.error_type == "DatabricksResourceExhausted", result


@pytest.mark.parametrize(
    ("message", "exception", "sign"),
    [
        (
            "org.apache.kafka.common.errors.NotLeaderOrFollowerException: the broker is not the current leader; "
            "the service principal etl-writer is not authorized to describe the topic events.",
            "NotLeaderOrFollowerException",
            "permission",
        ),
        (
            "Caused by: org.apache.kafka.common.errors.DisconnectException: broker 1 closed the connection; "
            "SASL authentication failed for user app-reader with mechanism PLAIN.",
            "DisconnectException",
            "credentials",
        ),
    ],
)
def test_a_retriable_kafka_exception_next_to_a_never_sign_does_not_heal(
    message: str, exception: str, sign: str
) -> None:
    result = CLASSIFIER.classify_text(message, service="databricks")
    assert not result.remediable and result.rule == f"veto:{sign}", result
    # The transient class was found, and the words vetoed it all the same.
    assert result.error_type == "PermissionDenied" and any(exception in e for e in result.evidence), result
    assert table(Table.EXCEPTION)[exception].decisive


@pytest.mark.parametrize(
    ("service", "message", "exception", "kind"),
    [
        (
            "databricks",
            "Query failed after 3 attempts; the request timed out, retrying. Caused by: org.apache.kafka.common.errors."
            "TopicAuthorizationException: Not authorized to access topics: [payments]",
            "TopicAuthorizationException",
            "PermissionDenied",
        ),
        (
            "databricks",
            "Connection to node -1 (broker-0:9093) timed out; retrying. org.apache.kafka.common.errors."
            "GroupAuthorizationException: Not authorized to access group: spark-kafka-source-91ab",
            "GroupAuthorizationException",
            "PermissionDenied",
        ),
        (
            "databricks",
            "Task failed while writing rows; the request timed out, please retry. Caused by: org.apache.kafka.common."
            "errors.RecordTooLargeException: The message is 2097152 bytes when serialized which is larger than "
            "1048576, the value of the max.request.size configuration.",
            "RecordTooLargeException",
            "InvalidConfiguration",
        ),
        (
            "databricks",
            "Service temporarily unavailable, retrying. Caused by: org.apache.kafka.common.errors."
            "UnsupportedVersionException: The broker does not support INIT_PRODUCER_ID",
            "UnsupportedVersionException",
            "InvalidConfiguration",
        ),
        (
            "databricks",
            "Connection reset by peer; retrying. org.apache.kafka.common.errors.OffsetOutOfRangeException: Fetch "
            "position FetchPosition{offset=1200} is out of range for partition orders-2",
            "OffsetOutOfRangeException",
            "DataQuality",
        ),
    ],
)
def test_a_non_retriable_kafka_exception_vetoes_the_transient_words_around_it(
    service: str, message: str, exception: str, kind: str
) -> None:
    assert_vetoed_by(CLASSIFIER.classify_text(message, service=service), exception, kind)


def test_kafka_entries_cite_their_own_class_file() -> None:
    """Each Kafka entry cites its own class's file at a commit, never the protocol's error table or a client class
    that the corpus uses as a document; a retriable (remediable) one is decisive by the header's rule."""
    kafka = {code: entry for code, entry in table(Table.EXCEPTION).items() if entry.source.startswith(_KAFKA)}
    assert len(kafka) >= 30
    for code, entry in kafka.items():
        commit, _, path = entry.source.removeprefix(_KAFKA).partition("/")
        assert len(commit) == 40 and f"/{path}".startswith((_ERRORS, _CONFIG)), entry.source
        assert path.endswith(f"/{code}.java"), entry.source
        assert entry.decisive or not entry.remediable, code


@pytest.mark.parametrize(
    "message",
    [
        "org.apache.kafka.common.errors.TimeoutException: Topic audit-events not present in metadata after 60000 ms.",
        "KafkaException: org.apache.kafka.common.errors.TimeoutException: Partition 6 of topic orders with partition "
        "count 6 is not present in metadata after 60000 ms.",
    ],
)
def test_a_topic_missing_from_the_metadata_is_not_waited_for(message: str) -> None:
    """KafkaProducer.waitOnMetadata's TimeoutException: the topic or partition was not in the cluster's metadata for the
    whole of max.block.ms, which a topic that exists on a cluster the client reaches is within milliseconds."""
    result = CLASSIFIER.classify_text(message, service="databricks")
    assert not result.remediable and result.rule == "veto:missing-object", result
    assert result.error_type == "InvalidConfiguration", result
