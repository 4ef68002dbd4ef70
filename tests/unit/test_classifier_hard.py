"""Hard negatives and positives from the probe sets (tests/data/probes/): a cause a retry cannot fix beneath
the platforms' transient words, limits a rerun meets again, a code that names a step, and the services' own words
for what passes. Each case is the form the service or tool prints; each fails on the code before its rule."""

from __future__ import annotations

import pytest

from autoheal.domain.catalog import load_catalog
from autoheal.domain.classifier import RuleClassifier
from autoheal.domain.instructions import instruction

CLASSIFIER = RuleClassifier(load_catalog())


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        # a Databricks activity's job cluster that did not start, as ADF reports it
        (
            "Operation on target NB_Silver failed: Cluster '0617-031522-k9x2m4ab' was terminated. Reason: "
            "CLOUD_PROVIDER_LAUNCH_FAILURE (CLOUD_FAILURE). Parameters: azure_error_code:AllocationFailed, "
            "azure_error_message:Allocation failed. We do not have sufficient capacity for the requested VM size.",
            "InternalServerError",
        ),
        # a proxy's error page whose title names a Databricks code's words
        (
            "ErrorCode=RestCallFailedWithServerError,'Type=Microsoft.DataTransfer.Common.Shared.HybridDeliveryException,"
            "Message=Rest call failed with server error, status code 503 ServiceUnavailable. Response: <html><head>"
            "<title>503 Service Temporarily Unavailable</title></head></html>'",
            "InternalServerError",
        ),
    ],
)
def test_a_databricks_class_met_in_adf_is_the_adf_class_that_reruns(message: str, kind: str) -> None:
    result = CLASSIFIER.classify_text(message, service="adf", error_code="2200")
    assert result.remediable and result.error_type == kind, result


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        # Kusto's result-set limit and memory budget (learn.microsoft.com/kusto/concepts/query-limits)
        (
            "'Type=Kusto.Data.Exceptions.KustoServicePartialQueryFailureLimitsExceededException,Message=Query "
            "execution has exceeded the allowed limits (80DA0003): The results of this query exceed the set limit of "
            "500000 records (E_QUERY_RESULT_SET_TOO_LARGE, 0x80DA0003).'",
            "InvalidConfiguration",
        ),
        ("Query execution has exceeded the allowed limits: runaway query (E_RUNAWAY_QUERY).", "CodeError"),
        # a notebook parameter the run did not pass
        (
            "com.databricks.dbutils_v1.InputWidgetNotDefined: No input widget named source_path is defined. "
            "Service temporarily unavailable",
            "InvalidConfiguration",
        ),
        # an API's body naming the input's validation
        (
            "Response status code: 'InternalServerError'. Response content: "
            '{"status":500,"error":"ValidationError","message":"payload.items[3].sku is required"}',
            "DataQuality",
        ),
    ],
)
def test_limits_parameters_and_validation_behind_transient_words_veto(message: str, kind: str) -> None:
    result = CLASSIFIER.classify_text(message, service="adf")
    assert not result.remediable and result.error_type == kind and result.vetoed_by, result


def test_db2s_communication_error_heals() -> None:
    message = (
        "ErrorCode=DB2DriverRunFailed,'Type=Microsoft.DataTransfer.Common.Shared.HybridDeliveryException,Message="
        "Error thrown from driver. Sql code: '-30081',Source=Microsoft.DataTransfer.Runtime.DB2Connector,''Type="
        "Microsoft.HostIntegration.DrdaClient.DrdaException,Message=A communication error has been detected. "
        "Communication function detecting the error: recv.'"
    )
    result = CLASSIFIER.classify_text(message, service="adf", error_code="2200")
    assert result.remediable and result.error_type == "HttpConnectionFailed", result


