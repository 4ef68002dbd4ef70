"""Package installers and the HTTP clients beneath ADF and Databricks jobs. Written from the sixteenth
corpus pass's development lines (tests/data/corpus/README.md); every message here is written for the
test, not copied from the corpus."""

from __future__ import annotations

import pytest

from autoheal.domain.catalog import load_catalog
from autoheal.domain.classifier import RuleClassifier

CLASSIFIER = RuleClassifier(load_catalog())


@pytest.mark.parametrize(
    "message",
    [
        "HTTP error 502 while getting https://files.pythonhosted.org/packages/ab/cd/pandas-2.2.2.tar.gz",
        # maven-dependency-plugin's wrapper, its cause a reset
        "[ERROR] Failed to execute goal org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy (default-cli) on "
        "project standalone-pom: Unable to find/resolve artifact.: Could not transfer artifact "
        "com.contoso:etl:jar:2.4.1 from/to nexus (https://nexus.contoso.io/repository/releases/): Connection reset",
        "CondaHTTPError: HTTP 503 SERVICE UNAVAILABLE for url <https://conda.anaconda.org/conda-forge/noarch/repodata.json>",
        "Could not transfer artifact org.apache.hadoop:hadoop-azure:jar:3.3.4 from/to central "
        "(https://repo1.maven.org/maven2): Read timed out",
    ],
)
def test_a_mirror_at_a_bad_moment_is_a_library_installation(message: str) -> None:
    result = CLASSIFIER.classify_text(message, service="databricks")
    assert result.remediable and result.error_type == "DatabricksLibraryInstallationError", result


def test_the_same_fault_outside_an_installer_keeps_its_class() -> None:
    result = CLASSIFIER.classify_text("HTTP error 502 while calling the metastore", service="databricks")
    assert result.remediable and result.error_type == "InternalServerError", result


@pytest.mark.parametrize(
    "message",
    [
        # A package that does not build on this runtime: every install builds it the same way.
        "error: subprocess-exited-with-error. Getting requirements to build wheel did not run successfully; "
        "Read timed out while fetching the sdist",
        "ERROR: Failed building wheel for orjson. Connection reset by peer while downloading.",
        # The proxy the client is set up to use: its scheme, its credentials.
        "requests.exceptions.ProxyError: HTTPSConnectionPool(host='pypi.org', port=443): Max retries exceeded "
        "(Caused by ProxyError('Unable to connect to proxy', OSError('Tunnel connection failed: 503')))",
        "The proxy tunnel request to proxy 'http://proxy.corp:3128/' failed with status code '407'; "
        "the request timed out.",
        # the same maven wrapper over an artifact that is not there
        "[ERROR] Failed to execute goal org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy (default-cli): "
        "Unable to find/resolve artifact.: Could not find artifact com.contoso:etl:jar:2.4.1 in nexus. Timed out.",
        # a pin the index answered without: its versions are listed, the pinned one is not among them
        "WARNING: Retrying (Retry(total=4)) after connection broken by 'ReadTimeoutError(\"HTTPSConnectionPool("
        "host='pypi.org', port=443): Read timed out.\")': /simple/pyodbc/\nERROR: Could not find a version that "
        "satisfies the requirement pyodbc==5.9.9 (from versions: 4.0.39, 5.0.1, 5.1.0)\nERROR: No matching "
        "distribution found for pyodbc==5.9.9",
    ],
)
def test_a_build_failure_or_a_proxy_setting_vetoes(message: str) -> None:
    result = CLASSIFIER.classify_text(message, service="databricks")
    assert not result.remediable and result.vetoed_by is not None, result


@pytest.mark.parametrize(
    "message",
    [
        # HTTP/2 REFUSED_STREAM: the server did not process the stream; RFC 9113 8.7 says retry is safe.
        "System.Net.Http.HttpRequestException: The HTTP/2 server reset the stream. "
        "HTTP/2 error code 'REFUSED_STREAM' (0x7).",
        "okhttp3.internal.http2.StreamResetException: stream was reset: REFUSED_STREAM",
        # FTP's 421 (RFC 959).
        "System.Net.WebException: The remote server returned an error: (421) Service not available.",
    ],
)
def test_a_server_that_refused_before_doing_anything_heals(message: str) -> None:
    result = CLASSIFIER.classify_text(message, service="adf")
    assert result.remediable, result


@pytest.mark.parametrize(
    "message",
    [
        # conda's CondaHTTPError says so itself, beneath a connection that did not answer at all (HTTP 000).
        "CondaHTTPError: HTTP 000 CONNECTION FAILED for url <https://conda.anaconda.org/main/noarch/repodata.json>\n"
        "An HTTP error occurred when trying to retrieve this URL. HTTP errors are often intermittent, and a simple "
        "retry will get you on your way.",
        "Download from files.pythonhosted.org failed: the mirror answered badly. Such failures are usually temporary.",
    ],
)
def test_an_installer_that_says_its_fault_passes_heals(message: str) -> None:
    result = CLASSIFIER.classify_text(message, service="databricks")
    assert result.remediable and result.error_type == "DatabricksLibraryInstallationError", result


def test_the_words_that_a_fault_passes_do_not_beat_a_never_cause() -> None:
    message = "HTTP errors are often intermittent, and a simple retry will get you on your way. 403 Forbidden"
    result = CLASSIFIER.classify_text(message, service="databricks")
    assert not result.remediable and result.vetoed_by is not None, result


@pytest.mark.parametrize(
    "message",
    [
        # an index it could not reach: pip lists no versions at all
        "WARNING: Retrying (Retry(total=4)) after connection broken by "
        "'NewConnectionError(\"HTTPSConnectionPool(host='pypi.org', port=443)\")': /simple/pyodbc/\n"
        "ERROR: Could not find a version that satisfies the requirement pyodbc==5.1.0 (from versions: none)\n"
        "ERROR: No matching distribution found for pyodbc==5.1.0",
        # Ivy resolved the coordinates, then the download broke off
        "Library resolution failed because unresolved dependency: com.azure:azure-eventhubs-spark_2.12:2.3.22: "
        "download failed: com.azure#azure-messaging-eventhubs;5.15.0!azure-messaging-eventhubs.jar: "
        "java.net.SocketTimeoutException: Read timed out (https://repo1.maven.org/maven2/com/azure/x.jar)",
    ],
)
def test_an_index_that_did_not_answer_is_a_library_installation(message: str) -> None:
    result = CLASSIFIER.classify_text(message, service="databricks")
    assert result.remediable and result.error_type == "DatabricksLibraryInstallationError", result
