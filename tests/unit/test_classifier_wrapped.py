"""A cause a retry cannot fix, inside words that sound transient ("Service busy:", "Gateway timeout:",
"An unexpected error occurred:", "Connection reset:"), in the services' and engines' own vocabulary for
that cause: the cause vetoes (issue 11, "the innermost cause decides"). And the limits that do pass,
written the same way, still heal."""

from __future__ import annotations

import pytest

from autoheal.domain.catalog import load_catalog
from autoheal.domain.classifier import RuleClassifier

CLASSIFIER = RuleClassifier(load_catalog())


@pytest.mark.parametrize(
    ("service", "message", "sign"),
    [
        # credentials, the adjective first; a key the server turned away
        ("adf", "Service busy: incorrect username or password was specified.", "credentials"),
        ("adf", "Timeout expired: the SFTP server rejected the public key for user 'etl'.", "credentials"),
        ("databricks", "ssh: connect failed, retrying: Permission denied (publickey).", "credentials"),
        # a name that does not resolve, an address not allowed, no way out
        (
            "adf",
            "An error occurred while sending the request: The remote name could not be resolved: 'lake.blob.core'",
            "network-configuration",
        ),
        (
            "adf",
            "Timeout while connecting: the host name 'sqlprd.contoso.local' could not be resolved.",
            "network-configuration",
        ),
        (
            "adf",
            "Connection was refused because the client IP address 52.1.2.3 is not in the allowed list.",
            "network-configuration",
        ),
        (
            "databricks",
            "Library installation timed out: pip could not reach the index; cluster has no outbound network access.",
            "network-configuration",
        ),
        # TLS parameters the two sides do not share
        ("adf", "Socket closed: the server requires TLS 1.2 but the client offered TLS 1.0.", "certificate-trust"),
        # a policy that blocks
        ("databricks", "RESOURCE_EXHAUSTED: The workspace's serverless budget policy blocks new compute.", "policy"),
        # money and sizes, not load
        ("adf", "Too many requests: the free trial subscription has exceeded its spending limit.", "quota-never-fits"),
        ("adf", "Message size exceeds the limit of 256 KB.", "configuration"),
        ("adf", "Throttled: the request payload exceeded the 4 MB limit.", "configuration"),
        ("adf", "Azure Function has exceeded its memory limit of 1.5 GB.", "configuration"),
        # a setting out of range
        (
            "adf",
            "Operation timed out: the activity timeout of 7.00:00:00 exceeds the maximum allowed value of 7 days.",
            "validation",
        ),
        # columns that differ, values that do not fit
        (
            "adf",
            "Internal server error while processing: the source file has 12 columns but the sink table has 10.",
            "schema",
        ),
        ("databricks", "Unexpected error: expected 5 columns but got 7 in row 12.", "schema"),
        ("adf", "An unexpected error occurred: Column 'order_date' contains an invalid date '2024-13-45'.", "data"),
        ("adf", "Unexpected error: Error converting data type varchar to numeric.", "data"),
        (
            "adf",
            "Internal error: The given value of type String from the source cannot be converted to type int.",
            "data",
        ),
        (
            "adf",
            "Unexpected error: Received an invalid column length from the bcp client for colid 6.",
            "data",
        ),
        ("adf", "Unexpected server error: Data truncation: Data too long for column 'name' at row 1", "data"),
        ("databricks", "Internal error: found 3 records that violate the CHECK constraint amount_positive.", "data"),
        ("databricks", "Unexpected error: encountered a null value in non-nullable column 'id'.", "data"),
        ("adf", "An unexpected error has occurred: Invalid character in JSON at position 45.", "data"),
        (
            "adf",
            "Response status code: 'InternalServerError'. More details: 'The INSERT statement conflicted with the "
            'FOREIGN KEY constraint "FK_Orders_Customers".\'',
            "data",
        ),
        # Spark's own words for a value too long, a catalog object corrupted, a feature used without its setting
        ("databricks", "Internal error: Exceeds char/varchar type length limitation: 20.", "data"),
        ("databricks", "Unexpected error: An object in the metadata catalog has been corrupted.", "data"),
        ("databricks", "The operation has timed out, but no timeout duration is configured.", "configuration"),
        (
            "databricks",
            "Command result size exceeds limit: Exceeded 20971520 bytes (current = 20974519)",
            "configuration",
        ),
        (
            "databricks",
            "TimeoutException: Futures timed out after [300 seconds]. This timeout is controlled by "
            "spark.sql.broadcastTimeout",
            "configuration",
        ),
        # objects going away or out of reach
        ("databricks", "Connection reset: the workspace 'dbc-123' is pending deletion.", "missing-object"),
        (
            "adf",
            "Gateway timeout: The query references an object 'dbo.vw_sales' that is not accessible.",
            "missing-object",
        ),
        # the environment's own versions; an app someone stopped
        ("databricks", "TimeoutError: ImportError: cannot import name 'x' from 'pkg'", "configuration"),
        ("adf", "Service Unavailable: the Azure Function app 'fn-etl' is stopped.", "configuration"),
        # a person's own decision
        (
            "adf",
            "Operation timed out. The pipeline run was cancelled by user admin@contoso.com.",
            "cancelled-by-person",
        ),
    ],
)
def test_a_cause_under_transient_words_vetoes(service: str, message: str, sign: str) -> None:
    result = CLASSIFIER.classify_text(message, service=service)
    assert not result.remediable, result
    assert result.rule == f"veto:{sign}", result
    assert result.vetoed_by is not None and result.vetoed_by.startswith(f"{sign}: '")


