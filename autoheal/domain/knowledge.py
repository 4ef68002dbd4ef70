"""The code tables in ``autoheal/domain/knowledge/``, loaded once: what each documented error code
means (its class, whether a retry can fix it, whether the code alone decides), with its source.

A code is looked up in the tables of the place it came from: a cluster's termination reason in the
cluster table, a job run's termination code in the run table, an activity's errorCode in the ADF
table, an exception or error class in the Spark table (every other condition Spark and Delta Lake define in the
conditions table, read where a message brackets it), then in the runtimes' exception table (JVM, Python,
.NET); HTTP statuses, Databricks REST and Azure platform error codes (Storage, Resource Manager, Entra
ID) wherever an error-code field holds one; a SQL Server error number in its table; a Spark SQLSTATE
class in the SQLSTATE table; a code of a service or engine beneath (Salesforce, Snowflake, Cosmos DB's
sub-statuses, Oracle, PostgreSQL, MySQL) in its own table, where the message names it (autoheal/domain/vendors.py).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from enum import StrEnum
from functools import cache, cached_property
from importlib import resources


class Table(StrEnum):
    CLUSTER = "databricks_cluster_termination"
    RUN = "databricks_run_termination"
    SPARK = "spark_errors"
    ADF = "adf_error_codes"
    API = "http_and_api_errors"
    SQLSTATE = "sql_states"
    EXCEPTION = "exceptions"
    SQLSERVER = "sql_server_errors"
    AZURE = "azure_errors"
    SALESFORCE = "salesforce_errors"
    COSMOS = "cosmos_db_errors"
    SNOWFLAKE = "snowflake_errors"
    CONDITION = "spark_conditions"
    ORACLE = "oracle_errors"
    POSTGRES = "postgres_errors"
    MYSQL = "mysql_errors"


@dataclass(frozen=True)
class CodeEntry:
    code: str
    table: Table
    error_type: str
    remediable: bool
    decisive: bool
    why: str
    source: str

    @cached_property
    def evidence(self) -> str:
        """How a classification's evidence names this code."""
        return f"{self.table.value} code {self.code}: {self.error_type}"


@cache
def table(name: Table) -> dict[str, CodeEntry]:
    """One table, keyed by its codes as written; :func:`lookup` also finds them case-insensitively."""
    text = resources.files("autoheal.domain").joinpath("knowledge", f"{name.value}.toml").read_text(encoding="utf-8")
    codes = tomllib.loads(text)["codes"]
    return {
        code: CodeEntry(
            code=code,
            table=name,
            error_type=row["class"],
            remediable=bool(row["remediable"]),
            decisive=bool(row["decisive"]),
            why=row["why"],
            source=row["source"],
        )
        for code, row in codes.items()
    }


@cache
def _folded(name: Table) -> dict[str, CodeEntry]:
    return {code.lower(): entry for code, entry in table(name).items()}


def lookup(code: str, *tables: Table) -> CodeEntry | None:
    """The first of ``tables`` that documents ``code`` (case-insensitive), or None."""
    folded = code.strip().lower()
    for name in tables:
        entry = _folded(name).get(folded)
        if entry is not None:
            return entry
    return None


def load_all() -> None:
    """Read every table now: the fork server does (flows/warmup.py), so its flow runs find them read
    (about 15 ms a run otherwise, parsing the TOML)."""
    for name in Table:
        _folded(name)


def all_entries() -> list[CodeEntry]:
    return [entry for name in Table for entry in table(name).values()]
