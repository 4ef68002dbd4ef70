"""ARM's error shape: ``{"error": {"code": "...", "message": "..."}}``."""

from __future__ import annotations


class AdfApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> dict[str, dict[str, str | None]]:
        return {"error": {"code": self.code, "message": self.message, "target": None, "details": None}}


def missing_api_version() -> AdfApiError:
    return AdfApiError(
        400,
        "MissingApiVersionParameter",
        "The api-version query parameter (?api-version=) is required for all requests.",
    )


def unsupported_api_version(version: str) -> AdfApiError:
    return AdfApiError(
        400,
        "InvalidApiVersionParameter",
        f"The api-version '{version}' is invalid. The supported versions are '2018-06-01'.",
    )


def auth_missing() -> AdfApiError:
    return AdfApiError(401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.")


def auth_invalid() -> AdfApiError:
    return AdfApiError(401, "InvalidAuthenticationToken", "The access token is invalid.")


def subscription_not_found(subscription_id: str) -> AdfApiError:
    return AdfApiError(404, "SubscriptionNotFound", f"The subscription '{subscription_id}' could not be found.")


def resource_not_found(kind: str, name: str, resource_group: str) -> AdfApiError:
    return AdfApiError(
        404,
        "ResourceNotFound",
        f"The Resource '{kind}/{name}' under resource group '{resource_group}' was not found. "
        "For more details please go to https://aka.ms/ARMResourceNotFoundFix",
    )


def entity_not_found(kind: str, name: str) -> AdfApiError:
    return AdfApiError(404, "EntityNotFound", f"Entity {name} not found: the {kind} does not exist in this factory.")


def bad_request(message: str) -> AdfApiError:
    return AdfApiError(400, "BadRequest", message)


def invalid_resource_type(resource_type: str) -> AdfApiError:
    return AdfApiError(
        404,
        "InvalidResourceType",
        f"The resource type '{resource_type}' could not be found in the namespace 'Microsoft.DataFactory' "
        "for api version '2018-06-01'.",
    )


def method_not_allowed(method: str, url: str) -> AdfApiError:
    return AdfApiError(405, "MethodNotAllowed", f"The HTTP method '{method}' is not supported on the resource '{url}'.")