@pytest.mark.parametrize(
    ("service", "message"),
    [
        # a rate, per second, is load that passes
        ("adf", "The storage account's ingress limit of 20 Gbps was exceeded. Please retry later."),
        ("databricks", "Too many requests. Limit 30 requests per second exceeded."),
        ("adf", "Rate limit exceeded. Retry after 30 seconds."),
        # what is in use at once frees as others finish
        ("adf", "Exceeded the maximum number of concurrent connections (100) to the server. Try again later."),
        # a resource the Azure Files client marks for deletion goes when its last handle closes
        ("adf", "The server is busy. Retry the request later."),
    ],
)
def test_a_limit_that_passes_still_heals(service: str, message: str) -> None:
    result = CLASSIFIER.classify_text(message, service=service)
    assert result.remediable, result


@pytest.mark.parametrize(
    "message",
    [
        "The request failed with status code '\"BadRequest\"'. An error occurred while sending the request.",
        "Response status code: '409'. The connection was reset while waiting for the endpoint.",
    ],
)
def test_no_answer_words_beside_a_stated_answer_abstain(message: str) -> None:
    # The service states the status it got back, so the words of a request that got none contradict it.
    result = CLASSIFIER.classify_text(message, service="adf")
    assert not result.remediable and result.abstained, result
    assert any(e.startswith("the endpoint answered ") for e in result.evidence), result.evidence


@pytest.mark.parametrize(
    "message",
    [
        # a bootstrap that names the workspace's network as its cause
        "Cluster terminated. Reason: Bootstrap Timeout (BOOTSTRAP_TIMEOUT). Instance bootstrap failed command: "
        "WaitForDaemonReachable. Failure message: Timed out with exception after 9 attempts. This is likely due to "
        "the network configuration of the workspace (custom DNS, firewall or user-defined routes blocking outbound "
        "traffic).",
        # the Event Hubs Kafka endpoint on the port it does not listen on
        "StreamingQueryException: Timeout expired while fetching topic metadata "
        "(kafka.bootstrap.servers=evhns-telemetry.servicebus.windows.net:9092)",
    ],
)
def test_a_timeout_that_names_its_network_setting_vetoes(message: str) -> None:
    result = CLASSIFIER.classify_text(message, service="databricks")
    assert not result.remediable and result.vetoed_by and "network-configuration" in result.vetoed_by, result


