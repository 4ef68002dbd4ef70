"""Loopback servers that speak OpenAI chat completions (and Azure OpenAI's path) and Ollama /api/chat,
answering from a script, and recording every request as it arrived. The real openai and ollama
clients talk to them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from sandbox.server import ThreadedServer


@dataclass
class Step:
    """One scripted answer: ``content`` for the model's text, or ``status`` for an error, and ``delay``."""

    content: str | None = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    raw: str | None = None  # a body sent as it is (a proxy's HTML page, say)


def valid(error_type: str = "GatewayTimeout", **extra: Any) -> Step:
    rca = {
        "root_cause": "The partner API timed out behind the gateway.",
        "error_type": error_type,
        "severity": "medium",
        "priority": "P3",
        "confidence": 0.8,
        "affected_entity": "CopySales/CopyOrders",
        "recommendations": ["Rerun from the failed activity", "Ask the partner about their latency"],
        **extra,
    }
    return Step(content=json.dumps(rca))


@dataclass
class Seen:
    path: str
    query: str
    headers: dict[str, str]
    body: dict[str, Any]


class ModelServer:
    def __init__(self, script: list[Step]) -> None:
        self.script = list(script)
        self.requests: list[Seen] = []
        self.server: ThreadedServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url

    async def _answer(self, request: Request, kind: str) -> Response:
        body = await request.json()
        self.requests.append(Seen(request.url.path, request.url.query, dict(request.headers), body))
        step = self.script.pop(0) if self.script else valid()
        if step.delay:
            await asyncio.sleep(step.delay)
        if step.raw is not None:
            return Response(step.raw, status_code=step.status, media_type="text/html")
        if step.status != 200:
            if kind == "ollama":
                error: dict[str, Any] = {"error": f"scripted {step.status}"}
            else:
                error = {"error": {"message": f"scripted {step.status}", "type": "server_error", "code": None}}
            return JSONResponse(error, status_code=step.status, headers=step.headers)
        if kind == "ollama":
            return JSONResponse(
                {
                    "model": body.get("model"),
                    "created_at": "2026-11-29T00:00:00Z",
                    "message": {"role": "assistant", "content": step.content},
                    "done": True,
                    "done_reason": "stop",
                    "prompt_eval_count": 120,
                    "eval_count": 60,
                }
            )
        return JSONResponse(
            {
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "created": 0,
                "model": body.get("model", "deployment"),
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": step.content, "refusal": None},
                        "finish_reason": "stop",
                        "logprobs": None,
                    }
                ],
                "usage": {"prompt_tokens": 120, "completion_tokens": 60, "total_tokens": 180},
            }
        )

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/v1/chat/completions")
        async def openai_chat(request: Request) -> Response:
            return await self._answer(request, "openai")

        # Gemini's OpenAI-compatible endpoint (base URL .../v1beta/openai/), the replaced system's default model.
        @app.post("/v1beta/openai/chat/completions")
        async def gemini_chat(request: Request) -> Response:
            return await self._answer(request, "openai")

        @app.post("/openai/deployments/{deployment}/chat/completions")
        async def azure_chat(request: Request, deployment: str) -> Response:
            return await self._answer(request, "openai")

        @app.post("/api/chat")
        async def ollama_chat(request: Request) -> Response:
            return await self._answer(request, "ollama")

        return app


@contextmanager
def model_server(script: list[Step]) -> Iterator[ModelServer]:
    fake = ModelServer(script)
    fake.server = ThreadedServer.on(fake.app())
    try:
        yield fake
    finally:
        fake.server.stop()
