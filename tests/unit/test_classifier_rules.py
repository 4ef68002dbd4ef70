"""The signs added in the sixth pass, each with messages written here for it (not corpus lines): the
cause classes the development failures belonged to, in wording of their own, and the transient wording
around them that must not heal."""

from __future__ import annotations

import pytest

from autoheal.domain.catalog import load_catalog
from autoheal.domain.classifier import CODE, RuleClassifier

CLASSIFIER = RuleClassifier(load_catalog())


@pytest.mark.parametrize(
    ("service", "message", "sign"),
    [
        # A service's own firewall, named between the words that block.
        ("adf", "Request from 20.1.2.3 was blocked by the storage account firewall. Retry later.", "network"),
        ("databricks", "The workspace is not accessible from the current network; the request timed out.", "network"),
        ("adf", "Private endpoint for the vault is not properly configured: connection timed out.", "network"),
        # TLS refused: protocol, cipher or certificate, whatever the outer words say.
        ("adf", "Connection reset while reading: javax.net.ssl: Received fatal alert: protocol_version", "certificate"),
        ("databricks", "SSL error (handshake_failure) talking to the broker, retrying", "certificate"),
        ("adf", "Certificate chain building failed for host db01; the operation timed out.", "certificate"),
        # A statement's own syntax.
        ("adf", "SqlException: Incorrect syntax near the keyword 'FROM'. Please retry.", "user-code"),
        # A required setting left out.
        ("databricks", "Option 'checkpointLocation' is required for this sink.", "configuration"),
        ("adf", "The linked service property 'url' is not specified. Try again later.", "configuration"),
        ("adf", "Parameter 'folderPath' is null or empty.", "configuration"),
        # A library built for another runtime: the exception's documented meaning (knowledge/exceptions.toml).
        (
            "databricks",
            "java.lang.NoSuchMethodError: scala.Predef$.refArrayOps; service unavailable",
            "NoSuchMethodError",
        ),
        (
            "databricks",
            "Caused by: java.lang.NoSuchFieldError: WRITE_DATES_AS_TIMESTAMPS; driver restarted",
            "NoSuchFieldError",
        ),
        ("databricks", "This connector jar is not compatible with the runtime version 14.3.", "configuration"),
        # Offers, ordering and sizes a retry does not change.
        ("adf", "The SKU requested is not available in this region. Please try again.", "configuration"),
        ("adf", "The schedule trigger needs to be stopped first before it can be changed.", "configuration"),
        ("adf", "There is already an object named 'dim_date' in the database.", "configuration"),
        ("adf", "The payload exceeds the maximum allowed request size of 4 MB; retry.", "configuration"),
        # Seventh group (sixth corpus pass): resource governance of the job's own work, full storage, read-only
        # targets, a setting the message names, a class version mismatch, a value that does not match.
        ("adf", "The session has been terminated because of excessive lock usage; retry later.", "configuration"),
        ("adf", "Write failed: the target table is read-only. Service unavailable.", "configuration"),
        ("adf", "Cannot write spill file: No space left on device (timeout while flushing)", "configuration"),
        ("databricks", "Task failed; to fix this, increase spark.sql.broadcastTimeout and retry.", "configuration"),
        # The class version mismatch is now the exception's documented meaning (knowledge/exceptions.toml).
        (
            "databricks",
            "java.io.InvalidClassException: com.acme.Model; local class incompatible",
            "InvalidClassException",
        ),
        ("adf", "The row key does not match the value specified in the request URI. Please retry.", "configuration"),
        (
            "adf",
            "Cannot create the pool: it would exceed the allowed vCore quota of 200. Try again.",
            "quota-never-fits",
        ),
        ("adf", "The file share has reached its storage limit; the request timed out.", "quota-never-fits"),
        # Eighth group: a TLS negotiation cut short, an administrator's pause, a setting to change, a full
        # filegroup, an object name that does not resolve, a firewall that does not trust the caller.
        ("adf", "An error occurred during the pre-login handshake: connection reset by peer", "certificate"),
        ("adf", "The warehouse has been paused; no new connections will be allowed. Retry later.", "configuration"),
        (
            "adf",
            "Increase the configured value of 'max worker threads' (server configuration option).",
            "configuration",
        ),
        ("adf", "The 'ARCHIVE' filegroup is full; the bulk load timed out.", "configuration"),
        ("adf", "Msg 208: Invalid object name 'staging.events'. The service is busy.", "missing-object"),
        ("adf", "Client address 10.4.0.7 is not authorized and caller is not a trusted service", "network"),
        # Ninth group (ninth corpus pass): a client or service that declares the failure beyond recovery,
        # whatever network words surround it (an exception name or prose).
        ("databricks", "thrift.NonRecoverableTransportError: connection reset by peer", "not-recoverable"),
        (
            "adf",
            "An unrecoverable error occurred while reading the response; the network is unstable.",
            "not-recoverable",
        ),
        ("databricks", "Request failed: this request can never succeed (service unavailable).", "not-recoverable"),
    ],
)
def test_a_never_cause_vetoes_the_transient_words_around_it(service: str, message: str, sign: str) -> None:
    result = CLASSIFIER.classify_text(message, service=service)
    assert not result.remediable, (message, result)
    assert result.vetoed_by is not None and result.rule.startswith("veto:"), (message, result)
    assert sign in result.rule, (message, result.rule)


