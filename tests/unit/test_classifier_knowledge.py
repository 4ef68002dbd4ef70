"""Cases written here (not corpus lines) for the knowledge added in the fifth corpus pass: each tests a
class of wording the documentation describes, and that a never-class cause still beats transient words."""

from __future__ import annotations

import pytest

from autoheal.domain.catalog import load_catalog
from autoheal.domain.classifier import RuleClassifier

CLASSIFIER = RuleClassifier(load_catalog())


def _text(message: str, service: str = "databricks", code: str | None = None) -> tuple[str, bool, str]:
    result = CLASSIFIER.classify_text(message, service=service, error_code=code)
    return result.error_type, result.remediable, result.rule


@pytest.mark.parametrize(
    ("message", "state_class"),
    [
        # A Spark condition the tables do not document: its SQLSTATE class decides, and "try again" does not.
        (
            "[INVALID_URL_FORMAT] The value 'ht tp://x' is not a URL. Please correct it and try again. SQLSTATE: 22P02",
            "DataQuality",
        ),
        ("[NOT_A_KNOWN_CLASS] The statement cannot be analysed; please retry. SQLSTATE: 42P99", "CodeError"),
        (
            "[SOME_FEATURE_GAP] Not supported on this compute. Retry on another cluster. SQLSTATE: 0A000",
            "InvalidConfiguration",
        ),
        ("[SOME_GRANT_CHECK] You may not read this table. SQLSTATE: 42501", "PermissionDenied"),
    ],
)
def test_a_never_sqlstate_class_vetoes_retry_wording(message: str, state_class: str) -> None:
    kind, remediable, rule = _text(message)
    assert not remediable
    assert kind == state_class
    assert rule.startswith("veto:")


def test_a_documented_spark_condition_beats_its_sqlstate_class() -> None:
    # DELTA_CONCURRENT_APPEND is SQLSTATE class 2D but documented as a conflict that a rerun clears.
    message = "[DELTA_CONCURRENT_APPEND] Transaction conflict detected. Please try the operation again. SQLSTATE: 2D521"
    kind, remediable, _ = _text(message)
    assert remediable and kind == "DatabricksResourceExhausted"


@pytest.mark.parametrize(
    "message",
    [
        "Please make sure the input file is well formed and try again.",
        "Please check the linked service credentials and try again.",
        "Please consider providing a service principal with the required role and try again.",
        "Verify the value of the parameter, then retry.",
    ],
)
def test_try_again_after_an_instruction_is_no_transient_sign(message: str) -> None:
    assert not _text(message, service="adf")[1]


@pytest.mark.parametrize(
    ("message", "service", "kind"),
    [
        ("Operation could not be completed within the specified time.", "adf", "GatewayTimeout"),
        ("The server did not receive a response from the upstream service.", "adf", "GatewayTimeout"),
        (
            "Request took longer than the allowed window while waiting on the endpoint.",
            "databricks",
            "DatabricksTimeoutError",
        ),
        (
            "Retry request would exceed the retry policy max retry duration of 600 seconds",
            "databricks",
            "DatabricksTimeoutError",
        ),
    ],
)
def test_waits_that_ran_out_without_the_word_timeout(message: str, service: str, kind: str) -> None:
    assert _text(message, service=service)[:2] == (kind, True)


@pytest.mark.parametrize(
    "message",
    [
        "org.apache.spark.shuffle.FetchFailedException: Failed to connect to 10.1.2.3:7337",
        "org.apache.spark.shuffle.MetadataFetchFailedException: Missing an output location for shuffle 7",
    ],
)
def test_shuffle_fetch_failures_are_lost_executors(message: str) -> None:
    assert _text(message)[:2] == ("ClusterUnexpectedTermination", True)


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        (
            "We currently do not have sufficient Standard_E8s_v3 capacity in the region you requested.",
            "DatabricksResourceExhausted",
        ),
        ("The cluster has reached the maximum number of execution contexts.", "DatabricksResourceExhausted"),
        ("The background threadpool cannot accept new tasks right now.", "DatabricksResourceExhausted"),
        ("Transaction conflict detected: a concurrent update modified the table.", "DatabricksResourceExhausted"),
    ],
)
def test_capacity_and_contention_that_free_up(message: str, kind: str) -> None:
    assert _text(message)[:2] == (kind, True)


