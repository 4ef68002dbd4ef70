"""Where codes stand in a message, and which of them the tables document: the structured fields first
(a cluster's termination reason, a job run's termination code, an activity's errorCode), then the forms
the services write codes in inside a message (ErrorCode=..., "Response status code: 'TooManyRequests'",
error code 2200, UPPER_SNAKE termination codes, the same as title words, Spark exception names).
Split from autoheal/domain/classifier.py, which decides; this module only finds.

The free-text forms are searched only where the lower-cased text holds a documented code of that form
(``hints``, from :func:`code_words`, found by the classifier's one scan of the text): a code such a regex
finds is a substring of the message, and most messages hold none.
"""

from __future__ import annotations

import re
from functools import cache

from autoheal.domain.knowledge import CodeEntry, Table, lookup, table
from autoheal.domain.vendors import SNAKE as _SNAKE
from autoheal.domain.vendors import vendor_codes

FIELD_CODE = re.compile(r"""(?:ErrorCode|error_code|errorCode)["']?\s*[=:]\s*["']?([A-Za-z0-9][\w.-]*)""")
_NUMERIC_CODE = re.compile(r"(?i)error ?code[\s:=\"']+(\d{3,4})\b")
STATUS_CODE = re.compile(r"(?i)status(?: ?code)?\s*(?::|-|=)?\s*['\"]{0,2}([A-Za-z]+|\d{3})\b")
# An Azure error response body, {"error": {"code": "...", "details": [{"code": "..."}]}}: its code is the
# service-defined code, the sub-status of the HTTP answer (the Microsoft REST API guidelines' error condition
# responses; Resource Manager's common ErrorResponse). A word code only: a number there is no HTTP status.
JSON_CODE = re.compile(r'"code"\s*:\s*"([A-Za-z]+)"')
# A Google API error body, {"error": {"code": 403, "errors": [{"reason": "rateLimitExceeded"}]}}: the reason says
# why the status was given, and one status stands for several reasons (autoheal/domain/knowledge/
# http_and_api_errors.toml), so a documented reason puts the bare HTTP status aside.
_REASON = re.compile(r'"reason"\s*:\s*"([A-Za-z]+)"')
# An error condition with its sub-condition, as Databricks and Spark render it in brackets
# ("[FAILED_READ_FILE.PARQUET_COLUMN_DATA_TYPE_MISMATCH] Error while reading file ..."): the pair names the cause
# more precisely than the condition alone, whose documented default covers every sub-condition
# (autoheal/domain/knowledge/spark_errors.toml keys such pairs whole).
_SUBCONDITION = re.compile(r"\[([A-Z][A-Z0-9]+(?:_[A-Z0-9]+)+\.[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*)\]")
# Synapse's Spark error codes, as a notebook or Spark job activity writes them ("Spark_User_UserApp_ModuleNotFound:
# ...", "Error code: Spark_Ambiguous_Executor_MaxExecutorFailures"): their names say whose fault it is.
_SYNAPSE_SPARK = re.compile(r"\bSpark_(?:User|System|Ambiguous|Unknown)_[\w.]*\w")
_BRACKETED = re.compile(r"\[([A-Z][A-Z0-9]+(?:_[A-Z0-9]+)+)(?:\.[A-Z][A-Z0-9_]*)?\]")
# The UI writes termination codes as title words, acronyms kept ("Azure VM Extension Failure").
_TITLE_RUN = re.compile(r"\b[A-Z](?:[a-z]+|[A-Z]+)(?: [A-Z](?:[a-z]+|[A-Z]+))+\b")
_EXCEPTION = re.compile(r"\b((?:[a-z]\w*\.)*[A-Z]\w*(?:Exception|Error|Failure))\b")
# Spark's ExecutorLostFailure renders its exitCausedByApp ("ExecutorLostFailure (executor 9 exited unrelated to the
# running tasks)"); autoheal/domain/knowledge/spark_errors.toml keys that form on its own.
_LOST_UNRELATED = "exited unrelated to the running tasks"
_LOST_UNRELATED_KEY = "ExecutorLostFailure.UNRELATED_TO_THE_RUNNING_TASKS"
# SQL Server error numbers as ADF's SQL connectors quote them ("SqlErrorNumber=40613", "Errors=[{Class=14,
# Number=18456,...}]"), as the engine prints them ("Msg 8152, Level 16") and as tools do ("Microsoft SQL
# Server, Error: 18456", "Error Number: 40613").
_SQL_NUMBER = re.compile(
    r"(?:SqlErrorNumber|\bNumber)\s*=\s*(\d{2,10})\b|\bMsg (\d{2,10}), Level|"
    r"SQL Server, Error:? ?(\d{2,10})\b|[Ee]rror [Nn]umber:? ?(\d{2,10})\b"
)
# A termination's type as the state message writes it after the code ("Reason: CLOUD_PROVIDER_LAUNCH_FAILURE
# (CLOUD_FAILURE)", "AZURE_QUOTA_EXCEEDED_EXCEPTION(CLIENT_ERROR)"): a type, not the run termination code of the
# same name (jobs.TerminationCodeCode has CLOUD_FAILURE and INTERNAL_ERROR too).
_TYPE_AFTER_CODE = re.compile(r"\((?:CLIENT_ERROR|CLOUD_FAILURE|SERVICE_FAULT|INTERNAL_ERROR|SUCCESS)\)")
# The SQLSTATE a Spark message ends with ("... SQLSTATE: 22003").
_SQLSTATE = re.compile(r"SQLSTATE:?\s*([0-9A-Z]{5})\b")
# Numbers from 50000 are the user's own messages (RAISERROR, THROW, sp_addmessage), all one entry, unless the table
# documents the number (Synapse numbers its own from 100000).
_USER_DEFINED = "50000"
# Azure platform codes in free text: a Storage or Resource Manager code is one CamelCase word ("Status:
# 403 (This request is not authorized...) ErrorCode: AuthorizationPermissionMismatch", a JSON body's
# "code": "AllocationFailed"), an Entra sign-in code AADSTS and digits.
_CAMEL = re.compile(r"\b[A-Z][a-z]+(?:[A-Z][a-z]+)+\b|\bAADSTS\d+")