@pytest.mark.parametrize(
    ("code", "message", "heals"),
    [
        # an init script names the step; the output beneath it says why
        (
            "INIT_SCRIPT_FAILURE",
            "Cluster scoped init script /Workspace/init/odbc.sh failed: Script exit status is non-zero",
            False,
        ),
        (
            "INIT_SCRIPT_FAILURE",
            "Cluster scoped init script /Volumes/platform/bootstrap/odbc.sh failed: Script exit status is non-zero\n"
            "E: Failed to fetch http://azure.archive.ubuntu.com/ubuntu/pool/main/u/unixodbc/unixodbc-dev.deb  "
            "503  Service Unavailable [IP: 52.147.219.192 80]",
            True,
        ),
        (
            "INIT_SCRIPT_FAILURE",
            "Cluster scoped init script /Workspace/init/odbc.sh failed: Script exit status is non-zero\n"
            "/tmp/odbc.sh: line 7: syntax error near unexpected token `fi'",
            False,
        ),
        # an image pull, and a checkout
        (
            "DOCKER_IMAGE_PULL_FAILURE",
            "Cluster terminated. Reason: Docker Image Pull Failure\nFailed to pull docker image 'contoso/dbr:14.3': "
            "toomanyrequests: You have reached your pull rate limit.",
            True,
        ),
        (
            "DOCKER_IMAGE_PULL_FAILURE",
            "Cluster terminated. Reason: Docker Image Pull Failure\nFailed to pull docker image 'contoso/dbr:14.3': "
            "unauthorized: authentication required",
            False,
        ),
        (
            "REPOSITORY_CHECKOUT_FAILED",
            "Failed to checkout Git repository: Remote responded with 503 Service Unavailable "
            "(https://github.com/contoso/etl.git).",
            True,
        ),
        (
            "REPOSITORY_CHECKOUT_FAILED",
            "Failed to checkout Git repository: Authentication failed for 'https://github.com/contoso/etl.git'.",
            False,
        ),
    ],
)
def test_a_code_that_names_a_step_lets_the_words_beneath_decide(code: str, message: str, heals: bool) -> None:
    result = CLASSIFIER.classify_text(message, service="databricks", error_code=code)
    assert result.remediable is heals, result


@pytest.mark.parametrize(
    ("service", "code", "message", "heals"),
    [
        # a termination's type after its code is no run termination code of the same name
        (
            "adf",
            "3204",
            "Operation on target NB failed: Cluster '0617-1' was terminated. Reason: CLOUD_PROVIDER_LAUNCH_FAILURE "
            "(CLOUD_FAILURE).",
            False,
        ),
        # calls in a window are a rate
        (
            "databricks",
            None,
            "Cluster terminated. Reason: Azure Resource Provider Throttling\nSubscription 3b8e was used to perform too "
            "many calls within last 5 minutes. The number of calls exceeds Microsoft Network throttling limit.",
            True,
        ),
        # a Kafka client's bootstrap.servers and a path named bootstrap are no cluster's bootstrap
        (
            "databricks",
            None,
            "StreamingQueryException: Failed to construct kafka consumer Caused by: org.apache.kafka.common.config."
            "ConfigException: No resolvable bootstrap urls given in bootstrap.servers",
            False,
        ),
        ("databricks", None, "Cluster terminated. Reason: Bootstrap Timeout. The node took too long to start.", True),
        # a Delta conflict under a SQL call from Python
        (
            "databricks",
            None,
            "py4j.protocol.Py4JJavaError: An error occurred while calling o4021.sql. : io.delta.exceptions."
            "ConcurrentDeleteReadException: [DELTA_CONCURRENT_DELETE_READ] This transaction attempted to read one or "
            "more files that were deleted by a concurrent update. Please try the operation again.",
            True,
        ),
    ],
)
def test_codes_types_and_names_read_for_what_they_are(
    service: str, code: str | None, message: str, heals: bool
) -> None:
    result = CLASSIFIER.classify_text(message, service=service, error_code=code)
    assert result.remediable is heals, result


@pytest.mark.parametrize(
    "message",
    [
        # an executor a task took down, or a process killed for its memory, in an ADF Databricks activity: the
        # Databricks playbook scales up first, which a plain rerun of the activity does not
        "Operation on target NB_Gold failed: Job aborted due to stage failure: Lost task 3.3 in stage 27.0: "
        "ExecutorLostFailure (executor 6 exited caused by one of the running tasks) Reason: Remote RPC client "
        "disassociated. Likely due to containers exceeding thresholds, or network issues.",
        "Operation on target NB_Score failed: Fatal error: The Python kernel is unresponsive. The Python process "
        "exited with exit code 137 (SIGKILL: Killed). This may have been caused by an OOM error.",
    ],
)
def test_a_databricks_class_that_needs_more_than_a_rerun_is_not_healed_in_adf(message: str) -> None:
    result = CLASSIFIER.classify_text(message, service="adf", error_code="3204")
    assert not result.remediable and result.error_type == "DatabricksResourceExhausted", result