# Hadoop's ABFS driver names the token endpoint's URL before the endpoint's answer.
_ABFS_TOKEN = (
    "shaded.databricks.azurebfs.org.apache.hadoop.fs.azurebfs.contracts.exceptions.AbfsRestOperationException: "
    "HTTP Error {status}; url='https://login.microsoftonline.com/5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9/oauth2/token' "
    "AADToken: HTTP connection to https://login.microsoftonline.com/5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9/oauth2/token "
    'failed for getting token from AzureAD.; response \'{{"error":"{error}","error_description":"{code}: '
    "{text}\"}}'"
)
# azure-identity writes "Authentication failed:" before every Entra answer.
_SDK = "azure.core.exceptions.ClientAuthenticationError: Authentication failed: {code}: {text}"


@pytest.mark.parametrize(
    ("message", "code"),
    [
        (_SDK.format(code="AADSTS90033", text="A transient error has occurred. Please try again."), "AADSTS90033"),
        (
            _ABFS_TOKEN.format(
                status="503",
                error="temporarily_unavailable",
                code="AADSTS90033",
                text="A transient error has occurred. Please try again.",
            ),
            "AADSTS90033",
        ),
        (
            _ABFS_TOKEN.format(
                status="400",
                error="invalid_request",
                code="AADSTS90024",
                text="RequestBudgetExceededError - A transient error has occurred.",
            ),
            "AADSTS90024",
        ),
    ],
)
def test_a_transient_entra_answer_heals_whatever_client_wraps_it(message: str, code: str) -> None:
    """Neither azure-identity's "Authentication failed:" nor the token endpoint's URL is a credential fault: the
    Entra code in the answer decides."""
    result = CLASSIFIER.classify_text(message, service="databricks")
    assert result.remediable and result.rule == f"code:{code}", result


@pytest.mark.parametrize(
    "message",
    [
        _SDK.format(code="AADSTS7000222", text="The provided client secret keys are expired. Please try again."),
        _ABFS_TOKEN.format(
            status="401", error="invalid_client", code="AADSTS7000215", text="Invalid client secret provided."
        ),
    ],
)
def test_a_rejected_secret_is_vetoed_whatever_client_wraps_it(message: str) -> None:
    result = CLASSIFIER.classify_text(message, service="databricks")
    assert not result.remediable and result.vetoed_by, result


def test_the_token_endpoints_url_without_a_transient_answer_still_vetoes() -> None:
    # The URL alone, with no answer to weigh, still names a login that failed.
    bare = CLASSIFIER.classify_text(
        "java.io.IOException: Server returned HTTP response code: 401 for URL: "
        "https://login.microsoftonline.com/b9b831a9-6c10-40bf-86f3-489ed83c81e8/oauth2/token",
        service="databricks",
    )
    assert not bare.remediable and bare.vetoed_by, bare
    # The transient answer spares the URL only: a login failure beside it still vetoes.
    beside = CLASSIFIER.classify_text(
        "Login failed for user 'etl'. "
        + _ABFS_TOKEN.format(status="503", error="temporarily_unavailable", code="AADSTS90033", text="Try again."),
        service="databricks",
    )
    assert not beside.remediable and beside.vetoed_by == "credentials: 'login failed'", beside


def test_a_login_refused_for_the_servers_state_is_not_a_credential_fault() -> None:
    """SQL Server's 18401 and 18461: the login is refused because the server is upgrading or in single-user mode."""
    upgrading = CLASSIFIER.classify_text(
        "com.microsoft.sqlserver.jdbc.SQLServerException: Login failed for user 'dbx_etl'. Reason: Server is in "
        "script upgrade mode. Only administrator can connect at this time.",
        service="databricks",
    )
    assert upgrading.remediable and upgrading.error_type == "InternalServerError", upgrading
    single = CLASSIFIER.classify_text(
        "Msg 18461, Level 14, State 1. Login failed for user 'svc_loader'. Reason: Server is in single user mode. "
        "Only one administrator can connect at this time.",
        service="adf",
    )
    # An administrator's maintenance ends when they end it: the class, and a person decides.
    assert single.error_type == "InternalServerError" and not single.remediable and single.vetoed_by is None, single
    wrong = CLASSIFIER.classify_text(
        "Msg 18456, Level 14, State 1. Login failed for user 'svc_loader'. Reason: Password did not match.",
        service="adf",
    )
    assert not wrong.remediable and wrong.vetoed_by, wrong


