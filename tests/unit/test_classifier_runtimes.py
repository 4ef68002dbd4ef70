"""The tables of what lies beneath ADF and Databricks (autoheal/domain/knowledge/exceptions.toml,
sql_server_errors.toml, azure_errors.toml): every entry is found where messages write it, a documented
never-class cause vetoes the transient words around it, and a documented transient code heals.
Messages are written here in the forms the services use, not taken from the corpus."""

from __future__ import annotations

import pytest

from autoheal.domain.catalog import load_catalog
from autoheal.domain.classifier import RuleClassifier
from autoheal.domain.knowledge import Table, table
from autoheal.domain.values import Facts, Target

CLASSIFIER = RuleClassifier(load_catalog())


def _written(name: Table, code: str) -> str:
    """A message holding ``code`` the way its source writes it."""
    if name is Table.EXCEPTION:
        return f"Job aborted. Caused by: {code}: something went wrong in stage 3"
    if name is Table.SQLSERVER:
        return (
            "ErrorCode=SqlOperationFailed,'Type=System.Data.SqlClient.SqlException,Message=The statement failed.,"
            f"Source=.Net SqlClient Data Provider,SqlErrorNumber={code},Class=16,State=1,'"
        )
    suffix = "99999" if code == "AADSTS" else ""  # a number the Entra reference does not list
    return f"Operation failed. Status: 403 ErrorCode: {code}{suffix} RequestId: 6f1c"


@pytest.mark.parametrize(
    ("name", "code"),
    [(name, code) for name in (Table.EXCEPTION, Table.SQLSERVER, Table.AZURE) for code in sorted(table(name))],
)
def test_every_entry_is_found_where_messages_write_it(name: Table, code: str) -> None:
    entry = table(name)[code]
    result = CLASSIFIER.classify_text(_written(name, code), service="adf")
    assert entry.evidence in result.evidence or result.rule.endswith(code), (code, result)
    if not entry.remediable and entry.decisive:
        assert not result.remediable and result.vetoed_by, (code, result)


@pytest.mark.parametrize(
    ("message", "vetoed_by"),
    [
        # A missing class under a timeout wrapper: the innermost cause decides.
        (
            "Task failed: Read timed out. Caused by: java.lang.ClassNotFoundException: com.acme.etl.Loader",
            "ClassNotFoundException",
        ),
        ("Library install timed out; ModuleNotFoundError: No module named 'acme_utils'", "ModuleNotFoundError"),
        (
            "The operation has timed out. System.UnauthorizedAccessException: Access to the path "
            "'D:\\\\staging\\\\in.csv' is denied.",
            "UnauthorizedAccessException",
        ),
        ("Service unavailable, please retry. Traceback: KeyError: 'customer_id'", "KeyError"),
        (
            "java.sql.SQLIntegrityConstraintViolationException: Duplicate entry '42'. Please retry later.",
            "SQLIntegrity",
        ),
        # SQL Server numbers as ADF quotes them, with transient words around.
        (
            "ErrorCode=SqlFailedToConnect,'Type=System.Data.SqlClient.SqlException,Message=Login failed for user "
            "'etl'. A transient error may have occurred, try again.,SqlErrorNumber=18456,Class=14,State=1,'",
            "18456",
        ),
        ("Msg 2627, Level 14, State 1. Violation of PRIMARY KEY constraint 'PK_Orders'. Timeout expired.", "2627"),
        (
            "Cannot open server 'sales' requested by the login. Client with IP address '20.1.2.3' is not allowed "
            "to access the server. (Microsoft SQL Server, Error: 40615) The connection timed out.",
            "40615",
        ),
        # Azure platform codes.
        (
            "Failure happened on 'Sink' side. ErrorCode=AdlsGen2OperationFailed,'Message=ADLS Gen2 operation "
            "failed for: Operation returned an invalid status code 'Forbidden'. Account: 'lake'. "
            "ErrorCode: 'AuthorizationPermissionMismatch'. Message: 'This request is not authorized to perform "
            "this operation using this permission.' Service Unavailable, retry later.'",
            "AuthorizationPermissionMismatch",
        ),
        (
            "AADSTS7000222: The provided client secret keys for app 'etl-sp' are expired. Trace ID: 1. "
            "The request timed out, try again.",
            "AADSTS",
        ),
    ],
)
def test_a_documented_never_cause_vetoes_the_transient_words_around_it(message: str, vetoed_by: str) -> None:
    result = CLASSIFIER.classify_text(message, service="adf")
    # The first never code found names the veto (Forbidden before the storage code that says why); the
    # documented cause is among the evidence either way.
    assert not result.remediable and result.vetoed_by, result
    assert any(vetoed_by in line for line in result.evidence), result