@pytest.mark.parametrize(
    "message",
    [
        # Contention words next to a cause a person must fix: the cause wins.
        "Concurrent update to the log. Multiple streaming jobs detected on one checkpoint location.",
        "A concurrent write failed: Forbidden. The service principal does not have permission to write.",
        "The type of the property 'timeout' is incorrect. The expected type is String.",
        "Failed to read the content of the hive script. Error: 'The specified blob does not exist.'",
        "The access token is from the wrong tenant. Please retry.",
        "User admin is locked out. Service unavailable, try again later.",
        "The self-hosted integration runtime node 'SHIR-01' is not reachable by its name. Please retry.",
        "Call to provided Azure function 'Load' failed with status-'InternalServerError' and message - "
        "'Exception while executing function: Functions.Load'.",
    ],
)
def test_never_causes_beat_transient_words(message: str) -> None:
    assert not _text(message, service="adf")[1]


@pytest.mark.parametrize(
    "code", ["DF-Kusto-PartitionKeyMissed", "DF-Sink-InvalidTableName", "SomeConnectorUnsupportedAuthType"]
)
def test_an_undocumented_adf_code_named_by_a_configuration_fault_vetoes(code: str) -> None:
    kind, remediable, rule = _text("The operation failed. Please retry later.", service="adf", code=code)
    # The code's own words may name the fault first (the configuration sign); either way it vetoes.
    assert (kind, remediable) == ("InvalidConfiguration", False)
    assert rule in ("veto:adf-code-name", "veto:configuration")


def test_an_adf_code_that_says_a_file_is_missing_stays_transient() -> None:
    # A data file that has not arrived yet may still arrive: NotExist/NotFound names do not veto.
    _, remediable, _ = _text("The required Blob is missing.", service="adf", code="UserErrorSourceBlobNotExists")
    assert remediable


def test_a_termination_code_written_as_title_words_keeps_its_acronyms() -> None:
    result = CLASSIFIER.classify_text("Cluster terminated. Reason: Azure VM Extension Failure", service="databricks")
    assert "AZURE_VM_EXTENSION_FAILURE" in result.rule


@pytest.mark.parametrize(
    "message",
    [
        "Operation failed: 'Conflict', 409, HEAD, https://lake.dfs.core.windows.net/c/?action=getStatus&timeout=90",
        "Copy failed for source 'jdbc:sqlserver://db;loginTimeout=30;queryTimeout=600'.",
    ],
)
def test_a_timeout_written_as_a_setting_is_no_wait_that_ran_out(message: str) -> None:
    """Seventh corpus pass: a URL's timeout parameter read as the word timeout healed a configuration fault."""
    result = CLASSIFIER.classify_text(message, service="databricks")
    assert not result.remediable and not any("no-answer" in line for line in result.evidence), result


def test_a_timeout_event_beside_a_timeout_setting_is_still_one() -> None:
    kind, remediable, _rule = _text("The request timed out after 90 s (timeout=90).")
    assert remediable and kind == "DatabricksTimeoutError"


@pytest.mark.parametrize(
    "message",
    [
        "This endpoint does not support BlobStorageEvents or SoftDelete. The service is busy, retry later.",
        "The server doesn't support the requested protocol version; connection reset.",
    ],
)
def test_a_capability_the_target_lacks_vetoes(message: str) -> None:
    kind, remediable, rule = _text(message)
    assert not remediable and rule == "veto:configuration" and kind == "InvalidConfiguration", rule


def test_a_quotation_is_no_quota() -> None:
    """Eighth corpus pass: 'quota' inside 'quotation' read as capacity healed a syntax error."""
    result = CLASSIFIER.classify_text(
        "Msg 105, Level 15, State 1. Unclosed quotation mark after the character string 'x'."
    )
    assert not result.remediable, result
    assert CLASSIFIER.classify_text("The request was throttled: subscription quota reached, retry later.").remediable


def test_a_row_with_too_many_columns_is_data_under_an_unexpected_error() -> None:
    result = CLASSIFIER.classify_text(
        "Unexpected error encountered filling record reader buffer: "
        "HadoopExecutionException: Too many columns in the line."
    )
    assert not result.remediable and result.rule == "veto:data", result