def test_a_databricks_sign_in_an_adf_activity_is_the_class_adf_reruns() -> None:
    """ADF has no driver to restart: a Databricks activity whose driver restarted is an activity to run again."""
    result = CLASSIFIER.classify_text(
        "Operation on target Run_Aggregates failed: Run failed with error message com.databricks.WorkflowException: "
        "Caused by: DriverRestartedException: The spark driver has stopped unexpectedly and is restarting.",
        service="adf",
    )
    assert result.remediable and result.error_type == "InternalServerError", result


@pytest.mark.parametrize(
    ("message", "heals"),
    [
        # BigQuery's backend error, its words under a 400; its rate limits under a 403
        (
            "google.api_core.exceptions.BadRequest: 400 GET https://bigquery.googleapis.com/bigquery/v2/projects/p/"
            "queries/job_5Qm: The job encountered an error during execution. Retrying the job may solve the problem.",
            True,
        ),
        (
            "google.api_core.exceptions.Forbidden: 403 Exceeded rate limits: too many concurrent queries for this "
            "project. For more information, see https://cloud.google.com/bigquery/troubleshooting-errors",
            True,
        ),
        # PostgreSQL restarting after another backend crashed
        (
            "org.postgresql.util.PSQLException: An I/O error occurred while sending to the backend. FATAL: "
            "terminating connection because of crash of another server process",
            True,
        ),
        # mssql-jdbc's TLS words around a dropped connection, and around a certificate it does not trust
        (
            "com.microsoft.sqlserver.jdbc.SQLServerException: The driver could not establish a secure connection to "
            'SQL Server by using Secure Sockets Layer (SSL) encryption. Error: "Connection reset '
            'ClientConnectionId:65eb".',
            True,
        ),
        (
            "com.microsoft.sqlserver.jdbc.SQLServerException: The driver could not establish a secure connection to "
            'SQL Server by using Secure Sockets Layer (SSL) encryption. Error: "PKIX path building failed". Connection '
            "reset.",
            False,
        ),
        # botocore's own hint at the region, the AWS SDK's drained pool, a library installed at another version
        (
            'botocore.exceptions.EndpointConnectionError: Could not connect to the endpoint URL: "https://s3.eu-west-1a'
            '.amazonaws.com/", please verify your region value.',
            False,
        ),
        (
            "com.amazonaws.SdkClientException: Unable to execute HTTP request: "
            "Timeout waiting for connection from pool",
            False,
        ),
        (
            "Library installation attempted on the driver node of cluster 0314-0922 and failed. Error Code: "
            "DRIVER_LIBRARY_INSTALLATION_FAILURE. Error Message: org.apache.spark.SparkException: PyPI package "
            "confluent-kafka has been installed already. Connection reset.",
            False,
        ),
        # a handshake the server cut (JDK 11's words; SSLHandshakeException's own entry leaves it to them), and
        # one the client's trust refused
        ("javax.net.ssl.SSLHandshakeException: Remote host terminated the handshake", True),
        (
            "javax.net.ssl.SSLHandshakeException: PKIX path building failed: unable to find valid certification "
            "path to requested target",
            False,
        ),
    ],
)
def test_the_clients_own_words_for_what_passes_and_what_stays(message: str, heals: bool) -> None:
    result = CLASSIFIER.classify_text(message, service="databricks")
    assert result.remediable is heals, result


