"""The model providers behind one small interface, and the one place where the openai and ollama
clients' errors become ours (:class:`ModelError`: what went wrong, whether a retry may help, and
how long the server asked us to wait)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from autoheal.settings import Settings

AZURE_SCOPE = "https://cognitiveservices.azure.com/.default"


class ModelError(Exception):
    def __init__(self, reason: str, *, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retryable, self.retry_after = retryable, retry_after


@dataclass(frozen=True)
class ModelReply:
    content: str
    input_tokens: int = 0
    output_tokens: int = 0


class Provider(Protocol):
    name: str
    model: str

    def complete(self, messages: list[dict[str, str]], schema: dict[str, Any]) -> ModelReply: ...

    def close(self) -> None: ...


def _retry_after(headers: Any) -> float | None:
    value = headers.get("retry-after") if headers is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _status_error(status: int, detail: str, retry_after: float | None) -> ModelError:
    retryable = status == 429 or status >= 500
    return ModelError(f"HTTP {status}: {detail[:300]}", retryable=retryable, retry_after=retry_after)


class OpenAIChat:
    """OpenAI chat completions with structured outputs; Azure OpenAI speaks the same API."""

    def __init__(self, client: Any, *, model: str, name: str) -> None:
        self.client, self.model, self.name = client, model, name

    def close(self) -> None:
        self.client.close()

    def complete(self, messages: list[dict[str, str]], schema: dict[str, Any]) -> ModelReply:
        import openai

        try:
            response = self.client.chat.completions.create(
                model=self.model,
                messages=messages,
                temperature=0,
                response_format={
                    "type": "json_schema",
                    "json_schema": {"name": "root_cause_analysis", "schema": schema, "strict": True},
                },
            )
        except openai.APITimeoutError:
            raise ModelError("the model did not answer within the timeout", retryable=False) from None
        except openai.APIStatusError as exc:
            raise _status_error(exc.status_code, str(exc.message), _retry_after(exc.response.headers)) from None
        except openai.APIConnectionError as exc:
            raise ModelError(f"cannot reach the model: {exc}", retryable=True) from None
        except openai.OpenAIError as exc:  # anything else the client raises (a reply it cannot read, ...)
            raise ModelError(f"{type(exc).__name__}: {exc}"[:300], retryable=False) from None
        if not hasattr(response, "choices"):  # a body that is not JSON (a proxy's error page) comes back as text
            raise ModelError(f"the reply is not a chat completion: {str(response)[:200]}", retryable=False)
        choice = response.choices[0].message if response.choices else None
        if choice is None or getattr(choice, "refusal", None):
            raise ModelError(f"the model refused: {getattr(choice, 'refusal', 'no answer')}", retryable=False)
        usage = response.usage
        return ModelReply(
            content=choice.content or "",
            input_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
            output_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
        )


class OllamaChat:
    """Ollama's /api/chat with ``format`` set to the JSON schema."""

    def __init__(self, client: Any, *, model: str) -> None:
        self.client, self.model, self.name = client, model, "ollama"

    def close(self) -> None:
        self.client.close()

    def complete(self, messages: list[dict[str, str]], schema: dict[str, Any]) -> ModelReply:
        import ollama

        try:
            response = self.client.chat(model=self.model, messages=messages, format=schema, options={"temperature": 0})
        except ollama.ResponseError as exc:
            raise _status_error(exc.status_code, str(exc.error), None) from None
        except httpx.TimeoutException:
            raise ModelError("the model did not answer within the timeout", retryable=False) from None
        except (httpx.HTTPError, ConnectionError) as exc:
            raise ModelError(f"cannot reach the model: {exc}", retryable=True) from None
        except (ollama.RequestError, ValueError) as exc:  # a request or reply the client cannot handle
            raise ModelError(f"{type(exc).__name__}: {exc}"[:300], retryable=False) from None
        return ModelReply(
            content=response.message.content or "",
            input_tokens=int(response.prompt_eval_count or 0),
            output_tokens=int(response.eval_count or 0),
        )


def build_provider(settings: Settings, name: str | None = None) -> Provider | None:
    """The configured provider, or None for rules only; raises ValueError naming a missing setting."""
    kind = name or settings.ai_provider
    timeout = settings.ai_timeout_seconds
    if kind == "none":
        return None
    if kind == "openai":
        import openai

        if settings.openai_api_key is None:
            raise ValueError("AUTOHEAL_AI_PROVIDER=openai needs OPENAI_API_KEY")
        client = openai.OpenAI(
            api_key=settings.openai_api_key.get_secret_value(),
            base_url=settings.openai_base_url,
            timeout=timeout,
            max_retries=0,  # ours honour Retry-After on our clock, bounded (autoheal/analysis/analyst.py)
        )
        return OpenAIChat(client, model=settings.ai_model or "gpt-4o-mini", name="openai")
    if kind == "azure_openai":
        import openai

        if not settings.azure_openai_endpoint or not settings.azure_openai_deployment:
            needs = "AZURE_OPENAI_ENDPOINT and AZURE_OPENAI_DEPLOYMENT"
            raise ValueError(f"AUTOHEAL_AI_PROVIDER=azure_openai needs {needs}")
        auth: dict[str, Any]
        if settings.azure_openai_api_key is not None:
            auth = {"api_key": settings.azure_openai_api_key.get_secret_value()}
        else:  # Entra ID: the managed identity, workload identity or az login that DefaultAzureCredential finds
            from azure.identity import DefaultAzureCredential, get_bearer_token_provider

            auth = {"azure_ad_token_provider": get_bearer_token_provider(DefaultAzureCredential(), AZURE_SCOPE)}
        azure = openai.AzureOpenAI(
            azure_endpoint=settings.azure_openai_endpoint,
            azure_deployment=settings.azure_openai_deployment,
            api_version=settings.openai_api_version,
            timeout=timeout,
            max_retries=0,
            **auth,
        )
        return OpenAIChat(azure, model=settings.azure_openai_deployment, name="azure_openai")
    if kind == "ollama":
        import ollama

        local = ollama.Client(host=settings.ollama_host, timeout=timeout)
        return OllamaChat(local, model=settings.ai_model or "llama3.1")
    raise ValueError(f"unknown AUTOHEAL_AI_PROVIDER {kind!r}; expected none, openai, azure_openai or ollama")