@pytest.mark.parametrize(
    ("service", "message"),
    [
        # a pool someone paused: resumed by a person first
        (
            "adf",
            "ErrorCode=SqlFailedToConnect,'Message=Cannot connect to SQL Database.,''Type=Microsoft.Data.SqlClient."
            "SqlException,Message=Can not connect to the SQL pool since it is paused. Please resume the SQL pool and "
            "try again.,SqlErrorNumber=42108,Class=16,'",
        ),
        # a broadcast that takes longer than spark.sql.broadcastTimeout, and a shuffle block past Netty's frame
        (
            "databricks",
            "java.util.concurrent.TimeoutException: Futures timed out after [300 seconds] at org.apache.spark.sql."
            "execution.exchange.BroadcastExchangeExec.doExecuteBroadcast(BroadcastExchangeExec.scala:212)",
        ),
        (
            "databricks",
            "org.apache.spark.shuffle.FetchFailedException: Adjusted frame length exceeds 2147483647: 3407704170 - "
            "discarded",
        ),
    ],
)
def test_a_setting_or_a_size_behind_transient_words_vetoes(service: str, message: str) -> None:
    result = CLASSIFIER.classify_text(message, service=service)
    assert not result.remediable, result


@pytest.mark.parametrize(
    ("message", "code"),
    [
        # a Key Vault-backed secret scope the workspace cannot read
        (
            "com.databricks.common.client.DatabricksServiceHttpClientException: INVALID_STATE: Databricks could not "
            "access keyvault: https://kv-fin-prd.vault.azure.net/.",
            "INVALID_STATE",
        ),
        # a management lock on the managed resource group, under a launch failure
        (
            "Cloud Provider Launch Failure: A cloud provider error was encountered while setting up the cluster. Azure "
            "error code: ScopeLocked. Azure error message: The scope '/subscriptions/1/resourceGroups/rg' cannot "
            "perform write operation because following scope(s) are locked. Please remove the lock and try again.",
            "CLOUD_PROVIDER_LAUNCH_FAILURE",
        ),
        # TLS refused by SQL Server's JDBC driver, said as no response
        (
            "com.microsoft.sqlserver.jdbc.SQLServerException: The driver could not establish a secure connection to "
            'SQL Server by using Secure Sockets Layer (SSL) encryption. Error: "SQL Server did not return a response.',
            None,
        ),
        # a module built for NumPy 1.x in a NumPy 2 environment, under a kernel that stopped answering
        (
            "Fatal error: The Python kernel is unresponsive.\n\nA module that was compiled using NumPy 1.x cannot be "
            "run in\nNumPy 2.0.1 as it may crash.",
            None,
        ),
        # a statement past the timeout set for it
        (
            "databricks.sql.exc.ServerOperationError: [QUERY_EXECUTION_TIMEOUT_EXCEEDED] Query execution was cancelled "
            "due to exceeding the timeout (300s). SQLSTATE: 57KD0",
            None,
        ),
        # an init script's failure under the job's wait for the cluster: the wait's words are no why
        (
            "Run result unavailable: job failed with error message Unexpected failure while waiting for the cluster "
            "(0921-2) to be ready: Cluster 0921-2 is in unexpected state Terminated: INIT_SCRIPT_FAILURE: "
            "databricks_error_message:Cluster scoped init script abfss://init@st.dfs.core.windows.net/a.sh failed: "
            "Script exit status is non-zero",
            "INIT_SCRIPT_FAILURE",
        ),
    ],
)
def test_a_permanent_cause_under_the_platforms_transient_words_vetoes(message: str, code: str | None) -> None:
    result = CLASSIFIER.classify_text(message, service="databricks", error_code=code)
    assert not result.remediable and result.vetoed_by, result


def test_a_set_of_values_is_no_instruction() -> None:
    # "Set(orders-0, ...)" in a Kafka condition is a Scala set's rendering, not "set ..." the verb.
    assert instruction("topic-partitions for pre-fetched offset: set(orders-0, orders-1).") is None
    assert instruction("the query timed out: set spark.sql.broadcasttimeout to 600.") is not None


