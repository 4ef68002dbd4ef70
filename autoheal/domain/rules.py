"""The classifier's rules, as data: error codes first, then the wording each service uses.

Rules are tried in order and the first match wins. The order encodes the policy:

1. error codes that name one class outright;
2. signs of a fault a retry cannot fix (permissions, schema, data, code, configuration),
   so that "timed out" inside a permission error never reads as a timeout;
3. the transient classes, most specific first.

A rule may also mark a remediable type as not remediable (a quota that can never fit).
Patterns are case-insensitive regular expressions searched in "<code> <message>".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Service = Literal["adf", "databricks"]


@dataclass(frozen=True)
class Rule:
    name: str
    error_type: str
    pattern: str = ""
    codes: tuple[str, ...] = ()
    service: Service | None = None
    confidence: float = 0.8
    remediable: bool | None = None  # None: as the catalog says for error_type


R = Rule


def codes_text(*names: str) -> str:
    """Databricks shows a reason both as a code (CLOUD_PROVIDER_SHUTDOWN) and as words (Cloud Provider Shutdown)."""
    return "|".join(name.replace("_", "[ _]") for name in names)


_DBX_CONFIG_CODES = (
    "INIT_SCRIPT_FAILURE",
    "GLOBAL_INIT_SCRIPT_FAILURE",
    "NETWORK_CONFIGURATION_FAILURE",
    "INVALID_ARGUMENT",
    "INVALID_SPARK_IMAGE",
    "SECRET_RESOLUTION_ERROR",
    "UNSUPPORTED_INSTANCE_TYPE",
    "AZURE_INVALID_DEPLOYMENT_TEMPLATE",
    "DOCKER_IMAGE_PULL_FAILURE",
    "SUBNET_EXHAUSTED_FAILURE",
    "WORKSPACE_CANCELLED_ERROR",
    "TRIAL_EXPIRED",
    "INSTANCE_POOL_NOT_FOUND",
)

# ---- 1. error codes that decide on their own -------------------------------------------------
CODE_RULES: tuple[Rule, ...] = (
    R(
        "adf-code-column-mapping",
        "SchemaMismatch",
        codes=(
            "UserErrorInvalidColumnMappingColumnNotFound",
            "ParquetColumnNotFound",
            "SchemaMappingFailedInHierarchicalToTabularStage",
            "UserErrorSchemaMappingCannotInferSinkColumnType",
            "SqlInvalidColumnName",
            "DeltaInvalidSchema",
            "UserErrorParquetTypeNotSupported",
        ),
        confidence=0.95,
    ),
    R(
        "adf-code-data",
        "DataQuality",
        codes=(
            "DelimitedTextMoreColumnsThanDefined",
            "DelimitedTextColumnNameNotAllowNull",
            "SqlBulkCopyInvalidColumnLength",
            "UserErrorInvalidDataValue",
            "JsonInvalidDataFormat",
            "DF-Executor-Conversion",
            "UserErrorTypeConversionFailed",
        ),
        confidence=0.95,
    ),
    R(
        "adf-code-config",
        "InvalidConfiguration",
        codes=(
            "SftpInvalidHostKeyFingerprint",
            "UserErrorJreNotFound",
            "SqlDeniedPublicAccess",
            "AdlsGen2InvalidUrl",
            "UserErrorInvalidValueInPayload",
            "DF-Executor-InvalidPath",
            "DF-Executor-SourceInvalidPayload",
            "DF-Executor-StoreIsNotDefined",
            "UserErrorSqlDWCopyCommandError",
        ),
        confidence=0.9,
    ),
    R(
        "adf-code-permission",
        "PermissionDenied",
        codes=(
            "SqlUnauthorizedAccess",
            "AdlsGen2ForbiddenError",
            "UserErrorSftpPermissionDenied",
            "AzureBlobOperationForbidden",
        ),
        confidence=0.95,
    ),
    R(
        "adf-code-code",
        "CodeError",
        codes=("DF-Executor-SystemImplicitCartesian", "SqlInvalidDbQueryString", "SqlInvalidDbStoredProcedure"),
        confidence=0.9,
    ),
    R(
        "dbx-code-config",
        "InvalidConfiguration",
        "(" + codes_text(*_DBX_CONFIG_CODES) + ")",
        codes=_DBX_CONFIG_CODES,
        service="databricks",
        confidence=0.9,
    ),
    R(
        "dbx-code-permission",
        "PermissionDenied",
        codes=("PERMISSION_DENIED", "UNAUTHENTICATED", "ACCESS_TOKEN_FAILURE", "403", "401"),
        confidence=0.9,
    ),
    R(
        "dbx-code-code",
        "CodeError",
        pattern=r"\[(UNRESOLVED_COLUMN|TABLE_OR_VIEW_NOT_FOUND|DATATYPE_MISMATCH|"
        r"PARSE_SYNTAX_ERROR|UNRESOLVED_ROUTINE)",
        confidence=0.9,
    ),
)

# ---- 2. faults a retry cannot fix ------------------------------------------------------------
NEVER_RULES: tuple[Rule, ...] = (
    # Cloud launch failures caused by the workspace's own setup (deleted VNet, missing RBAC).
    R(
        "launch-failure-config",
        "InvalidConfiguration",
        r"(InvalidResourceReference|SubnetIsFull|"
        r"NetworkSecurityGroup|InvalidTemplate|vnet|subnets? (no longer|does not|do not) exist)",
        confidence=0.85,
    ),
    R(
        "firewall",
        "InvalidConfiguration",
        r"(blocked by (the |a )?firewall|firewall (rule )?(blocks|blocked|denied|denies)|"
        r"Client with IP address .* is not allowed|"
        r"public network access (is )?disabled)",
        confidence=0.75,
    ),
    R(
        "permission-words",
        "PermissionDenied",
        r"(\b40[13]\b|forbidden|not authori[sz]ed|unauthori[sz]ed|access denied|"
        r"permission denied|does not have (the )?(required )?(permission|authorization|privilege)|"
        r"insufficient privilege|"
        r"ACL verification failed|AccessControlException|invalid access token|token (has )?expired|expired token|"
        r"password is incorrect|login failed for user|authentication failed|AuthorizationFailed|"
        r"AuthenticationFailed|not allowed to access|is not authorized|credentials? (are|is) (invalid|incorrect))",
        confidence=0.9,
    ),
    R(
        "schema-words",
        "SchemaMismatch",
        r"(column ['\"]?[\w.]+['\"]? (specified in column mapping )?"
        r"(cannot be found|can not be found|does not exist|not found)|schema mismatch|schema (is )?incompatible|"
        r"column mapping|is (a )?legacy \w+ type which is not supported|incompatible (column |data )?types?|"
        r"mismatched input|number of columns .* does not match)",
        confidence=0.85,
    ),
    R(
        "data-words",
        "DataQuality",
        r"(constraint violation|violation of (primary|unique) key|duplicate key|"
        r"more columns than expected|multiple source rows matched|malformed (record|row|csv|json)|bad record|"
        r"cannot insert (the value )?null|null value in column|with row number \d+|conversion failed when converting|"
        r"Failed to convert value|invalid (date|number|numeric) format|unparseable)",
        confidence=0.85,
    ),
    R(
        "python-exception",
        "CodeError",
        r"\b(NameError|AttributeError|TypeError|KeyError|IndexError|"
        r"ZeroDivisionError|SyntaxError|IndentationError|ModuleNotFoundError|ImportError|AssertionError|"
        r"UnboundLocalError|NotImplementedError)\b",
        confidence=0.85,
    ),
    R(
        "spark-analysis",
        "CodeError",
        r"(AnalysisException|ParseException|Table or view not found|"
        r"cannot resolve|UNRESOLVED_COLUMN|SQLSTATE: 42|is not defined)",
        confidence=0.85,
    ),
    R("pip-typo", "CodeError", r"satisfies the requirement (install|pip|-U|--upgrade)\b", confidence=0.7),
    R(
        "pip-no-such-package",
        "InvalidConfiguration",
        r"No matching distribution found for [\w.\-]+\s*$|"
        r"No matching distribution found for [\w.\-]+\s*(\n|$)(?![\s\S]*(Retrying|connection|timed out|"
        r"Library installation failed))",
        service="databricks",
        confidence=0.7,
    ),
    R(
        "expression",
        "InvalidConfiguration",
        r"(evaluation of '.*' expression|must be a valid array|"
        r"Could not parse request object|invalid (configuration|parameter|argument)|"
        r"is not a valid|expected .* to be set)",
        confidence=0.8,
    ),
    R(
        "missing-container",
        "InvalidConfiguration",
        r"(container (does not|doesn't) exist|ContainerExist: False|"
        r"ContainerName: (?P<container>\w[\w-]*), path: (?P=container)/\.(,|$|\s))",
        confidence=0.85,
    ),
    R(
        "does-not-exist",
        "InvalidConfiguration",
        r"(does not exist|cannot be found|"
        r"(file|path|folder|directory|resource|container|database|entity|linked service) (was )?not found|"
        r"no such (file|host)|unknown host|could not resolve host|terminated or unpinned)",
        confidence=0.7,
    ),
    R("init-script", "InvalidConfiguration", r"init script .* failed|Script exit status is non-zero", confidence=0.85),
    R(
        "memory",
        "InvalidConfiguration",
        r"(OutOfMemoryError|Java heap space|out of memory|"
        r"GC overhead limit exceeded)",
        confidence=0.7,
    ),
    R(
        "policy-limit",
        "InvalidConfiguration",
        r"(policy prevents|administrator-defined policy|"
        r"exceeds? the (maximum|approved) (allowed )?(quota|limit)|quota .* (can ?not|will never))",
        confidence=0.8,
    ),
    R(
        "host-key",
        "InvalidConfiguration",
        r"(finger-?print validation failed|certificate .* (cannot|could not) be "
        r"loaded|SSL certificate|Java Runtime Environment is not found|check connection settings|"
        r"cannot be reached)",
        confidence=0.8,
    ),
    R("unreachable-ssh", "InvalidConfiguration", r"not reachable via SSH", service="databricks", confidence=0.6),
    R("login-timeout", "InvalidConfiguration", r"login timeout expired", confidence=0.6),
    R(
        "orchestrator-timeout",
        "InvalidConfiguration",
        r"(AirflowException|orchestrator).*(timeout|timed out)",
        confidence=0.6,
    ),
    R(
        "front-end-timeout",
        "InvalidConfiguration",
        r"(230-second|function .* failed with status-'BadGateway')",
        confidence=0.6,
    ),
    R(
        "integration-runtime-offline",
        "Unknown",
        r"(integration runtime|SHIR|gateway) .*(is offline|not registered|"
        r"is (currently )?unavailable)",
        confidence=0.6,
    ),
    R("custom-activity", "Unknown", r"hit unexpected exception and execution failed", confidence=0.5),
)

# ---- 3. transient classes --------------------------------------------------------------------
TRANSIENT_RULES: tuple[Rule, ...] = (
    # Databricks termination reason codes and their texts.
    R(
        "dbx-unexpected-termination",
        "ClusterUnexpectedTermination",
        "("
        + codes_text("CLOUD_PROVIDER_SHUTDOWN", "SPOT_INSTANCE_TERMINATION", "COMMUNICATION_LOST", "NODES_LOST")
        + r"|spot (vm|instance)s?( running)? (was |were )?(lost|preempted|evicted|reclaimed)|"
        r"cluster (was )?terminated (unexpectedly|during the run)|cluster is in terminated state)",
        confidence=0.85,
    ),
    R(
        "dbx-driver",
        "DatabricksDriverNotResponding",
        "("
        + codes_text("DRIVER_UNRESPONSIVE", "DRIVER_UNREACHABLE", "DRIVER_UNAVAILABLE", "DRIVER_NOT_RESPONDING")
        + r"|(failed to|could not|unable to) reach (the )?driver|driver (has stopped|stopped) unexpectedly|"
        r"driver is (up but is )?not responsive|was unresponsive|driver (is )?(temporarily )?unavailable)",
        confidence=0.85,
    ),
    R(
        "dbx-library",
        "DatabricksLibraryInstallationError",
        r"(Library installation failed|"
        r"ManagedLibraryInstallFailed|LIBRARY_INSTALLATION_FAILURE|Library installation attempted)",
        service="databricks",
        confidence=0.8,
    ),
    R(
        "dbx-quota",
        "DatabricksResourceExhausted",
        "("
        + codes_text("AZURE_QUOTA_EXCEEDED_EXCEPTION")
        + r"|exceed(s|ed|ing)? (the )?approved .*quota|quota (exceeded|limit))",
        service="databricks",
        confidence=0.6,
        remediable=False,
    ),
    R(
        "dbx-resource",
        "DatabricksResourceExhausted",
        "("
        + codes_text("REQUEST_LIMIT_EXCEEDED", "RESOURCE_EXHAUSTED", "CLOUD_PROVIDER_RESOURCE_STOCKOUT")
        + r"|throttl|too many requests|\b429\b|rate limit|too high a rate|could not be acquired|stockout|"
        r"exit code:? 137|insufficient (capacity|instances))",
        service="databricks",
        confidence=0.8,
    ),
    R(
        "dbx-start",
        "DatabricksClusterStartFailure",
        "("
        + codes_text(
            "METASTORE_COMPONENT_UNHEALTHY",
            "DRIVER_FAILED_TO_START",
            "SPARK_STARTUP_FAILURE",
            "INSTANCE_UNREACHABLE",
            "CLOUD_PROVIDER_LAUNCH_FAILURE",
            "UNEXPECTED_LAUNCH_FAILURE",
            "BOOTSTRAP_TIMEOUT",
            "CONTAINER_LAUNCH_FAILURE",
            "EXECUTION_COMPONENT_UNHEALTHY",
            "DBFS_COMPONENT_UNHEALTHY",
            "AZURE_EPHEMERAL_DISK_FAILURE",
            "INSTANCE_POOL_CLUSTER_FAILURE",
            "STORAGE_DOWNLOAD_FAILURE",
            "SPARK_ERROR",
        )
        + r"|failed to start|not able to start|failed to be healthy|Component Unhealthy|"
        r"clusters/start is temporarily unavailable|could not launch cluster)",
        service="databricks",
        confidence=0.8,
    ),
    R(
        "dbx-timeout",
        "DatabricksTimeoutError",
        r"(\bTIMEDOUT\b|timed out|time-?out|DeadlineExceeded|"
        r"DEADLINE_EXCEEDED)",
        service="databricks",
        confidence=0.7,
    ),
    R(
        "dbx-5xx",
        "InternalServerError",
        r"(\b50[023]\b|INTERNAL_ERROR|TEMPORARILY_UNAVAILABLE|"
        r"internal (server )?error|temporarily unavailable|try again later|retry later)",
        service="databricks",
        confidence=0.7,
    ),
    # ADF: ADF's own Databricks activity error 3203 is a cluster terminated under the activity.
    R(
        "adf-blob-missing",
        "UserErrorSourceBlobNotExists",
        r"(UserErrorSourceBlobNotExist|required Blob is missing)",
        codes=("UserErrorSourceBlobNotExist",),
        service="adf",
        confidence=0.8,
    ),
    R(
        "adf-throttling",
        "ThrottlingError",
        r"(\b429\b|throttl|too many requests|rate limit|request rate is large|"
        r"server (is )?busy|maximum number of (queued|concurrent) (jobs|requests)|exceed(ed|ing)? .*rate|"
        r"SSH protocol identification|TooManyRequests|service (is )?busy)",
        service="adf",
        confidence=0.8,
    ),
    R(
        "adf-gateway-timeout",
        "GatewayTimeout",
        r"(\b504\b|gateway ?time-?out|a task was cancell?ed|timed out|"
        r"time-?out (expired|after|occurred)|timeout after|OpenConnectionTimeout|operation has timed out|"
        r"BatchWriteTimeout|HttpClient\.Timeout|GatewayTimeout)",
        service="adf",
        confidence=0.75,
    ),
    R(
        "adf-connection",
        "HttpConnectionFailed",
        r"(connection (was |is )?(closed|reset|refused|aborted|"
        r"forcibly closed|lost)|cannot connect|can not connect|could not connect|failed to connect|unable to connect|"
        r"no connection could be made|transport-level error|network (is )?(experiencing|error|issue)|"
        r"service bus|SqlFailedToConnect|An error occurred while sending the request|name resolution)",
        service="adf",
        confidence=0.7,
    ),
    R(
        "adf-5xx",
        "InternalServerError",
        r"(\b50[023]\b|internal (server )?error|transient (issue|error)|"
        r"retry (your job|later|the operation)|try again later|please retry|not fully initialized|"
        r"unexpected failure during execution|NullPointer|service ?unavailable|InternalServerError|BadGateway)",
        service="adf",
        confidence=0.7,
    ),
)

RULES: tuple[Rule, ...] = CODE_RULES + NEVER_RULES + TRANSIENT_RULES