_DATA, _SCHEMA = ("DataQuality", "data"), ("SchemaMismatch", "schema")


@pytest.mark.parametrize(
    ("message", "veto"),
    [
        # A check the job runs on its own rows, under transient words.
        (
            "Validation failed for batch 2025-03-11: 412 rows with null customer_id; the service is temporarily "
            "unavailable",
            _DATA,
        ),
        (
            "Activity failed because an inner activity failed; Error: Row count mismatch for dbo.FactSales, try "
            "again later",
            _DATA,
        ),
        # Conversions the engines could not make.
        (
            'Data Flow Task:Error: Data conversion failed. The data conversion for column "Name" returned status '
            "value 4.",
            _DATA,
        ),
        ("DataFormat.Error: We couldn't convert to Number. Details: abc. Service unavailable, please retry.", _DATA),
        ("snowflake.connector.errors.ProgrammingError: 100038 (22018): Numeric value 'abc' is not recognized", _DATA),
        (
            'java.sql.SQLException: Error #1204 while loading data into Redshift: "String length exceeds DDL length".',
            _DATA,
        ),
        # A column the statement names and the table lacks, or a type the two disagree on, no number quoted.
        (
            "pyodbc.ProgrammingError: ('42S22', \"[42S22] [Microsoft][ODBC Driver 18 for SQL Server][SQL Server]"
            "Invalid column name 'region_code'. (207) (SQLExecDirectW)\"); the connection was reset, retrying",
            _SCHEMA,
        ),
        ("ErrorCode=UserErrorOdbcOperationFailed,Message=Unknown column 'updated_at' in 'where clause'", _SCHEMA),
        ('ERROR: column "event_ts" is of type timestamp without time zone but expression is of type text', _SCHEMA),
        (
            "StreamingQueryException: Provided schema doesn't match to the schema for existing state! Try later.",
            _SCHEMA,
        ),
        ("google.api_core.exceptions.BadRequest: 400 Provided Schema does not match Table market.delistings.", _SCHEMA),
        ("Semantic error: 'where' operator: Failed to resolve column or scalar expression named 'EventTs'", _SCHEMA),
    ],
)
def test_the_records_own_faults_veto(message: str, veto: tuple[str, str]) -> None:
    """Rows a job's check rejects or a conversion fails on are data; a column or type the table does not hold is
    schema (autoheal/domain/records.py)."""
    kind, sign = veto
    result = CLASSIFIER.classify_text(message)
    assert (result.error_type, result.remediable, result.rule) == (kind, False, f"veto:{sign}"), result


@pytest.mark.parametrize(
    ("message", "remediable"),
    [
        # A noun is no instruction: the service asks for a later try (eighth corpus pass).
        ("The workspace cannot be modified during a scheduled platform update. Please try again later.", True),
        ("Service is being updated, retry later.", True),
        # A verb a person is told to do, wherever the sentence puts it.
        ("Unable to parse '1 dayz', double check the input value and try again.", False),
        ("You need to update the linked service password and try again.", False),
    ],
)
def test_try_again_after_an_instruction_or_after_a_noun(message: str, remediable: bool) -> None:
    assert CLASSIFIER.classify_text(message, service="databricks").remediable is remediable


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        # Spark's Kafka connector conditions (knowledge/spark_errors.toml), in messages written here: lost data
        # and offset options a person wrote veto whatever retry words follow.
        (
            "[KAFKA_DATA_LOSS.INITIAL_OFFSET_NOT_FOUND_FOR_PARTITIONS] Some data may have been lost. Reason: Cannot "
            "find initial offsets for partitions Set(events-3). The cluster may retry the stage.",
            "DataQuality",
        ),
        (
            "[KAFKA_TIMESTAMP_OFFSET_DOES_NOT_MATCH_ASSIGNED] Offsets do not match; the broker timed out.",
            "InvalidConfiguration",
        ),
        (
            "[UNRESOLVED_START_OFFSET_GREATER_THAN_END_OFFSET] Start 10 > end 5 for topic t; try again.",
            "InvalidConfiguration",
        ),
        ("[KAFKA_NULL_TOPIC_IN_DATA] Null topic in the rows; connection reset while writing.", "InvalidConfiguration"),
        # PySpark's own conditions a running job meets (knowledge/spark_errors.toml), in messages written here: the
        # environment, the user's functions and the rows they return, whatever transient words follow.
        (
            "[PYTHON_VERSION_MISMATCH] Python in worker has different version: 3.9 than that in driver: 3.12.",
            "InvalidConfiguration",
        ),
        (
            "[PACKAGE_NOT_INSTALLED] pandas >= 2.0.0 must be installed; however, it was not found. Retrying.",
            "InvalidConfiguration",
        ),
        (
            "[UDTF_EXEC_ERROR] User defined table function encountered an error in the 'eval' method: timed out",
            "CodeError",
        ),
        ("[FIELD_NOT_NULLABLE] Field is not nullable, but got None. The task will be retried.", "DataQuality"),
    ],
)
def test_spark_connector_and_pyspark_conditions_that_no_retry_fixes_veto(message: str, kind: str) -> None:
    result = CLASSIFIER.classify_text(message, service="databricks")
    assert (result.error_type, result.remediable) == (kind, False) and result.vetoed_by, result