@pytest.mark.parametrize(
    "message",
    [
        "ErrorCode=SqlOperationFailed,'Message=The transaction log for database 'dw_staging' is full due to "
        "'ACTIVE_TRANSACTION'. The wait operation timed out.'",
        "ERROR [HY000] [Microsoft][MySQL] Lost connection to MySQL server during query. Got a packet bigger than "
        "'max_allowed_packet' bytes",
        "Call to provided Azure function 'ProcessBatch' failed with status-'InternalServerError' and message - "
        "'Microsoft.Azure.WebJobs.Host.FunctionTimeoutException: Timeout value of 00:05:00 was exceeded by function'.",
        "The HttpStatusCode 500 indicates failure. Throttled: The attempted operation is prohibited because it "
        "exceeds the list view threshold.",
        "The HttpStatusCode 500 indicates failure. Transaction cancelled: maximum execution time exceeded. "
        "Retry later.",
        "Operation on Webhook failed: The job has been stopped because it reached the fair share limit of job "
        "execution more than 3 times. Service unavailable.",
    ],
)
def test_a_limit_a_rerun_meets_again_vetoes_under_transient_words(message: str) -> None:
    result = CLASSIFIER.classify_text(message, service="adf", error_code="2200")
    assert not result.remediable and result.vetoed_by, result


@pytest.mark.parametrize(
    ("message", "heals"),
    [
        # replicas between primaries or short of live ones
        (
            "com.mongodb.MongoNotPrimaryException: Command failed with error 10107 (NotWritablePrimary): 'not primary' "
            "on server shard-00-00:27017.",
            True,
        ),
        (
            "com.datastax.oss.driver.api.core.servererrors.UnavailableException: Not enough replicas available for "
            "query at consistency LOCAL_QUORUM (2 required but only 1 alive)",
            True,
        ),
        # contention that frees, in Redshift's, Oracle's and Service Bus's words
        (
            "java.sql.SQLException: [Amazon](500310) Invalid operation: 1023 Details: Serializable isolation violation "
            "on table - 156089",
            True,
        ),
        ("java.sql.SQLException: ORA-01466: unable to read data - table definition has changed", True),
        (
            "azure.servicebus.exceptions.MessageLockLostError: The lock supplied is invalid. Either the lock expired, "
            "or the message has already been removed from the queue.",
            True,
        ),
        (
            "azure.servicebus.exceptions.SessionCannotBeLockedError: The requested session 'tenant-0042' cannot be "
            "accepted. It may be locked by another receiver.",
            True,
        ),
        # while a message over the link's size limit does not pass
        (
            "azure.servicebus.exceptions.MessageSizeExceededError: The received message (size:301265 bytes) exceeds "
            "the limit (262144 bytes) currently allowed on the link. The service is busy.",
            False,
        ),
    ],
)
def test_engines_words_for_replicas_contention_and_sizes(message: str, heals: bool) -> None:
    result = CLASSIFIER.classify_text(message, service="databricks")
    assert result.remediable is heals, result


@pytest.mark.parametrize(
    ("service", "message"),
    [
        # a waiter that gave up while the run goes on: a rerun would run it twice
        (
            "databricks",
            "TimeoutError: timed out after 0:20:00: current status: RunLifeCycleState.RUNNING",
        ),
        (
            "databricks",
            "Error: Timeout: Command [ac708c17] Context [4657] Cluster [0209-1]: Current state of command is Running",
        ),
        # the Databricks CLI's waiter, its state written bare
        ("databricks", "Error: timed out after 2h0m0s: current status: RUNNING\n  run_id=883102277461"),
        # a query too complex to compile, a profile's read limit, a consumer slower than its poll interval
        (
            "adf",
            "ErrorCode=SqlOperationFailed,'Message=Internal error: An expression services limit has been reached. "
            "Please look for potentially complex expressions in your query, and try to simplify them.'",
        ),
        ("adf", "ErrorCode=UserErrorFailedToReadOracleData,'Message=ORA-02395: exceeded call limit on IO usage'"),
        (
            "databricks",
            "kafka.errors.CommitFailedException: CommitFailedError: Commit cannot be completed since the group has "
            "already rebalanced. This means that the time between subsequent calls to poll() was longer than the "
            "configured max_poll_interval_ms, which typically implies that the poll loop is spending too much time "
            "message processing. Timed out.",
        ),
    ],
)
def test_a_waiter_that_gave_up_or_a_limit_met_again_vetoes(service: str, message: str) -> None:
    result = CLASSIFIER.classify_text(message, service=service)
    assert not result.remediable and result.vetoed_by, result


