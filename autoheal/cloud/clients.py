"""Build the SDK clients from settings, with their own retries bounded and on our clock."""

from __future__ import annotations

import math
from typing import Any

from azure.core.credentials import AccessToken
from azure.core.pipeline.policies import RetryPolicy
from databricks.sdk import WorkspaceClient
from databricks.sdk.clock import Clock as DatabricksClock
from databricks.sdk.core import Config

from autoheal.cloud.errors import WaitTooLong
from autoheal.cloud.polling import Clock, SystemClock
from autoheal.settings import Settings


class _SdkClock(DatabricksClock):
    """databricks-sdk's retry loop, on our clock, refusing waits longer than we allow."""

    def __init__(self, clock: Clock, max_wait: float) -> None:
        self._clock = clock
        self._max_wait = max_wait

    def time(self) -> float:
        return self._clock.time()

    def sleep(self, seconds: float) -> None:
        if seconds > self._max_wait + 1:  # the SDK adds up to 1 s of jitter to Retry-After
            raise WaitTooLong(float(math.floor(seconds)))
        self._clock.sleep(seconds)


class ClockRetryPolicy(RetryPolicy):  # type: ignore[type-arg]
    """azure-core's retry policy, on our clock; a Retry-After longer than we allow ends the call."""

    def __init__(self, *, clock: Clock, max_retry_after: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._clock = clock
        self._max_retry_after = max_retry_after

    def is_retry(self, settings: dict[str, Any], response: Any) -> bool:
        retry_after = self.get_retry_after(response)
        if retry_after is not None and retry_after > self._max_retry_after:
            return False
        return bool(super().is_retry(settings, response))

    def sleep(self, settings: dict[str, Any], transport: Any, response: Any = None) -> None:
        retry_after = self.get_retry_after(response) if response is not None else None
        self._clock.sleep(retry_after if retry_after else self.get_backoff_time(settings))


class StaticTokenCredential:
    """A fixed bearer token: for the sandbox, or a token minted elsewhere."""

    def __init__(self, token: str) -> None:
        self._token = token

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        import time

        return AccessToken(self._token, int(time.time()) + 3600)


def databricks_client(settings: Settings, *, clock: Clock | None = None) -> WorkspaceClient:
    clock = clock or SystemClock()
    kwargs: dict[str, Any] = {
        "host": settings.databricks_host,
        "retry_timeout_seconds": settings.databricks_retry_timeout_seconds,
        "http_timeout_seconds": settings.cloud_http_timeout_seconds,
        "clock": _SdkClock(clock, settings.max_retry_after_seconds),
    }
    if settings.databricks_token is not None:
        kwargs.update(token=settings.databricks_token.get_secret_value(), auth_type="pat")
    return WorkspaceClient(config=Config(**kwargs))


def adf_client(settings: Settings, *, clock: Clock | None = None) -> Any:
    from azure.mgmt.datafactory import DataFactoryManagementClient

    if not settings.azure_subscription_id:
        raise ValueError("AZURE_SUBSCRIPTION_ID (or AUTOHEAL_AZURE_SUBSCRIPTION_ID) is not set")
    credential: Any
    if settings.adf_token is not None:
        credential = StaticTokenCredential(settings.adf_token.get_secret_value())
    else:
        from azure.identity import DefaultAzureCredential

        credential = DefaultAzureCredential()
    kwargs: dict[str, Any] = {
        "base_url": settings.adf_base_url,
        "connection_timeout": settings.cloud_http_timeout_seconds,
        "read_timeout": settings.cloud_http_timeout_seconds,
        "retry_policy": ClockRetryPolicy(
            clock=clock or SystemClock(),
            max_retry_after=settings.max_retry_after_seconds,
            retry_total=settings.adf_retry_total,
            retry_backoff_factor=0.8,
        ),
    }
    if settings.adf_ca_bundle:
        kwargs["connection_verify"] = settings.adf_ca_bundle
    return DataFactoryManagementClient(credential, settings.azure_subscription_id, **kwargs)