@pytest.mark.parametrize(
    ("message", "heals"),
    [
        # a frame's line number is no status: 401 here is a line of ConflictChecker.scala
        (
            "io.delta.exceptions.ConcurrentAppendException: [DELTA_CONCURRENT_APPEND] Files were added to partition "
            "[p=1] by a concurrent update. Please try the operation again.\n\tat com.databricks.sql.transaction.tahoe."
            "ConflictChecker.checkForAddedFiles(ConflictChecker.scala:401)",
            True,
        ),
        # nor 503 a line of a Python file, under a job's own data error
        (
            'Traceback (most recent call last):\n  File "/Workspace/etl/load.py", line 503, in <module>\n'
            "KeyError: 'customer_id'",
            False,
        ),
        # nor 429 or 504 the lines of a writer's frames under a job that aborted for no stated cause
        (
            "org.apache.spark.SparkException: Job aborted.\n\tat org.apache.spark.sql.execution.datasources."
            "FileFormatWriter$.write(FileFormatWriter.scala:429)",
            False,
        ),
        ("java.io.IOException: Stream closed\n\tat com.contoso.etl.Loader.read(Loader.java:504)", False),
        # while a status the server answered still counts
        ("HTTP/1.1 403 Forbidden: the service principal has no access to the container. Connection reset.", False),
        ("HTTP/1.1 429 Too Many Requests", True),
    ],
)
def test_a_frame_line_number_is_no_status(message: str, heals: bool) -> None:
    result = CLASSIFIER.classify_text(message, service="databricks")
    assert result.remediable is heals, result
    said = " ".join(result.evidence)
    assert not any(f"'{n}'" in said for n in ("401", "503", "504")), result
    assert ("'429'" in said) is message.startswith("HTTP/1.1 429"), result


# Token endpoints that ask for a wait, and a query quoted after a driver's reset.
_TOKEN_WAITS_AND_QUOTED_QUERIES = [
    # the managed-identity endpoint's own 429 behind azure-identity's prefix
    "azure.core.exceptions.ClientAuthenticationError: ManagedIdentityCredential authentication failed: Service "
    'request failed.\nStatus: 429 (Too Many Requests)\nContent:\n{"error":"too_many_requests","error_description":'
    '"Temporarily throttled, too many requests"}',
    # MSAL told by the token service to wait
    "com.microsoft.sqlserver.jdbc.SQLServerException: Failed to authenticate the user svc@contoso.com in Active "
    "Directory (Authentication=ActiveDirectoryPassword). Request was throttled according to instructions from "
    "STS. Retry in 93486 ms.",
    # a driver's reset with the query it ran quoted after it
    "sqlalchemy.exc.OperationalError: (pyodbc.OperationalError) ('08S01', '[08S01] [Microsoft][ODBC Driver 17 "
    "for SQL Server]TCP Provider: Error code 0x68 (104) (SQLExecDirectW)')\n[SQL: SELECT TOP 1000 * FROM "
    "dbo.customer_events WHERE load_id = ?]",
]


# A wait that ran out, a kill for memory, a refusal while others start.
_WAITS_KILLS_AND_REFUSALS = [
    # Reactor's timeout operator: its "no fallback has been configured" is no missing setting
    "java.lang.RuntimeException: java.util.concurrent.TimeoutException: Did not observe any item or terminal "
    "signal within 60000ms in 'flatMap' (and no fallback has been configured)",
    # Kubernetes's words for a container killed for memory
    "org.apache.kyuubi.KyuubiException: SPARK batch[0c7e] job failed: ApplicationInfo(spark-0c7e-driver, KILLED, "
    "container spark-kubernetes-driver terminated: reason=OOMKilled, exitCode=137)",
    # Livy turning a session away while others start
    'Operation on target Spark_Load failed: Failed to submit Spark job. Error: {"msg":"Rejected, too many '
    'sessions are being created!"}',
]


# A task's state or advice to log, around the cause that decides.
_TASK_STATES_AND_ADVICE = [
    # Kafka Connect's words for any uncaught exception, over a metadata timeout
    "org.apache.kafka.connect.errors.ConnectException: Task threw an uncaught and unrecoverable exception. Task "
    "is being killed and will not recover until manually restarted\nCaused by: org.apache.kafka.common.errors."
    "TimeoutException: Timeout expired while fetching topic metadata",
    # advice to turn on debug logging is no change to make before a retry
    "java.sql.SQLException: com.microsoft.sqlserver.jdbc.SQLServerException: Connection reset\nERROR Failing task "
    "after exhausting retries. For complete details on each exception, please enable DEBUG logging.",
    # a lease another instance took while partitions were rebalanced
    "java.lang.RuntimeException: Lease lost while updating checkpoint\n\tat com.microsoft.azure.eventprocessorhost."
    "AzureStorageCheckpointLeaseManager.updateCheckpoint(AzureStorageCheckpointLeaseManager.java:182)",
]