def test_a_delta_conflict_in_an_adf_activity_is_contention_a_rerun_passes() -> None:
    # Writers colliding frees up as they finish: on Databricks DatabricksResourceExhausted (the corpus's label),
    # in an ADF activity ThrottlingError, which reruns it (autoheal/domain/service_classes.py).
    message = (
        "Operation on target NB_Merge failed: [DELTA_CONCURRENT_WRITE] ConcurrentWriteException: A concurrent "
        "transaction has written new data since the current transaction read the table. Please try the operation again."
    )
    adf = CLASSIFIER.classify_text(message, service="adf", error_code="3204")
    assert adf.remediable and adf.error_type == "ThrottlingError", adf
    databricks = CLASSIFIER.classify_text(message, service="databricks")
    assert databricks.remediable and databricks.error_type == "DatabricksResourceExhausted", databricks


def test_a_quantity_of_401_is_no_status_and_a_full_entity_no_throttle() -> None:
    # SQL's 10929: "the current usage for the database is 401. However, the server is currently too busy".
    busy = (
        "Resource ID : 1. The request minimum guarantee is 0, maximum limit is 400 and the current usage for the "
        "database is 401. However, the server is currently too busy to support requests greater than 400."
    )
    assert CLASSIFIER.classify_text(busy, service="adf", error_code="2200").remediable
    assert not CLASSIFIER.classify_text("HTTP 401 Unauthorized. Server is busy.", service="adf").remediable
    full = (
        "Azure.Messaging.ServiceBus.ServiceBusException: The maximum entity size has been reached or exceeded for "
        "Topic: 'SB:TOPIC:INVOICES-OUT'. (QuotaExceeded)"
    )
    assert not CLASSIFIER.classify_text(full, service="adf").remediable


@pytest.mark.parametrize(
    "message",
    [
        "ERROR [HY000] [Teradata][ODBC Teradata Driver][Teradata Database](-2646)No more spool space. Please do not "
        "resubmit the last request. The request timed out.",
        "A database operation failed: The query requested memory that exceeds the maximum configuration limit in "
        "workload group 'default'. Contact the server administrator. Timeout expired.",
        "com.google.api.gax.rpc.ResourceExhaustedException: io.grpc.StatusRuntimeException: RESOURCE_EXHAUSTED: "
        "a single table row is larger than the maximum message size",
    ],
)
def test_a_server_that_says_not_to_resubmit_or_a_size_past_its_limit_vetoes(message: str) -> None:
    result = CLASSIFIER.classify_text(message, service="adf")
    assert not result.remediable and result.vetoed_by, result


@pytest.mark.parametrize(
    ("message", "heals"),
    [
        # a day's or a month's allowance spent: hours to wait, more than any retry the catalog gives
        (
            "ERROR [HY000] [Microsoft][Xero] (20) Error while attempting to use REST API: HTTP 429 Too Many Requests. "
            "Rate limit exceeded. X-Rate-Limit-Problem: day; Retry-After: 51873",
            False,
        ),
        (
            'Google Ads API request failed: Status(StatusCode="ResourceExhausted", Detail="Too many requests. Retry in '
            '62314 seconds.")',
            False,
        ),
        (
            "requests.exceptions.HTTPError: 429 Client Error: Too Many Requests. (headers: X-RateLimit-Limit-Month: "
            "100000, X-RateLimit-Remaining-Month: 0)",
            False,
        ),
        # a minute's window passes
        ("HTTP 429 Too Many Requests. Rate limit exceeded. Retry-After: 30", True),
        ("Too many requests. Retry in 45 seconds.", True),
    ],
)
def test_a_rate_limit_whose_window_is_a_day_or_a_month_is_not_waited_out(message: str, heals: bool) -> None:
    result = CLASSIFIER.classify_text(message, service="adf")
    assert result.remediable is heals, result


def test_a_jvm_wrapper_built_around_its_cause_does_not_decide() -> None:
    """Throwable(cause) prints the cause as its message: the wrapper's class is no user-code sign, the cause is."""
    wrapped = CLASSIFIER.classify_text(
        "Lost task 7.0 in stage 5.0 (TID 135): java.lang.IllegalStateException: com.microsoft.azure.documentdb."
        'DocumentClientException: {"Errors":["Partition key range is finishing split and is not available for '
        'reads/writes."]} StatusCode: Gone',
        service="databricks",
    )
    assert wrapped.remediable and wrapped.error_type == "InternalServerError", wrapped
    own = CLASSIFIER.classify_text(
        "java.lang.IllegalStateException: Connection pool shut down. Service unavailable, retrying.",
        service="databricks",
    )
    assert not own.remediable and own.vetoed_by and "illegalstateexception" in own.vetoed_by, own
