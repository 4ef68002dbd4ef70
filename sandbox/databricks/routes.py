"""The Databricks REST wire: the paths and bodies databricks-sdk sends and parses."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from sandbox.databricks import errors
from sandbox.databricks.models import Workspace
from sandbox.wire import json_object


def _bad(message: str) -> errors.DatabricksApiError:
    return errors.invalid_parameter(message)


def build_router(get_workspace: Callable[[], Workspace]) -> APIRouter:
    router = APIRouter()

    async def body_of(request: Request) -> dict[str, Any]:
        return await json_object(
            request, lambda why: errors.DatabricksApiError(400, "MALFORMED_REQUEST", f"Request body is {why}.")
        )

    def ws(request: Request) -> Workspace:
        workspace = get_workspace()
        header = request.headers.get("authorization", "")
        if not header.startswith("Bearer "):
            raise errors.unauthenticated()
        if workspace.token and header.removeprefix("Bearer ") != workspace.token:
            raise errors.DatabricksApiError(401, "UNAUTHENTICATED", "Invalid access token.")
        workspace.tick()
        return workspace

    def need(data: dict[str, Any], key: str) -> Any:
        if data.get(key) in (None, ""):
            raise _bad(f"Missing required field: {key}")
        return data[key]

    @router.get("/.well-known/databricks-config")
    async def well_known(request: Request) -> dict[str, Any]:
        # Host metadata, unauthenticated, as a workspace host answers it; the SDK reads oidc_endpoint,
        # account_id, workspace_id and cloud from it when it builds its Config.
        workspace = get_workspace()
        host = str(request.base_url).rstrip("/")
        return {
            "oidc_endpoint": f"{host}/oidc",
            "account_id": workspace.account_id,
            "workspace_id": workspace.workspace_id,
            "cloud": "azure",
            "host_type": "workspace",
        }

    # ---- clusters -----------------------------------------------------------

    @router.get("/api/2.1/clusters/get")
    async def cluster_get(request: Request) -> dict[str, Any]:
        cluster_id = request.query_params.get("cluster_id") or ""
        if not cluster_id:
            raise _bad("Missing required field: cluster_id")
        return ws(request).cluster(cluster_id).as_dict()

    @router.get("/api/2.1/clusters/list")
    async def cluster_list(request: Request) -> dict[str, Any]:
        workspace = ws(request)
        return {"clusters": [c.as_dict() for c in workspace.clusters.values()]}

    @router.post("/api/2.1/clusters/start")
    async def cluster_start(request: Request) -> dict[str, Any]:
        data = await body_of(request)
        ws(request).start(need(data, "cluster_id"))
        return {}

    @router.post("/api/2.1/clusters/restart")
    async def cluster_restart(request: Request) -> dict[str, Any]:
        data = await body_of(request)
        ws(request).restart(need(data, "cluster_id"))
        return {}

    @router.post("/api/2.1/clusters/delete")
    async def cluster_delete(request: Request) -> dict[str, Any]:
        data = await body_of(request)
        ws(request).terminate(need(data, "cluster_id"))
        return {}

    @router.post("/api/2.1/clusters/resize")
    async def cluster_resize(request: Request) -> dict[str, Any]:
        data = await body_of(request)
        ws(request).resize(
            need(data, "cluster_id"), num_workers=data.get("num_workers"), autoscale=data.get("autoscale")
        )
        return {}

    @router.post("/api/2.1/clusters/edit")
    async def cluster_edit(request: Request) -> dict[str, Any]:
        data = await body_of(request)
        need(data, "spark_version")
        ws(request).edit(need(data, "cluster_id"), data)
        return {}

    @router.post("/api/2.1/clusters/events")
    async def cluster_events(request: Request) -> dict[str, Any]:
        data = await body_of(request)
        return ws(request).events(need(data, "cluster_id"), data)

    # ---- libraries ----------------------------------------------------------

    @router.get("/api/2.0/libraries/cluster-status")
    async def library_status(request: Request) -> dict[str, Any]:
        cluster_id = request.query_params.get("cluster_id") or ""
        if not cluster_id:
            raise _bad("Missing required field: cluster_id")
        return ws(request).library_status(cluster_id)

    @router.post("/api/2.0/libraries/install")
    async def library_install(request: Request) -> dict[str, Any]:
        data = await body_of(request)
        ws(request).install(need(data, "cluster_id"), need(data, "libraries"))
        return {}

    @router.post("/api/2.0/libraries/uninstall")
    async def library_uninstall(request: Request) -> dict[str, Any]:
        data = await body_of(request)
        ws(request).uninstall(need(data, "cluster_id"), need(data, "libraries"))
        return {}

    # ---- jobs ---------------------------------------------------------------

    def int_param(request: Request, name: str) -> int:
        value = request.query_params.get(name)
        if value is None:
            raise _bad(f"Missing required field: {name}")
        try:
            return int(value)
        except ValueError:
            raise _bad(f"Invalid value for {name}: {value!r} is not an integer") from None

    @router.get("/api/2.2/jobs/get")
    async def job_get(request: Request) -> dict[str, Any]:
        return ws(request).job(int_param(request, "job_id")).as_dict()

    @router.get("/api/2.2/jobs/list")
    async def job_list(request: Request) -> dict[str, Any]:
        workspace = ws(request)
        return {"jobs": [j.as_dict() for j in workspace.jobs.values()], "has_more": False}

    @router.post("/api/2.2/jobs/update")
    async def job_update(request: Request) -> dict[str, Any]:
        data = await body_of(request)
        ws(request).update_job(need(data, "job_id"), data.get("new_settings") or {})
        return {}

    @router.post("/api/2.2/jobs/run-now")
    async def run_now(request: Request) -> dict[str, Any]:
        data = await body_of(request)
        run = ws(request).run_now(need(data, "job_id"))
        return {"run_id": run.run_id, "number_in_job": run.number_in_job}

    @router.get("/api/2.2/jobs/runs/get")
    async def run_get(request: Request) -> dict[str, Any]:
        run = ws(request).run(int_param(request, "run_id"))
        history = request.query_params.get("include_history", "false").lower() == "true"
        return run.as_dict(include_history=history)

    @router.get("/api/2.2/jobs/runs/get-output")
    async def run_output(request: Request) -> dict[str, Any]:
        return ws(request).output(int_param(request, "run_id"))

    @router.get("/api/2.2/jobs/runs/list")
    async def run_list(request: Request) -> dict[str, Any]:
        workspace = ws(request)
        runs = sorted(workspace.runs.values(), key=lambda r: r.start_time, reverse=True)
        params = request.query_params
        if params.get("job_id"):
            runs = [r for r in runs if r.job.spec.job_id == int(params["job_id"])]
        if params.get("active_only") == "true":
            runs = [r for r in runs if not r.terminal]
        if params.get("completed_only") == "true":
            runs = [r for r in runs if r.terminal]
        if params.get("start_time_from"):
            runs = [r for r in runs if r.start_time * 1000 >= int(params["start_time_from"])]
        if params.get("start_time_to"):
            runs = [r for r in runs if r.start_time * 1000 <= int(params["start_time_to"])]
        offset = int(params.get("page_token") or params.get("offset") or 0)
        limit = min(int(params.get("limit") or 25), 25)
        page = runs[offset : offset + limit]
        expand = params.get("expand_tasks", "false").lower() == "true"
        out: dict[str, Any] = {
            "runs": [r.as_dict(include_tasks=expand) for r in page],
            "has_more": offset + limit < len(runs),
        }
        if out["has_more"]:
            out["next_page_token"] = str(offset + limit)
        return out

    @router.post("/api/2.2/jobs/runs/repair")
    async def run_repair(request: Request) -> dict[str, Any]:
        data = await body_of(request)
        return {"repair_id": ws(request).repair(need(data, "run_id"), data)}

    @router.post("/api/2.2/jobs/runs/cancel")
    async def run_cancel(request: Request) -> dict[str, Any]:
        data = await body_of(request)
        ws(request).cancel(need(data, "run_id"))
        return {}

    return router


def endpoint_not_found(method: str, path: str) -> errors.DatabricksApiError:
    """What the workspace answers for a method and path it has no API for (a wrong method included)."""
    return errors.DatabricksApiError(
        404, "ENDPOINT_NOT_FOUND", f"No API found for '{method} {re.sub(r'^/api/[0-9.]+', '', path) or '/'}'"
    )


def error_response(exc: errors.DatabricksApiError) -> JSONResponse:
    return JSONResponse(status_code=exc.status, content=exc.body())