@pytest.mark.parametrize(
    "message",
    [
        "Connection to the broker was reset by the remote host.",  # no TLS refusal named
        "The gateway timed out waiting for a response.",
        "The cluster is busy; the request is required to be retried later.",  # 'required' of no setting
        "Table 'orders' is locked by another transaction; try again.",
        # Advice a service appends to every failure of a kind is no evidence of the cause.
        "Cannot connect to the database. Check the linked service configuration is correct.",
        # A failure said to be recoverable is no failure beyond recovery.
        "A recoverable error occurred: the connection was reset; the client retries.",
    ],
)
def test_transient_wording_without_those_causes_is_not_vetoed(message: str) -> None:
    assert CLASSIFIER.classify_text(message, service="adf").vetoed_by is None


def test_a_stated_http_status_outweighs_an_activity_code_of_several_causes() -> None:
    """ADF 4125 stands for several causes; the status the endpoint answered is stated evidence (a class name
    in free text is no wording, so only the stated status speaks)."""
    result = CLASSIFIER.classify_text(
        "Request sent to the scoring service for operation 'run' failed with http status code 'InternalServerError'.",
        service="adf",
        error_code="4125",
    )
    assert result.remediable and result.confidence == CODE and result.rule == "code:InternalServerError", result


@pytest.mark.parametrize(
    ("message", "code"),
    [
        (
            '{"status":"Failed","error":{"code":"ProvisioningFailed","message":"The operation ended in state '
            '\'Failed\'.","details":[{"code":"InternalServerError","message":"Exception of type '
            "'Contoso.Provider.Exception' was thrown.\"}]}}",
            "InternalServerError",
        ),
        ('{"error": {"code": "ServiceUnavailable", "message": "Try the request again later."}}', "ServiceUnavailable"),
    ],
)
def test_an_error_body_code_is_the_status_the_service_answered(message: str, code: str) -> None:
    """An Azure error body's code is the sub-status of the HTTP answer (the REST API guidelines' error
    responses): stated, as 'Response status code: ...' is."""
    result = CLASSIFIER.classify_text(message, service="databricks")
    assert result.remediable and result.confidence == CODE, result
    assert any(f"code {code}:" in line for line in result.evidence), result


def test_an_error_body_code_does_not_outvote_a_never_cause_in_its_message() -> None:
    message = '{"error":{"code":"InternalServerError","message":"Login failed for user \'loader\'."}}'
    assert CLASSIFIER.classify_text(message, service="adf").vetoed_by, message


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("The engine is currently busy; the request will be accepted later.", "ThrottlingError"),
        ("Too many concurrent scale operations in progress for this server.", "ThrottlingError"),
        ("Process 88 was deadlocked with another session and chosen as the deadlock victim.", "ThrottlingError"),
        ("Cannot obtain a LOCK resource at this time; rerun your statement when the load drops.", "ThrottlingError"),
        ("The region does not have sufficient capacity for this size right now.", "ThrottlingError"),
    ],
)
def test_a_busy_service_is_throttling(message: str, kind: str) -> None:
    result = CLASSIFIER.classify_text(message, service="adf")
    assert (result.error_type, result.remediable) == (kind, True), result


def test_a_quota_whose_numbers_show_it_fits_is_not_a_quota_that_never_fits() -> None:
    """'would exceed ... quota' with the numbers Azure gives (current usage, additional required): the
    numbers decide, not the words."""
    message = (
        "Operation would exceed the approved Total Regional Cores quota. Current Limit: 350, Current Usage: 300, "
        "Additional Required: 8"
    )
    assert CLASSIFIER.classify_text(message, service="databricks").rule != "veto:quota-never-fits"