SNAKE_HINT, TITLE_HINT, EXCEPTION_HINT, AZURE_HINT = 1, 2, 4, 16  # 8 is the classifier's (a class name)
ANY_HINT = SNAKE_HINT | TITLE_HINT | EXCEPTION_HINT | AZURE_HINT

ALL_TABLES = (Table.ADF, Table.RUN, Table.CLUSTER, Table.API, Table.SPARK, Table.AZURE, Table.CONDITION)
_CLUSTER, _RUN, _SPARK, _API, _ADF = (Table.CLUSTER,), (Table.RUN,), (Table.SPARK,), (Table.API,), (Table.ADF,)
_EXCEPTIONS = (Table.SPARK, Table.EXCEPTION)
_SQLSERVER, _AZURE, _CONDITIONS = (Table.SQLSERVER,), (Table.AZURE,), (Table.CONDITION,)
_VENDORS = (Table.SALESFORCE, Table.COSMOS, Table.SNOWFLAKE, Table.ORACLE, Table.POSTGRES, Table.MYSQL)
_SNAKE_TABLES = (Table.CLUSTER, Table.RUN, Table.SPARK, Table.API)
FIELD_TABLES = {
    "adf": (Table.ADF, Table.API, Table.SPARK, Table.AZURE),
    "databricks": (Table.RUN, Table.API, Table.CLUSTER, Table.SPARK, Table.AZURE, Table.CONDITION),
}


@cache
def code_words() -> dict[str, int]:
    """The documented codes as a free-text form writes them, lower-cased, with the form's bit."""
    bits: dict[str, int] = {}
    for name in _SNAKE_TABLES:
        for code in table(name):
            if "_" in code:
                bits[code.lower()] = bits.get(code.lower(), 0) | SNAKE_HINT
    for code in table(Table.CLUSTER):
        if "_" in code:
            title = code.lower().replace("_", " ")
            bits[title] = bits.get(title, 0) | TITLE_HINT
    for name in _EXCEPTIONS:
        for code in table(name):
            bits[code.lower()] = bits.get(code.lower(), 0) | EXCEPTION_HINT
    for code in table(Table.AZURE):
        bits[code.lower()] = bits.get(code.lower(), 0) | AZURE_HINT
    return bits