@pytest.mark.parametrize(
    ("service", "message"),
    [
        # BigQuery's rate limit, its 403 apart from its words
        (
            "adf",
            "403 GET https://bigquery.googleapis.com/bigquery/v2/projects/acme/queries/9b1e?location=EU: Exceeded rate "
            "limits: too many api requests per user per method for this user_method.",
        ),
        # Snowflake's limit on statements waiting for one lock: they exist only while they wait
        (
            "adf",
            "000625 (57014): Statement '01b4' has locked table 'MODELS' in transaction 1715 and this lock has not yet "
            "been released. Your statement '01b5' was aborted because the number of waiters for this lock exceeds the "
            "20 statements limit.",
        ),
        # the ODBC driver giving up on one connection
        (
            "adf",
            "[IMC06] [Microsoft][ODBC Driver 18 for SQL Server]The connection is broken and recovery is not possible. "
            "The connection is marked by the client driver as unrecoverable. No attempt was made to restore the "
            "connection.",
        ),
        *(
            ("databricks", message)
            for message in (*_TOKEN_WAITS_AND_QUOTED_QUERIES, *_WAITS_KILLS_AND_REFUSALS, *_TASK_STATES_AND_ADVICE)
        ),
    ],
)
def test_what_frees_on_its_own_in_the_services_words_heals(service: str, message: str) -> None:
    result = CLASSIFIER.classify_text(message, service=service)
    assert result.remediable, result


def test_a_tls_record_is_no_data_record() -> None:
    """TLS's bad_record_mac alert is a record of the connection, not a bad row: no data veto (and no heal alone)."""
    result = CLASSIFIER.classify_text(
        "aiohttp.client_exceptions.ClientOSError: [Errno 1] [SSL: SSLV3_ALERT_BAD_RECORD_MAC] sslv3 alert bad record "
        "mac (_ssl.c:2548)",
        service="databricks",
    )
    assert result.vetoed_by is None and result.error_type != "DataQuality", result


@pytest.mark.parametrize(
    ("service", "message", "vetoes"),
    [
        # a name in a traceback's source line is no event: "timeout" here is an argument
        (
            "databricks",
            'Traceback (most recent call last):\n  File "/databricks/python/lib/python3.7/site-packages/azure/'
            'datalake/store/transfer.py", line 370, in monitor\n    self._wait(poll, timeout)\nMemoryError',
            False,
        ),
        # a call the service refused as malformed, inside the Function's 500
        (
            "adf",
            "Call to provided Azure function 'Stage' failed with status-'InternalServerError' and message - "
            "'Microsoft.Azure.Cosmos.CosmosException : Response status code does not indicate success: BadRequest "
            "(400); Substatus: 1001'.",
            True,
        ),
        # a Functions host whose worker does not start
        (
            "adf",
            "Call to provided Azure function 'pwt' failed with status-'InternalServerError' and message - 'Failed to "
            "start language worker process for: java. The operation has timed out.'",
            True,
        ),
        # an argument in a form the library refuses, under a dropped connection
        (
            "databricks",
            "ConnectionResetError: [Errno 104] Connection reset by peer\nHFValidationError: Repo id must be in the "
            "form 'repo_name' or 'namespace/repo_name': '/dbfs/ckpt/checkpoint-600'.",
            True,
        ),
    ],
)
def test_what_the_program_wrote_or_was_refused_for_does_not_heal(service: str, message: str, vetoes: bool) -> None:
    result = CLASSIFIER.classify_text(message, service=service)
    assert not result.remediable and (result.vetoed_by is not None) is vetoes, result


def test_an_error_fields_quoted_value_is_the_answer_not_a_name() -> None:
    """OAuth 2.0's temporarily_unavailable as MSAL prints it; a quoted compound name elsewhere is still a name."""
    answer = CLASSIFIER.classify_text(
        "msal.ConfidentialClientApplication.acquire_token_for_client failed: {'error': 'temporarily_unavailable', "
        "'error_description': '50033 - CCS could not serve the request that was made.'}",
        service="databricks",
    )
    assert answer.remediable and answer.error_type == "InternalServerError", answer
    name = CLASSIFIER.classify_text("Job failed: the setting 'spark.network.timeout' is 120s.", service="databricks")
    assert not name.remediable, name
