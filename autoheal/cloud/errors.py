"""The one place where databricks-sdk and azure-core errors become ours.

Transient (a retry may help): throttling, 5xx, timeouts, dropped connections,
and the SDKs' own bounded retries running out. Permanent (a person must
look): authentication, permission, missing resources, bad requests.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests
from azure.core.exceptions import AzureError, HttpResponseError, ServiceRequestError, ServiceResponseError
from databricks.sdk.errors.base import DatabricksError

from autoheal.domain.outcome import PermanentFailure, PlaybookFailure, TransientFailure

_TRANSIENT_DATABRICKS_CODES = {
    "TEMPORARILY_UNAVAILABLE",
    "REQUEST_LIMIT_EXCEEDED",
    "TOO_MANY_REQUESTS",
    "INTERNAL_ERROR",
    "RESOURCE_EXHAUSTED",
    "DEADLINE_EXCEEDED",
    "ABORTED",
    "UNAVAILABLE",
    "INVALID_STATE",
    "UNKNOWN",
}
_TRANSIENT_HTTP = {408, 429, 500, 502, 503, 504}


class WaitTooLong(Exception):
    """A server asked us to wait longer than we allow within one attempt."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"server asked to wait {seconds:g}s")
        self.seconds = seconds


@contextmanager
def translated(what: str) -> Iterator[None]:
    """Run SDK calls, turning their errors into TransientFailure or PermanentFailure."""
    try:
        yield
    except PlaybookFailure:
        raise
    except WaitTooLong as exc:
        raise TransientFailure(f"{what}: throttled, {exc}", retry_after=exc.seconds) from exc
    except DatabricksError as exc:
        raise _from_databricks(exc, what) from exc
    except HttpResponseError as exc:
        raise _from_azure(exc, what) from exc
    except (ServiceRequestError, ServiceResponseError, requests.ConnectionError, requests.Timeout) as exc:
        raise TransientFailure(f"{what}: connection failed: {_first_line(exc)}") from exc
    except AzureError as exc:
        raise TransientFailure(f"{what}: {_first_line(exc)}") from exc
    except TimeoutError as exc:
        # databricks-sdk raises the builtin TimeoutError when its bounded retries run out.
        cause = exc.__cause__
        detail = f"{type(cause).__name__}: {_first_line(cause)}" if cause else str(exc)
        raise TransientFailure(f"{what}: retries ran out ({detail})") from exc


def _from_databricks(exc: DatabricksError, what: str) -> PlaybookFailure:
    code = exc.error_code or ""
    retry_after = getattr(exc, "retry_after_secs", None)
    message = f"{what}: {code or type(exc).__name__}: {_first_line(exc)}"
    if code in _TRANSIENT_DATABRICKS_CODES or type(exc).__name__ in (
        "TooManyRequests",
        "InternalError",
        "TemporarilyUnavailable",
        "DeadlineExceeded",
    ):
        return TransientFailure(message, retry_after=retry_after)
    return PermanentFailure(message)


def _from_azure(exc: HttpResponseError, what: str) -> PlaybookFailure:
    status = exc.status_code or 0
    code = exc.error.code if exc.error is not None else None
    message = f"{what}: HTTP {status} {code or ''}: {_first_line(exc.message or exc)}".replace("  ", " ")
    if status in _TRANSIENT_HTTP:
        retry_after = None
        headers: Any = getattr(exc.response, "headers", None) or {}
        if headers.get("Retry-After"):
            try:
                retry_after = float(headers["Retry-After"])
            except ValueError:
                retry_after = None
        return TransientFailure(message, retry_after=retry_after)
    return PermanentFailure(message)


def _first_line(exc: object) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
