"""Databricks' error shape: ``{"error_code": "...", "message": "..."}``."""

from __future__ import annotations


class DatabricksApiError(Exception):
    def __init__(self, status: int, error_code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.message = message

    def body(self) -> dict[str, str]:
        return {"error_code": self.error_code, "message": self.message}


def invalid_state(message: str) -> DatabricksApiError:
    return DatabricksApiError(400, "INVALID_STATE", message)


def invalid_parameter(message: str) -> DatabricksApiError:
    return DatabricksApiError(400, "INVALID_PARAMETER_VALUE", message)


def unauthenticated() -> DatabricksApiError:
    return DatabricksApiError(
        401, "UNAUTHENTICATED", "Credential was not sent or was of an unsupported type for this API."
    )
