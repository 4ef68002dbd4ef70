"""The sandbox's ASGI app: both services' routes, their error shapes, faults and a control API."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from sandbox.adf import errors as adf_errors
from sandbox.adf import routes as adf_routes
from sandbox.databricks import errors as dbx_errors
from sandbox.databricks import routes as dbx_routes
from sandbox.faults import Fault, FaultMiddleware
from sandbox.scenario import ClusterActivity, ClusterActivityFor, Scenario, ScenarioError, load_scenario
from sandbox.state import Call, SandboxState


class _Serialized:
    """Runs one request at a time against the state, so in-process test calls never race a request."""

    def __init__(self, app: Any, state: SandboxState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # Stamped on arrival, before any wait for the lock.
        self.state.journal.append(
            Call(time.time(), scope["method"], scope["path"], scope.get("query_string", b"").decode("latin-1"))
        )
        # Uncontended (the usual case), take the lock here; otherwise wait for it off the event loop.
        if not self.state.lock.acquire(blocking=False):
            await asyncio.to_thread(self.state.lock.acquire)
        try:
            await self.app(scope, receive, send)
        finally:
            self.state.lock.release()


def build_app(state: SandboxState) -> Any:
    app = FastAPI(title="autoheal sandbox", docs_url=None, redoc_url=None, openapi_url=None)

    @app.exception_handler(dbx_errors.DatabricksApiError)
    async def _dbx(_: Request, exc: dbx_errors.DatabricksApiError) -> JSONResponse:
        return dbx_routes.error_response(exc)

    @app.exception_handler(adf_errors.AdfApiError)
    async def _adf(_: Request, exc: adf_errors.AdfApiError) -> JSONResponse:
        return adf_routes.error_response(exc)

    @app.exception_handler(StarletteHTTPException)
    async def _unrouted(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # No route for the path (404), or not for this method (405): each service's own answer.
        path, method = request.url.path, request.method
        if path.startswith("/_sandbox"):
            return JSONResponse(status_code=exc.status_code, content={"error": str(exc.detail)})
        if path.startswith("/subscriptions/"):
            return adf_routes.error_response(adf_routes.unrouted(method, path, str(request.url), exc.status_code))
        # The workspace looks an API up by method and path together: a wrong method is not found, too.
        return dbx_routes.error_response(dbx_routes.endpoint_not_found(method, path))

    app.include_router(dbx_routes.build_router(lambda: state.workspace))
    app.include_router(adf_routes.build_router(lambda: state.adf))

    @app.get("/_sandbox/state")
    async def control_state() -> dict[str, Any]:
        # Called without the lock held by _Serialized (see below), so counts() may lock.
        return {"scenario": state.scenario.name, "counts": state.counts()}

    @app.get("/_sandbox/requests")
    async def control_requests(since: float = 0.0) -> list[dict[str, Any]]:
        return [vars(call) for call in list(state.journal) if call.at >= since]

    @app.post("/_sandbox/reset")
    async def control_reset() -> dict[str, str]:
        state.reset()
        return {"scenario": state.scenario.name}

    @app.post("/_sandbox/scenario")
    async def control_scenario(request: Request) -> JSONResponse:
        body = await request.json()
        try:
            scenario = load_scenario(body["name"]) if "name" in body else Scenario.model_validate(body)
        except (ScenarioError, ValueError) as exc:
            return JSONResponse(status_code=400, content={"error": str(exc)})
        state.load(scenario)
        return JSONResponse(content={"scenario": scenario.name})

    @app.post("/_sandbox/faults")
    async def control_faults(request: Request) -> dict[str, int]:
        state.add_fault(Fault.model_validate(await request.json()))
        return {"pending": 1}

    @app.post("/_sandbox/cluster-activity")
    async def control_cluster_activity(request: Request) -> JSONResponse:
        try:
            spec = ClusterActivityFor.model_validate(await request.json())
            state.add_cluster_activity(
                spec.cluster_id, ClusterActivity.model_validate(spec.model_dump(exclude={"cluster_id"}))
            )
        except (ValueError, dbx_errors.DatabricksApiError) as exc:
            return JSONResponse(status_code=400, content={"error": str(exc)})
        return JSONResponse(content={"cluster_id": spec.cluster_id, "action": spec.action})

    inner = _ControlBypass(app, _Serialized(app, state))
    return FaultMiddleware(inner, state.faults)


class _ControlBypass:
    """Control calls take the lock themselves; service calls are serialized."""

    def __init__(self, plain: Any, serialized: Any) -> None:
        self.plain = plain
        self.serialized = serialized

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope.get("path", "").startswith("/_sandbox"):
            await self.plain(scope, receive, send)
        else:
            await self.serialized(scope, receive, send)
