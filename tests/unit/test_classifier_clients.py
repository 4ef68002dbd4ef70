"""Client-side text: what an orchestrator's hook, an SDK or a gateway prints when a call to ADF, Fabric or
Databricks fails. Written from the thirteenth corpus pass's development lines (tests/data/corpus/README.md);
every message here is written for the test, not copied from the corpus."""

from __future__ import annotations

import pytest

from autoheal.domain.catalog import load_catalog
from autoheal.domain.classifier import RuleClassifier

CLASSIFIER = RuleClassifier(load_catalog())


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("DMTS_OAuthTokenRefreshFailedError", "Failed to resolve connection 'c1' referenced in activity run 'r1'."),
        (None, "The gateway could not refresh the OAuth token for data source 'sales-lake'."),
        (None, "Connection error: token refresh failed for the service connection; ErrorMessage: null"),
        (None, "invalid_grant: the refresh token has expired due to inactivity"),
    ],
)
def test_a_token_that_no_longer_refreshes_is_a_credential_to_enter_again(code: str | None, message: str) -> None:
    result = CLASSIFIER.classify_text(message, service="adf", error_code=code)
    assert result.error_type == "PermissionDenied" and not result.remediable, result


@pytest.mark.parametrize(
    "message",
    [
        "AirflowException: A Subscription ID is required to connect to Azure Data Factory.",
        "Error: the workspace host is required when no profile is configured",
        "The endpoint URL is not specified for the REST linked service.",
    ],
)
def test_a_required_identifier_or_address_left_out_is_configuration(message: str) -> None:
    result = CLASSIFIER.classify_text(message, service="adf")
    assert result.error_type == "InvalidConfiguration" and not result.remediable, result


def test_a_request_the_service_calls_bad_is_configuration_even_under_a_wrapper() -> None:
    result = CLASSIFIER.classify_text(
        "Environment publish: [SparkCoreBadWebRequest] Settings operation failed due to a bad request: "
        "Code = SparkSettingsExecutorCoresAboveLimit. The service is temporarily unavailable.",
        service="adf",
    )
    assert not result.remediable and result.vetoed_by is not None, result


@pytest.mark.parametrize(
    "message",
    [
        "ConnectionAbortedError: TLS handshake is taking longer than 30.0 seconds: aborting the connection",
        "aiohttp.ClientOSError: the client aborted the connection while reading the response",
    ],
)
def test_an_aborted_connection_heals_as_a_connection_failure(message: str) -> None:
    result = CLASSIFIER.classify_text(message, service="databricks")
    assert result.error_type == "HttpConnectionFailed" and result.remediable, result


def test_an_aborted_connection_with_a_login_failure_inside_is_still_vetoed() -> None:
    result = CLASSIFIER.classify_text(
        "Connection aborted: login failed for user 'etl_reader' while opening the session", service="adf"
    )
    assert result.error_type == "PermissionDenied" and not result.remediable, result


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        # ODBC's SQLSTATE 08S01, as an ODBC source's copy activity quotes it.
        ("ERROR [08S01] [Contoso][ODBC Driver] Communication link failure while fetching rows", "HttpConnectionFailed"),
        # Azure SQL's 49918, in words only.
        ("Cannot process request. Not enough resources to process request. Session 88.", "ThrottlingError"),
    ],
)
def test_documented_transient_connector_text_heals(message: str, kind: str) -> None:
    result = CLASSIFIER.classify_text(message, service="adf")
    assert result.error_type == kind and result.remediable, result


def test_a_communication_link_failure_over_an_untrusted_certificate_is_vetoed() -> None:
    result = CLASSIFIER.classify_text(
        "ERROR [08S01] Communication link failure: SSL Provider: The certificate chain was issued by an authority "
        "that is not trusted.",
        service="adf",
    )
    assert not result.remediable and result.vetoed_by is not None, result


@pytest.mark.parametrize(
    "message",
    [
        "Job aborted due to stage failure: java.io.IOException: Connection from /10.12.0.7:7337 closed",
        "org.apache.spark.network.client.ChunkFetchFailureException: Failure while fetching StreamChunkId[streamId=9]",
    ],
)
def test_spark_transport_losing_a_peer_heals_as_a_lost_executor(message: str) -> None:
    result = CLASSIFIER.classify_text(message, service="databricks")
    assert result.error_type == "ClusterUnexpectedTermination" and result.remediable, result


@pytest.mark.parametrize(
    ("service", "message"),
    [
        # HTTP 503 in its definition's words, as a front end writes it.
        ("adf", "The server is currently unable to handle the request due to a temporary overloading of the server."),
        # gRPC's UNAVAILABLE, as a Spark Connect client raises it.
        (
            "databricks",
            "SparkConnectGrpcException: <_InactiveRpcError of RPC that terminated with: "
            'status = StatusCode.UNAVAILABLE details = "failed to connect to all addresses">',
        ),
        # A driver still starting.
        ("databricks", "DriverClient$DriverNotReadyException: Driver is not ready yet, retrying the command"),
        ("databricks", "Lost connection to cluster 0412-abc while the command ran."),
        ("adf", "The copy could not be completed within the permitted time."),
    ],
)
def test_documented_transient_wording_heals(service: str, message: str) -> None:
    result = CLASSIFIER.classify_text(message, service=service)
    assert result.remediable, result


def test_unavailable_over_a_login_failure_is_still_vetoed() -> None:
    result = CLASSIFIER.classify_text(
        "StatusCode.UNAVAILABLE: login failed for user 'svc_etl' on the SQL endpoint", service="databricks"
    )
    assert not result.remediable and result.vetoed_by is not None, result


def test_a_documented_code_quoted_by_an_adf_activity_is_not_read_by_its_name() -> None:
    # INVALID_STATE is a Databricks API code the tables document (transient, not decisive): the ADF rule for
    # undocumented code names ("Invalid...", "...Missing") must not veto it.
    result = CLASSIFIER.classify_text(
        "ErrorCode=FailedToReadFromAzureDatabricksDeltaLake: Got unexpected status code 400 from Databricks: "
        '{"error_code":"INVALID_STATE","message":"Cluster 0412-abc is in unexpected state Pending."}',
        service="adf",
    )
    # Its class, a cluster that did not start, is on ADF the activity's to run again.
    assert result.vetoed_by is None and result.error_type == "InternalServerError", result