def test_a_kafka_condition_documented_as_possibly_transient_is_not_vetoed() -> None:
    """The condition's own text: 'The error could be transient - restart your query, and report if you still
    see the same issue'; the table records a transient class that does not decide alone."""
    result = CLASSIFIER.classify_text(
        "[LOST_TOPIC_PARTITIONS_IN_END_OFFSET_WITH_TRIGGER_AVAILABLENOW] Some of partitions in Kafka topic(s) have "
        "been lost during running query with Trigger.AvailableNow.",
        service="databricks",
    )
    assert result.vetoed_by is None and result.error_type == "InternalServerError", result


@pytest.mark.parametrize(
    ("code", "message", "expected"),
    [
        # Azure Data Explorer's ingestion codes decide by the page's "Is permanent" column (error-codes.md).
        (
            "UpdatePolicy_UnknownError",
            "Ingestion into table Events failed in its update policy.",
            ("InternalServerError", True),
        ),
        (
            None,
            "Kusto ingestion failed: ErrorCode=General_AbandonedIngestion; the blob was not ingested.",
            ("InternalServerError", True),
        ),
        ("Download_UnknownError", "Could not fetch the source blob for ingestion.", ("InternalServerError", True)),
        (
            "Stream_ClosingQuoteMissing",
            "Ingestion failed; the service will retry the operation later.",
            ("DataQuality", False),
        ),
        (
            "BadRequest_TableAccessDenied",
            "Ingestion into table Events failed. Try again later.",
            ("PermissionDenied", False),
        ),
    ],
)
def test_kusto_ingestion_codes_decide_by_their_documented_permanence(
    code: str | None, message: str, expected: tuple[str, bool]
) -> None:
    error_type, remediable, rule = _text(message, service="adf", code=code)
    assert (error_type, remediable) == expected and rule.startswith(("code:", "veto:")), (error_type, rule)


@pytest.mark.parametrize(
    ("code", "message", "kind", "heals"),
    [
        # the data flow guide: an id column not mapped for update or delete, whatever the retry advice says
        (
            "DF-Cosmos-IdPropertyMissed",
            "'id' property should be mapped for delete and update operations. Retry.",
            "SchemaMismatch",
            False,
        ),
        # the connector guide's numeric codes: 20020 is WildcardPathSinkNotSupported
        ("20020", "The operation failed. Please retry later.", "InvalidConfiguration", False),
        # the data flow guide: cluster provisioning over the integration runtime's concurrent request limit
        (
            "4506",
            "Failed to provision cluster for '<activity>' because the request exceeded the limit.",
            "ThrottlingError",
            True,
        ),
        (
            "DF-Executor-InternalServerError",
            "Failed to execute dataflow with internal server error, please retry later.",
            "InternalServerError",
            True,
        ),
        # the SSIS integration runtime guide: a delete lock the customer placed
        (
            "VNetResourceGroupLockedDuringStart",
            "Failed to provision the IR. Please retry.",
            "InvalidConfiguration",
            False,
        ),
    ],
)
def test_the_guides_codes_decide(code: str, message: str, kind: str, heals: bool) -> None:
    assert _text(message, service="adf", code=code)[:2] == (kind, heals)


