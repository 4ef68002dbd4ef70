"""The codes of the services and engines beneath a pipeline, in the forms their own clients print them, read only in a
message that names the service: a six-digit number, a five-character state or a word like BAD_REQUEST means
something else elsewhere (autoheal/domain/knowledge/, one table each; autoheal/domain/codes.py asks here).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from autoheal.domain.knowledge import Table

__all__ = ["SNAKE", "vendor_codes"]

# Cosmos DB's answer with its sub-status ("NotFound (404); Substatus: 1002", '"statusCode":404,"subStatusCode":1013'):
# the pair says why (a session not yet replicated, a partition split).
_COSMOS_PAIR = re.compile(r"(?i)\b(\d{3})\)?[;,]?\s*\"?sub-?status(?:code)?\"?\s*[:=]\s*(\d+)")
# Snowflake's numbers, with their SQLSTATE or not ("250001 (08001): Failed to connect to DB", "250003: Failed to get
# the response").
_SNOWFLAKE = re.compile(r"\b(\d{6})(?: \([0-9A-Z]{5}\))?:")
# A code in UPPER_SNAKE form (Salesforce's INVALID_FIELD; autoheal/domain/codes.py reads the others' with it).
SNAKE = re.compile(r"\b[A-Z][A-Z0-9]+(?:_[A-Z0-9]+)+\b")
# Oracle's and its network layer's ("ORA-12541: TNS:no listener", "TNS-12224").
_ORACLE = re.compile(r"\b(?:ORA|TNS)-\d{5}\b")
# PostgreSQL's SQLSTATE as pgjdbc, Npgsql and libpq write it ("SQL state: 40P01", "Npgsql.PostgresException
# (0x80004005): 42P01: relation ... does not exist"), and psycopg's class for it (psycopg2.errors.DeadlockDetected).
_POSTGRES = re.compile(
    r"(?i:sql ?state)[:=]?\s*\[?([0-9][0-9A-Z]{4})\b|\b([0-9][0-9A-Z]{4}): |\bpsycopg2?\.errors\.([A-Za-z]+)"
)
# MySQL's and MariaDB's numbers ("ERROR 1045 (28000): Access denied", pymysql's "(1213, 'Deadlock found ...')", the
# ODBC driver's "[MySQL] (1206) The total number of locks ...", "Error Code: 1205").
_MYSQL = re.compile(r"\bERROR (\d{4}) \(|\((\d{4})(?:, [\"']|\) )|[Ee]rror ?[Cc]ode:? ?(\d{4})\b")


def vendor_codes(message: str, text: str, error_code: str | None) -> Iterator[tuple[str, Table, bool]]:
    """(code, its table, whether a structured field gave it) for each vendor code ``message`` holds; ``text`` is the
    message lower-cased (with the error code)."""
    if "substatus" in text or "sub-status" in text:
        for status, sub in _COSMOS_PAIR.findall(message):
            yield f"{status}/{sub}", Table.COSMOS, True
    if "nowflake" in text:
        if error_code:
            yield error_code, Table.SNOWFLAKE, True
        for number in _SNOWFLAKE.findall(message):
            yield number, Table.SNOWFLAKE, False
    if "alesforce" in text and "_" in message:
        for code in SNAKE.findall(message):
            yield code, Table.SALESFORCE, False
    if "ORA-" in message or "TNS-" in message:
        for code in _ORACLE.findall(message):
            yield code, Table.ORACLE, False
    if "postgres" in text or "psql" in text or "psycopg" in text or "npgsql" in text:
        for groups in _POSTGRES.findall(message):
            yield next(g for g in groups if g), Table.POSTGRES, False
    if "mysql" in text or "mariadb" in text:
        if error_code and error_code.isdigit():
            yield error_code, Table.MYSQL, True
        for groups in _MYSQL.findall(message):
            yield next(g for g in groups if g), Table.MYSQL, False