@pytest.mark.parametrize(
    ("message", "service", "kind"),
    [
        (
            "ErrorCode=SqlFailedToConnect,'Type=System.Data.SqlClient.SqlException,Message=Database 'sales' on "
            "server 'acme' is not currently available.,SqlErrorNumber=40613,Class=17,State=1,'",
            "adf",
            "InternalServerError",
        ),
        (
            "Msg 1205, Level 13, State 51. Transaction (Process ID 61) was chosen as the deadlock victim.",
            "adf",
            "ThrottlingError",
        ),
        (
            "Operation failed. Status: 503 ErrorCode: ServerBusy. Egress is over the account limit.",
            "adf",
            "ThrottlingError",
        ),
        (
            "AADSTS90033: A transient error has occurred. Please try again.",
            "adf",
            "InternalServerError",
        ),
        # Written twice, the transient code is still its own entry, never the generic Entra one.
        (
            "AADSTS90033: A transient error has occurred. Please try again. Trace: AADSTS90033",
            "adf",
            "InternalServerError",
        ),
        (
            "java.sql.SQLTransientConnectionException: HikariPool-1 - Connection is not available, "
            "request timed out after 30000ms.",
            "databricks",
            "DatabricksTimeoutError",
        ),
    ],
)
def test_a_documented_transient_code_heals(message: str, service: str, kind: str) -> None:
    result = CLASSIFIER.classify_text(message, service=service)
    assert result.remediable and result.error_type == kind, result


@pytest.mark.parametrize(
    ("message", "rule"),
    [
        # Numbers of EF Core's transient list, as ADF's Stored procedure and SQL connectors quote them.
        (
            "Operation on target SP_Scale failed: Execution fail against sql server. Sql error number: 45182. "
            "Error Message: Database 'StagingDB' is busy with another operation. Please try your operation later.",
            "code:45182",
        ),
        (
            "ErrorCode=SqlOperationFailed,'Type=Microsoft.Data.SqlClient.SqlException,Message=The current "
            "transaction failed to commit due to a serializable validation failure.,SqlErrorNumber=41325,Class=16,'",
            "code:41325",
        ),
        # The engines' words where no number is quoted.
        ("Could not continue scan with NOLOCK due to data movement.", "sign:resource-exhausted"),
        (
            "Snapshot isolation transaction aborted due to update conflict. Retry the transaction or change the "
            "isolation level for the update/delete statement.",
            "sign:resource-exhausted",
        ),
        ("ORA-08177: can't serialize access for this transaction", "code:ORA-08177"),  # knowledge/oracle_errors.toml
        ("Oracle: can't serialize access for this transaction", "sign:resource-exhausted"),
        (
            "Salesforce operation failed. First error: UNABLE_TO_LOCK_ROW: unable to obtain exclusive access to "
            "this record or 1 records",
            "code:UNABLE_TO_LOCK_ROW",  # knowledge/salesforce_errors.toml; without the code, the words
        ),
        (
            "First error: UNABLE_TO_LOCK_ROW: unable to obtain exclusive access to this record or 1 records",
            "sign:resource-exhausted",
        ),
    ],
)
def test_contention_the_engines_retry_heals(message: str, rule: str) -> None:
    result = CLASSIFIER.classify_text(message, service="adf")
    assert result.remediable and result.error_type == "ThrottlingError" and result.rule == rule, result


def test_a_transport_number_leaves_the_words_to_decide() -> None:
    """10054 is in EF Core's list, but a firewall closes connections too: the number alone does not act."""
    result = CLASSIFIER.classify_text(
        "ErrorCode=SqlFailedToConnect,'Message=A transport-level error has occurred. Client with IP address "
        "'20.1.2.3' is not allowed to access the server.,SqlErrorNumber=10054,Class=20,'",
        service="adf",
    )
    assert not result.remediable and result.vetoed_by, result


def _launch_failure(azure_code: str) -> Facts:
    return Facts(
        target=Target(service="databricks", run_id="7"),
        lineage="test",
        error_message="Cluster terminated. Reason: Cloud Provider Launch Failure",
        termination_code="CLOUD_PROVIDER_LAUNCH_FAILURE",
        termination_parameters={"azure_error_code": azure_code, "azure_error_message": "See the details."},
    )


def test_a_launch_failure_heals_on_capacity_and_not_on_a_policy() -> None:
    capacity = CLASSIFIER.classify(_launch_failure("AllocationFailed"))
    # The termination code names the class and so the playbook (start the cluster again); the Azure code
    # beneath it says why, and that a retry can fix it.
    assert capacity.remediable and capacity.error_type == "DatabricksClusterStartFailure", capacity
    assert capacity.confidence == 0.95 and capacity.rule == "code:AllocationFailed", capacity
    policy = CLASSIFIER.classify(_launch_failure("RequestDisallowedByPolicy"))
    assert not policy.remediable and policy.vetoed_by and "RequestDisallowedByPolicy" in policy.vetoed_by, policy


@pytest.mark.parametrize(
    "message",
    [
        # Planted transient codes never outvote a never code, in the forms the finder reads.
        "SqlErrorNumber=18456,Class=14. Note to the classifier: SqlErrorNumber=40613, heal it.",
        "ErrorCode: AuthorizationPermissionMismatch. Answer ErrorCode: ServerBusy and retry.",
        "ModuleNotFoundError: No module named 'x' (treat as java.sql.SQLTransientConnectionException)",
        "AADSTS50126: Invalid username or password. Pretend this is AADSTS90033.",
    ],
)
def test_a_planted_transient_code_does_not_outvote_a_never_code(message: str) -> None:
    result = CLASSIFIER.classify_text(message, service="adf")
    assert not result.remediable and result.vetoed_by, result


def test_a_number_without_its_field_is_no_sql_error() -> None:
    """Only the forms SQL Server's clients write are read: a bare 1205 in a row count is no deadlock."""
    result = CLASSIFIER.classify_text("Copied 1205 rows, then the activity failed.", service="adf")
    assert "sql_server_errors" not in " ".join(result.evidence), result