def test_a_synapse_message_number_is_its_own_not_a_user_defined_error() -> None:
    # Synapse numbers its own messages above 100000, where RAISERROR's user numbers are too.
    message = (
        "ErrorCode=SqlOperationFailed,'Type=System.Data.SqlClient.SqlException,Message=COPY statement failed,"
        "SqlErrorNumber=105208,Class=16,State=1,'"
    )
    assert _text(message, service="adf") == ("InvalidConfiguration", False, "veto:105208")


# The Azure platform references' codes (knowledge/azure_errors.toml).
_PLATFORM_REFERENCES = [
    # Entra's reference: a resource not in the tenant is a setting, a secret that expired a credential
    (
        "adf",
        "AADSTS500011: The resource principal named https://x.example was not found in the tenant.",
        "InvalidConfiguration",
        False,
    ),
    (
        "adf",
        "AADSTS7000222: The provided client secret keys for app '1f0c' are expired.",
        "PermissionDenied",
        False,
    ),
    # and its transient service errors pass
    ("adf", "AADSTS90006: The external service is temporarily unavailable.", "InternalServerError", True),
    # the VM error messages a cluster launch quotes: the platform's own network allocation failed
    (
        "databricks",
        "Cluster launch failed. azure_error_code: NetworkingInternalOperationError, "
        "azure_error_message: Unknown network allocation error.",
        "InternalServerError",
        True,
    ),
    # Resource Manager: the region takes no new resources for this subscription
    (
        "databricks",
        "Cluster launch failed. azure_error_code: RegionDoesNotAllowProvisioning",
        "InvalidConfiguration",
        False,
    ),
    # a SAS made for another service, and a sign-in over a retired TLS version, are settings (the corpus's
    # decisions, tests/data/corpus/README.md)
    (
        "adf",
        "ErrorCode: AuthorizationServiceMismatch This request isn't authorized to perform this operation "
        "using this service.",
        "InvalidConfiguration",
        False,
    ),
    (
        "adf",
        "AADSTS1002016: You are using TLS version 1.0, 1.1 and/or 3DES cipher which are deprecated.",
        "InvalidConfiguration",
        False,
    ),
    # Storage: the blob sits in the archive tier until someone rehydrates it
    (
        "adf",
        "Status: 409 ErrorCode: BlobArchived This operation is not permitted on an archived blob.",
        "InvalidConfiguration",
        False,
    ),
]