@pytest.mark.parametrize(
    ("message", "heals"),
    [
        # Synapse's Spark capacity check: within what the pool or workspace has, the cores free up.
        (
            "Your Spark job requested 24 vCores. However, the pool is consuming 180 vCores out of available "
            "200 vCores.",
            True,
        ),
        (
            "Your Spark job requested 64 vCores. However, the workspace only has 8 vCores available out of quota "
            "of 400 vCores.",
            True,
        ),
        # Beyond everything there is: no wait makes it fit.
        (
            "Your Spark job requested 48 vCores. However, the workspace has a 16 core limit. Try reducing the request.",
            False,
        ),
        (
            "Your Spark job requested 320 vCores. However, the pool is consuming 0 vCores out of available 96 vCores.",
            False,
        ),
    ],
)
def test_a_spark_pool_request_heals_only_when_the_numbers_show_it_fits(message: str, heals: bool) -> None:
    result = CLASSIFIER.classify_text(message, service="adf")
    assert (result.error_type, result.remediable) == ("ThrottlingError", heals), result
    assert heals or result.rule == "veto:quota-never-fits", result


@pytest.mark.parametrize(
    ("message", "kind", "sign"),
    [
        # The server no longer holds the SQL session (idle timeout, warehouse restart); a rerun opens a new one.
        (
            "Error running query: Invalid SessionHandle: SessionHandle [0f9c2a71-5b3e-4d8a-9e61-7c2b1d4e8f03]",
            "DatabricksTimeoutError",
            "session-expired",
        ),
        (
            "requirement failed: Session handle: SessionHandle [b2] has not been initialized or had already closed.",
            "DatabricksTimeoutError",
            "session-expired",
        ),
        (
            "HiveSQLException: invalid session handle 7e1d; the server expired it",
            "DatabricksTimeoutError",
            "session-expired",
        ),
        # An executor's heartbeat-failure exit (Spark's Executor.scala): the driver did not answer; a rerun passes.
        (
            "Executor 7 exited: unable to send heartbeats to driver more than 40 times",
            "DatabricksDriverNotResponding",
            "driver-not-responding",
        ),
        (
            "Executor self-exiting: failed to send heartbeat to the driver, so it stopped.",
            "DatabricksDriverNotResponding",
            "driver-not-responding",
        ),
        (
            "Task lost: heartbeats to driver timed out after 120000 ms",
            "DatabricksDriverNotResponding",
            "driver-not-responding",
        ),
        # PySpark's bridge to the driver's JVM finds the other end dead (py4j's clientserver.py).
        (
            "py4j.protocol.Py4JNetworkError: Answer from Java side is empty",
            "DatabricksDriverNotResponding",
            "driver-not-responding",
        ),
        (
            "py4j.protocol.Py4JNetworkError: An error occurred while trying to connect to the Java server "
            "(127.0.0.1:38211)",
            "DatabricksDriverNotResponding",
            "driver-not-responding",
        ),
        ("The statement was cancelled due to a topology change in the pool.", "InternalServerError", "server-error"),
        # A control plane not ready yet (the Databricks SDKs retry these).
        (
            "worker env WorkerEnvId(workerenv-7) not found while creating the cluster",
            "InternalServerError",
            "server-error",
        ),
        ("There is no worker environment with id 42 in this workspace yet", "InternalServerError", "server-error"),
        (
            "com.databricks.backend.manager.util.ClusterNotReadyException: cluster 0102 is not ready",
            "InternalServerError",
            "server-error",
        ),
    ],
)
def test_transient_wording_names_its_class(message: str, kind: str, sign: str) -> None:
    result = CLASSIFIER.classify_text(message, service="databricks")
    assert (result.error_type, result.remediable, result.rule) == (kind, True, f"sign:{sign}"), result


