"""The runtime exception classes added to autoheal/domain/knowledge/exceptions.toml from their API documentation
(Java SE 17, Scala, Python, .NET, Hadoop, the AWS SDK for Java): a class whose documentation names one cause a
retry cannot fix vetoes the transient words wrapped around it, and names itself; a class raised on both sides of
the line (a timeout, a cancellation, a connection) lends its class to transient words but does not act alone.
Messages are written here in the forms the runtimes print, not taken from the corpus."""

from __future__ import annotations

import pytest

from autoheal.domain.catalog import load_catalog
from autoheal.domain.classifier import ACT_AT, CODE, Classification, RuleClassifier
from autoheal.domain.knowledge import Table, table

CLASSIFIER = RuleClassifier(load_catalog())


def assert_vetoed_by(result: Classification, code: str, kind: str) -> None:
    """Not healed, vetoed by ``code`` (named in the rule and the veto), and classed ``kind``."""
    assert not result.remediable, result
    assert result.rule == f"veto:{code}", result
    assert result.vetoed_by is not None and code in result.vetoed_by, result
    assert result.error_type == kind, result


@pytest.mark.parametrize(
    ("service", "message", "exception", "kind"),
    [
        # Java SE 17: the data, the code, the charset, a native library.
        (
            "databricks",
            "Job aborted due to stage failure: the request timed out, please retry. Caused by: "
            "java.time.format.DateTimeParseException: Text '31/02/2024' could not be parsed at index 0",
            "DateTimeParseException",
            "DataQuality",
        ),
        (
            "databricks",
            "Task failed while writing rows; connection reset by peer. Caused by: "
            "java.io.NotSerializableException: com.acme.etl.Client",
            "NotSerializableException",
            "CodeError",
        ),
        (
            "databricks",
            "Stage 4 failed after 3 retries (timeout). Caused by: java.nio.charset.MalformedInputException: "
            "Input length = 1",
            "MalformedInputException",
            "DataQuality",
        ),
        (
            "databricks",
            "The request timed out. Caused by: java.lang.UnsatisfiedLinkError: no snappyjava in java.library.path",
            "UnsatisfiedLinkError",
            "InvalidConfiguration",
        ),
        # Scala and Python.
        (
            "databricks",
            "Service temporarily unavailable, retrying. Caused by: scala.MatchError: Some(42) (of class scala.Some)",
            "MatchError",
            "CodeError",
        ),
        (
            "databricks",
            "The request timed out. UnicodeDecodeError: 'utf-8' codec can't decode byte 0xff in position 0: "
            "invalid start byte",
            "UnicodeDecodeError",
            "DataQuality",
        ),
        (
            "databricks",
            "Py4JJavaError: service unavailable; Traceback: _pickle.PicklingError: Could not serialize object: "
            "TypeError: cannot pickle '_thread.RLock' object",
            "PicklingError",
            "CodeError",
        ),
        # .NET, as ADF's self-hosted runtime writes it.
        (
            "adf",
            "The operation has timed out. System.UriFormatException: Invalid URI: The hostname could not be parsed.",
            "UriFormatException",
            "InvalidConfiguration",
        ),
        (
            "adf",
            "Service is busy, please retry later. System.DllNotFoundException: Unable to load DLL 'sqlncli11.dll'",
            "DllNotFoundException",
            "InvalidConfiguration",
        ),
        (
            "adf",
            "Connection was forcibly closed; retrying. System.Security.Authentication.InvalidCredentialException: "
            "The server has rejected the client credentials.",
            "InvalidCredentialException",
            "PermissionDenied",
        ),
        # Hadoop: a directory quota of what is stored, the ABFS driver's key settings.
        (
            "databricks",
            "Too many requests; retry after 30 seconds. Caused by: org.apache.hadoop.hdfs.protocol."
            "DSQuotaExceededException: The DiskSpace quota of /data/raw is exceeded: quota = 1099511627776 B = 1 TB "
            "but diskspace consumed = 1099511628000 B",
            "DSQuotaExceededException",
            "InvalidConfiguration",
        ),
        (
            "databricks",
            "Operation failed: the server is busy, retry. Caused by: shaded.databricks.azurebfs.org.apache.hadoop."
            "fs.azurebfs.contracts.exceptions.KeyProviderException: Failure to initialize configuration for storage "
            "account lake.dfs.core.windows.net",
            "KeyProviderException",
            "InvalidConfiguration",
        ),
        # AWS SDK for Java 2.x.
        (
            "databricks",
            "Request throttled (503 Slow Down), retrying. Caused by: software.amazon.awssdk.services.sts.model."
            "ExpiredTokenException: The security token included in the request is expired",
            "ExpiredTokenException",
            "PermissionDenied",
        ),
    ],
)
def test_a_documented_never_exception_vetoes_the_transient_words_around_it(
    service: str, message: str, exception: str, kind: str
) -> None:
    assert_vetoed_by(CLASSIFIER.classify_text(message, service=service), exception, kind)


@pytest.mark.parametrize(
    ("service", "message", "exception"),
    [
        (
            "databricks",
            "asyncio.exceptions.TimeoutError: the read from the metastore timed out after 30 seconds",
            "TimeoutError",
        ),
        (
            "adf",
            "System.Threading.Tasks.TaskCanceledException: The request was canceled due to the configured "
            "HttpClient.Timeout of 100 seconds elapsing.",
            "TaskCanceledException",
        ),
        (
            "databricks",
            "java.net.NoRouteToHostException: No route to host (Host unreachable) while connecting to 10.1.2.3:443; "
            "the connection timed out",
            "NoRouteToHostException",
        ),
        (
            "databricks",
            "org.apache.hadoop.ipc.RetriableException: The NameNode is still starting up; server is busy, try again "
            "later",
            "RetriableException",
        ),
        (
            "databricks",
            "requests.exceptions.ConnectionError: ('Connection aborted.', RemoteDisconnected('Remote end closed "
            "connection without response'))",
            "ConnectionError",
        ),
    ],
)
def test_a_transient_exception_with_transient_words_heals_on_its_code(
    service: str, message: str, exception: str
) -> None:
    entry = table(Table.EXCEPTION)[exception]
    assert entry.remediable and not entry.decisive
    result = CLASSIFIER.classify_text(message, service=service)
    assert result.remediable and result.vetoed_by is None, result
    assert entry.evidence in result.evidence and result.confidence == CODE, result


def test_a_cancellation_alone_is_asked_about_not_healed() -> None:
    """OperationCanceledException is a timeout's or a person's cancellation: with nothing else said, the class
    is a timeout's, and a person decides."""
    result = CLASSIFIER.classify_text("System.OperationCanceledException: The operation was canceled.", service="adf")
    assert result.error_type == "GatewayTimeout" and result.rule == "code:OperationCanceledException", result
    assert not result.remediable and result.abstained and result.confidence < ACT_AT, result