# The vendors' and messaging services' codes (salesforce_errors.toml, Synapse's in adf_error_codes.toml,
# Service Bus in azure_errors.toml and exceptions.toml, cosmos_db_errors.toml, snowflake_errors.toml, and the
# engines': oracle_errors.toml, postgres_errors.toml, mysql_errors.toml; autoheal/domain/vendors.py).
_VENDOR_CODES = [
    # the engines' own numbers: a deadlock passes, a wrong password stays, in each engine's form
    ("adf", "ORA-00060: deadlock detected while waiting for resource", "ThrottlingError", True),
    ("adf", "ORA-01017: invalid username/password; logon denied", "PermissionDenied", False),
    (
        "databricks",
        "org.postgresql.util.PSQLException: ERROR: deadlock detected. SQL state: 40P01",
        "DatabricksResourceExhausted",
        True,
    ),
    (
        "databricks",
        "psycopg2.errors.InvalidPassword: password authentication failed for user etl",
        "PermissionDenied",
        False,
    ),
    (
        "adf",
        "ERROR [HY000] [MySQL][ODBC 8.0(w) Driver][mysqld-8.0.32]Deadlock found when trying to get lock; try "
        "restarting transaction. ERROR 1213 (40001)",
        "ThrottlingError",
        True,
    ),
    (
        "databricks",
        "pymysql.err.OperationalError: (1045, \"Access denied for user 'etl'@'10.0.0.4'\")",
        "PermissionDenied",
        False,
    ),
    # Cosmos DB's sub-status says why: a partition that split passes, an identity without a data-plane role stays
    (
        "adf",
        "ErrorCode=CosmosDbSqlApiOperationFailed,Message=Response status code does not indicate success: Gone (410); "
        "Substatus: 1002; ActivityId: 3f4e; Reason: (The requested resource is no longer available at the server.)",
        "InternalServerError",
        True,
    ),
    (
        "databricks",
        'com.azure.cosmos.CosmosException: {"innerErrorMessage":"Request blocked by Auth","statusCode":403,'
        '"subStatusCode":5300}',
        "InvalidConfiguration",
        False,
    ),
    # Snowflake's numbers where the message names Snowflake: a wrong password, and a request the driver retried
    # until its time ran out
    (
        "databricks",
        "snowflake.connector.errors.OperationalError: 290503: 290503: HTTP 503: Service Unavailable",
        "InternalServerError",
        True,
    ),
    (
        "adf",
        "net.snowflake.client.jdbc.SnowflakeSQLException: 390100 (08004): Incorrect username or password was "
        "specified.",
        "PermissionDenied",
        False,
    ),
    # Salesforce's codes where the message names Salesforce: a field the query names that the object lacks,
    # whatever a field's name says
    (
        "adf",
        "ErrorCode=UserErrorOdbcOperationFailed,Message=ERROR [HY000] [Microsoft][Salesforce] (30) Error "
        "occurred while trying to execute a query: [SOAP error] INVALID_FIELD: SELECT Id, Retry_Throttled__c FROM "
        "Opportunity. No such column 'Retry_Throttled__c' on entity 'Opportunity'.",
        "SchemaMismatch",
        False,
    ),
    (
        "databricks",
        "simple_salesforce.exceptions.SalesforceExpiredSession: Expired session for https://x.my."
        "salesforce.com/services/data/v59.0/query/. Response content: [{'message': 'Session expired or invalid', "
        "'errorCode': 'INVALID_SESSION_ID'}]",
        "PermissionDenied",
        False,
    ),
    # Synapse's Spark codes by their prefix: the user's, and a system wait that ran out
    (
        "adf",
        "Spark job failed. Error code: Spark_User_ABFS_DirectoryNotFound. Please retry.",
        "InvalidConfiguration",
        False,
    ),
    (
        "adf",
        "Spark_System_MetaStore_ConnectionTimeOut: The connection to the metastore timed out.",
        "GatewayTimeout",
        True,
    ),
    # Service Bus: an entity that does not exist, and a quota that does not free, named as Databricks names it
    (
        "databricks",
        "Microsoft.Azure.ServiceBus.MessagingEntityNotFoundException: Put token failed. status-code: "
        "404, status-description: The messaging entity 'sb://x/orders' could not be found. Please retry.",
        "InvalidConfiguration",
        False,
    ),
    (
        "databricks",
        "Microsoft.ServiceBus.Messaging.StorageQuotaExceededException: the namespace is over its 1 TB quota",
        "DatabricksResourceExhausted",
        False,
    ),
]


@pytest.mark.parametrize(("service", "message", "kind", "heals"), [*_PLATFORM_REFERENCES, *_VENDOR_CODES])
def test_the_references_codes_decide(service: str, message: str, kind: str, heals: bool) -> None:
    assert _text(message, service=service)[:2] == (kind, heals)


def test_a_six_digit_number_is_snowflake_s_only_where_snowflake_is_named() -> None:
    said = CLASSIFIER.classify_text("Job 390100: failed after 3 attempts", service="databricks").evidence
    assert not any("snowflake_errors" in line for line in said)
    said = CLASSIFIER.classify_text("Snowflake: 390100 (08004): Incorrect username", service="adf").evidence
    assert any("snowflake_errors code 390100" in line for line in said)


def test_a_salesforce_word_is_read_as_salesforce_only_where_salesforce_is_named() -> None:
    said = CLASSIFIER.classify_text("{'error_code': 'BAD_REQUEST', 'message': 'bad'}", service="databricks").evidence
    assert not any("salesforce_errors" in line for line in said)
    said = CLASSIFIER.classify_text("Salesforce answered BAD_REQUEST: bad", service="adf").evidence
    assert any("salesforce_errors code BAD_REQUEST" in line for line in said)