@cache
def _merged(tables: tuple[Table, ...]) -> dict[str, CodeEntry]:
    """What knowledge.lookup(code, *tables) finds, as one dict: the first table that documents a code wins."""
    merged: dict[str, CodeEntry] = {}
    for name in reversed(tables):
        merged.update({code.lower(): entry for code, entry in table(name).items()})
    return merged


class CodeFinder:
    def __init__(self, class_names: frozenset[str]) -> None:
        self._class_names = class_names  # lower-cased: a class name in free text is never a code
        for tables in (
            *FIELD_TABLES.values(),
            ALL_TABLES,
            _CLUSTER,
            _RUN,
            _SPARK,
            _API,
            _ADF,
            _SNAKE_TABLES,
            _EXCEPTIONS,
            _SQLSERVER,
            _AZURE,
            _CONDITIONS,
            *((vendor,) for vendor in _VENDORS),
        ):
            _merged(tables)

    def find(
        self,
        termination_code: str | None,
        run_termination_code: str | None,
        error_code: str | None,
        service: str | None,
        message: str,
        text: str,
        fields: list[str],
        hints: int,
    ) -> list[CodeEntry]:
        """Documented codes, the structured ones first, each once. ``text``: lower-cased, holding the
        message; ``fields``: the message's ErrorCode=... values; ``hints``: the code forms it can hold."""
        out: list[CodeEntry] = []
        seen: set[str] = set()
        names = self._class_names

        def found(code: str, tables: tuple[Table, ...], structured: bool) -> None:
            if not code or (not structured and code.lower() in names):
                return
            entry = _merged(tables).get(code.strip().lower())
            if entry is not None and entry.code.lower() not in seen:
                seen.add(entry.code.lower())
                out.append(entry)

        if termination_code:
            found(termination_code, _CLUSTER, True)
        if run_termination_code:
            found(run_termination_code, _RUN, True)
        field_tables = FIELD_TABLES.get(service or "", ALL_TABLES)
        if error_code:
            found(error_code, field_tables, True)
        if "tatus" in message:  # ADF's Web and Function activities: "Response status code: 'TooManyRequests'"
            for code in STATUS_CODE.findall(message):
                found(code, _API, True)
        if '"code"' in message:  # the same answer in an error body: "details":[{"code":"InternalServerError"}]
            for code in JSON_CODE.findall(message):
                found(code, _API, True)
        if '"reason"' in message:
            size = len(out)
            for code in _REASON.findall(message):
                found(code, _API, True)
            if len(out) > size:
                out = [e for e in out if not (e.table is Table.API and e.code.isdigit())]
        for code in fields:
            found(code, field_tables, False)
        if ("rror" in message or "RROR" in message) and "code" in text:
            for code in _NUMERIC_CODE.findall(message):
                found(code, _ADF, False)
        if "Spark_" in message:
            for code in _SYNAPSE_SPARK.findall(message):
                found(code, _ADF, False)
        # The services' and engines' own codes where the message names them: before the generic forms, as their
        # words mean there (Salesforce's BAD_REQUEST, GONE).
        for code, vendor, structured in vendor_codes(message, text, error_code):
            found(code, (vendor,), structured)
        if "_" in message and hints & SNAKE_HINT:
            # The sub-condition first: found first, it decides before its condition's default does.
            if "." in message and "[" in message:
                for code in _SUBCONDITION.findall(message):
                    found(code, _SNAKE_TABLES, False)
            snake = _TYPE_AFTER_CODE.sub(" ", message) if "(" in message else message
            for code in _SNAKE.findall(snake):
                found(code, _SNAKE_TABLES, False)
        if "[" in message:
            # Every other condition Spark and Delta Lake define, where the message brackets it as they do
            # ("[DELTA_MISSING_DELTA_TABLE] ..."): after the Spark table's own, which say more.
            for code in _BRACKETED.findall(message):
                found(code, _CONDITIONS, False)
        if hints & TITLE_HINT:
            for run in _TITLE_RUN.findall(message):
                words = run.split(" ")
                for size in range(len(words), 1, -1):
                    for start in range(len(words) - size + 1):
                        found("_".join(words[start : start + size]), _CLUSTER, False)
        if ("Exception" in message or "Error" in message or "Failure" in message) and hints & EXCEPTION_HINT:
            # Spark writes whether a lost executor's exit was the application's doing: the exit's form first, as a
            # sub-condition is read before its condition.
            if _LOST_UNRELATED in message:
                found(_LOST_UNRELATED_KEY, _SPARK, False)
            for name in _EXCEPTION.findall(message):
                found(name, _EXCEPTIONS, False)
                found(name.rsplit(".", 1)[-1], _EXCEPTIONS, False)
        if "umber" in message or "Msg " in message or "Server, Error" in message:
            for groups in _SQL_NUMBER.findall(message):
                number = next(g for g in groups if g)
                # Synapse's own messages are numbered above 100000 too (105208): a documented number is its own.
                own = int(number) < 50000 or number in _merged(_SQLSERVER)
                found(number if own else _USER_DEFINED, _SQLSERVER, False)
        if hints & AZURE_HINT:
            azure = _merged(_AZURE)
            for word in _CAMEL.findall(message):
                # An Entra code without an entry of its own is read under the generic entry (decided by the
                # table, not by what was found before: a code written twice is still its own entry).
                own = word.lower() in azure or not word.startswith("AADSTS")
                found(word if own else "AADSTS", _AZURE, False)
        return out