@pytest.mark.parametrize(
    ("service", "message", "kind", "sign"),
    [
        # getaddrinfo(3)'s EAI_AGAIN, the name server's temporary failure, as Node prints it; ENOTFOUND stays a veto.
        (
            "databricks",
            "FetchError: request to https://adb-1204.13.azuredatabricks.net/sql/1.0/warehouses/6e12 failed, reason: "
            "getaddrinfo EAI_AGAIN adb-1204.13.azuredatabricks.net",
            "HttpConnectionFailed",
            "connection-dropped",
        ),
        # An operation another caller started on the same resource: it ends.
        (
            "adf",
            "Error calling the endpoint 'https://api.powerbi.com/v1.0/myorg/groups/b14e/datasets/7a9c/refreshes'. "
            "Response status code: 'ClientErrorCode'. More details: Exception message: '{\"error\":{\"code\":"
            "\"InvalidRequest\",\"message\":\"Invalid dataset refresh request. Another refresh request is already "
            "executing\"}}'.",
            "ThrottlingError",
            "resource-exhausted",
        ),
        (
            "adf",
            "Response status code: 'ClientError - 409 Conflict'. More details: Exception message: 'Another indexer "
            "invocation is currently in progress; concurrent invocations are not allowed.'",
            "ThrottlingError",
            "resource-exhausted",
        ),
        # YARN's word for a node it lost under a container.
        (
            "adf",
            "Hadoop job failed with exit code '1'. Application application_17_2231 failed 2 times due to AM Container "
            "exited with exitCode: -100. Diagnostics: Container released on a *lost* node.",
            "ClusterUnexpectedTermination",
            "cluster-terminated",
        ),
        # A managed private endpoint still being made is a wait, not a network to change.
        (
            "adf",
            "The managed private endpoint 'mpe-sqlmi' of managed virtual network 'default' is in provisioning state "
            "'Provisioning'. Private endpoint provisioning in progress, please retry after the provisioning completes.",
            "InternalServerError",
            "server-error",
        ),
    ],
)
def test_a_state_that_ends_is_not_a_setting_to_change(service: str, message: str, kind: str, sign: str) -> None:
    result = CLASSIFIER.classify_text(message, service=service)
    assert (result.error_type, result.remediable, result.rule) == (kind, True, f"sign:{sign}"), result


@pytest.mark.parametrize(
    "message",
    [
        "Error: getaddrinfo ENOTFOUND adb-1204.13.azuredatabricks.net",
        "The private endpoint 'pe-sql' is not properly configured; please retry.",
        "Connection refused: public network access is disabled and the private endpoint is not approved.",
    ],
)
def test_a_name_that_does_not_resolve_or_a_private_endpoint_to_set_up_still_vetoes(message: str) -> None:
    result = CLASSIFIER.classify_text(message, service="adf")
    assert not result.remediable and result.rule == "veto:network-configuration", result


def test_an_executor_lost_for_reasons_spark_says_are_not_the_tasks_is_a_cluster_fault() -> None:
    """Spark's ExecutorLostFailure renders exitCausedByApp (TaskEndReason.scala): an exit "unrelated to the running
    tasks" is a node lost, not the job's memory, which "caused by one of the running tasks" still is."""
    lost = (
        "org.apache.spark.SparkException: Job aborted due to stage failure: Task 31 in stage 4.0 failed 4 times, most "
        "recent failure: Lost task 31.3 in stage 4.0 (TID 212) (10.139.64.8 executor 5): ExecutorLostFailure "
        "(executor 5 exited {how}) Reason: Remote RPC client disassociated."
    )
    unrelated = CLASSIFIER.classify_text(lost.format(how="unrelated to the running tasks"), service="databricks")
    assert (unrelated.error_type, unrelated.remediable) == ("ClusterUnexpectedTermination", True), unrelated
    assert unrelated.rule == "code:ExecutorLostFailure.UNRELATED_TO_THE_RUNNING_TASKS", unrelated
    caused = CLASSIFIER.classify_text(lost.format(how="caused by one of the running tasks"), service="databricks")
    assert (caused.error_type, caused.rule) == ("DatabricksResourceExhausted", "code:ExecutorLostFailure"), caused


def test_an_expired_session_beside_a_rejected_login_is_the_login() -> None:
    result = CLASSIFIER.classify_text(
        "Invalid SessionHandle after re-login: login failed for user 'etl'", service="databricks"
    )
    assert not result.remediable and result.rule == "veto:credentials", result


def test_a_heartbeat_failure_beside_an_out_of_memory_kill_is_not_a_driver_fault() -> None:
    result = CLASSIFIER.classify_text(
        "Container killed with exit code 137: unable to send heartbeats to driver", service="databricks"
    )
    assert result.rule != "sign:driver-not-responding", result


def test_a_workspace_without_classic_compute_is_not_waited_for() -> None:
    """A serverless-only workspace answers this for good; the SDKs' retry of it is no evidence here."""
    result = CLASSIFIER.classify_text(
        "Current organization 99 does not have any associated worker environments", service="databricks"
    )
    assert not result.remediable, result