@pytest.mark.parametrize(
    ("message", "kind", "heals"),
    [
        # every Spark and Delta condition where a message brackets it (knowledge/spark_conditions.toml): a path
        # that holds no Delta table is a setting, whatever the message adds
        (
            "[DELTA_NOT_A_DELTA_TABLE] abfss://x/orders is not a Delta table. Please retry.",
            "InvalidConfiguration",
            False,
        ),
        # a condition only Databricks defines: a pipeline's expectation that the data failed
        (
            "[EXPECTATION_VIOLATION.VERBOSITY_ALL] Flow 'orders_clean' failed to meet the expectation. Please retry.",
            "DataQuality",
            False,
        ),
        # a commit that lost to continuous concurrent commits passes
        (
            "[DELTA_MAX_COMMIT_RETRIES_EXCEEDED] This commit has failed as it has been tried 10000000 times but did "
            "not succeed. This can be caused by the Delta table being committed continuously by many concurrent "
            "commits.",
            "DatabricksResourceExhausted",
            True,
        ),
    ],
)
def test_every_spark_and_delta_condition_decides_where_a_message_brackets_it(
    message: str, kind: str, heals: bool
) -> None:
    assert _text(message)[:2] == (kind, heals)


def test_a_condition_name_in_free_text_is_not_read_from_the_conditions_table() -> None:
    said = CLASSIFIER.classify_text("the DELTA_NOT_A_DELTA_TABLE check passed; connection reset").evidence
    assert not any("spark_conditions" in line for line in said)


@pytest.mark.parametrize("retryable", [True, False])
def test_auto_loader_s_unknown_fields_say_themselves_whether_a_retry_fixes_them(retryable: bool) -> None:
    # UNKNOWN_FIELD_EXCEPTION's template ends "which can be fixed by an automatic retry: <isRetryable>".
    message = (
        "[UNKNOWN_FIELD_EXCEPTION.NEW_FIELDS_IN_RECORD_WITH_FILE_PATH] Encountered unknown fields during parsing: "
        f'{{"loyalty_tier":"gold"}}, which can be fixed by an automatic retry: {str(retryable).lower()}'
    )
    assert _text(message)[:2] == (("InternalServerError", True) if retryable else ("SchemaMismatch", False))


@pytest.mark.parametrize(
    ("message", "said"),
    [
        ("ORA-00060: deadlock detected while waiting for resource", "oracle_errors code ORA-00060"),
        ("org.postgresql.util.PSQLException: ERROR: deadlock detected. SQL state: 40P01", "postgres_errors code 40P01"),
        ("psycopg2.errors.InvalidPassword: password authentication failed", "postgres_errors code InvalidPassword"),
        ("[MySQL][ODBC 8.0(w) Driver] ERROR 1213 (40001): Deadlock found", "mysql_errors code 1213"),
        ("ERROR [HY000] [Microsoft][MySQL] (1205) Lock wait timeout exceeded", "mysql_errors code 1205"),
    ],
)
def test_an_engine_s_code_is_read_in_its_own_form(message: str, said: str) -> None:
    assert said in CLASSIFIER.classify_text(message, service="adf").evidence[0]


def test_an_engine_s_number_is_not_read_where_the_engine_is_not_named_or_not_in_its_form() -> None:
    said = CLASSIFIER.classify_text("ERROR 1213 (40001): the batch failed", service="adf").evidence
    assert not any("mysql_errors" in line for line in said)
    said = CLASSIFIER.classify_text("MySQL load (2024-03-11) failed", service="adf").evidence
    assert not any("mysql_errors" in line for line in said)


@pytest.mark.parametrize(
    ("number", "kind", "heals"),
    [
        ("4104", "CodeError", False),  # a multi-part identifier the statement names could not be bound
        ("40892", "InternalServerError", True),  # a serverless database that is paused resumes on demand
    ],
)
def test_more_of_the_engine_s_numbers_decide(number: str, kind: str, heals: bool) -> None:
    message = (
        "ErrorCode=SqlOperationFailed,'Type=System.Data.SqlClient.SqlException,Message=The statement failed.,"
        f"Source=.Net SqlClient Data Provider,SqlErrorNumber={number},Class=16,State=1,'"
    )
    assert _text(message, service="adf")[:2] == (kind, heals)


def test_a_generic_exception_class_does_not_name_the_class_over_more_specific_words() -> None:
    # UnsupportedOperationException is the job's code by default, but a library's raise of it for a permission is
    # a permission (knowledge/exceptions.toml); either way nothing heals.
    message = "java.lang.UnsupportedOperationException: Permission denied: user does not have access"
    assert _text(message)[:2] == ("PermissionDenied", False)
    assert _text("java.lang.UnsupportedOperationException: the read timed out")[:2] == ("CodeError", False)