def stated(code: str, message: str) -> bool:
    """Whether the message says the endpoint answered ``code`` ("Response status code: 'TooManyRequests'",
    an error body's "code": "ServiceUnavailable")."""
    said = STATUS_CODE.findall(message) if "tatus" in message else []
    said += JSON_CODE.findall(message) if '"code"' in message else []
    return code.lower() in {c.lower() for c in said}


# A quoted compound name ('socketTimeout', `retry_count`, "dbo.usp_LogServerBusy"): a setting, a column or an
# object. A plain quoted word ('Timeout') and an upper-case code ('REFUSED_STREAM') are not names.
_QUOTED_NAME = re.compile(r"""(['"`])(?=[\w.$]*[a-z])([A-Za-z][\w$]*?(?:[a-z][A-Z]|[._])[\w.$]*)\1""")


# Unless it is the value of an error's own field: the answer, not a name ({'error': 'temporarily_unavailable'}, OAuth
# 2.0's error codes as MSAL prints them; "errorLabels": ["TransientTransactionError"], MongoDB's).
_ANSWER_FIELD = re.compile(r"""(?:error|code|errorcode|error_code|reason|errorlabels)['"]?\s*[:=]\s*\[?\s*$""", re.I)


def quoted_names(message: str) -> list[tuple[str, str]]:
    """(quote, name) for each quoted compound name in ``message``."""
    if "'" not in message and '"' not in message and "`" not in message:
        return []
    return [
        (found.group(1), found.group(2))
        for found in _QUOTED_NAME.finditer(message)
        if not _ANSWER_FIELD.search(message, max(0, found.start() - 24), found.start())
    ]


def unnamed(text: str, names: list[tuple[str, str]]) -> str:
    """``text`` (lower-cased) without the quoted names found in its message: their words are no event."""
    for quote, name in names:
        text = text.replace(f"{quote}{name}{quote}".lower(), " ")
    return text


def sql_state(message: str, codes: list[CodeEntry]) -> CodeEntry | None:
    """The SQLSTATE table's entry for the state a Spark message ends with, unless a documented Spark
    error condition in the message already says more (DELTA_CONCURRENT_APPEND is class 2D, and healable)."""
    if any(entry.table in (Table.SPARK, Table.CONDITION) for entry in codes):
        return None
    found = _SQLSTATE.search(message)
    if found is None:
        return None
    state = found.group(1)
    return lookup(state, Table.SQLSTATE) or lookup(state[:2], Table.SQLSTATE)
