"""The ADF management wire: ARM paths (case-exact, as the SDK sends them) and bodies."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from sandbox.adf import errors
from sandbox.adf.models import API_VERSION, DataFactories, Factory, PipelineRun
from sandbox.wire import json_object

PREFIX = "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.DataFactory/factories"
FACTORY = PREFIX + "/{factory}"
PAGE_SIZE = 100

_OPERANDS = {
    "PipelineName": lambda r: r.pipeline.spec.name,
    "Status": lambda r: r.status,
    "RunGroupId": lambda r: r.run_group_id,
    "RunId": lambda r: r.run_id,
}


def _time(value: Any, name: str) -> float:
    if not value:
        raise errors.bad_request(f"The '{name}' filter parameter is required.")
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise errors.bad_request(f"The '{name}' value '{value}' is not a valid date time.") from None


def _matches(run: PipelineRun, flt: dict[str, Any]) -> bool:
    operand, operator, values = flt.get("operand"), flt.get("operator"), flt.get("values") or []
    if operand == "LatestOnly":
        return not (str(values[0]).lower() == "true" if values else False) or run.is_latest
    getter = _OPERANDS.get(str(operand))
    if getter is None:
        raise errors.bad_request(f"The filter operand '{operand}' is not supported for pipeline runs.")
    value = getter(run)
    if operator in ("Equals", "In"):
        return value in values
    if operator in ("NotEquals", "NotIn"):
        return value not in values
    raise errors.bad_request(f"The filter operator '{operator}' is not supported.")


def _page(items: list[dict[str, Any]], token: str | None) -> dict[str, Any]:
    offset = int(token or 0)
    out: dict[str, Any] = {"value": items[offset : offset + PAGE_SIZE]}
    if offset + PAGE_SIZE < len(items):
        out["continuationToken"] = str(offset + PAGE_SIZE)
    return out


def build_router(get_factories: Callable[[], DataFactories]) -> APIRouter:
    router = APIRouter()

    def check(request: Request) -> DataFactories:
        version = request.query_params.get("api-version")
        if version is None:
            raise errors.missing_api_version()
        if version != API_VERSION:
            raise errors.unsupported_api_version(version)
        adf = get_factories()
        header = request.headers.get("authorization", "")
        if not header.startswith("Bearer "):
            raise errors.auth_missing()
        if adf.token and header.removeprefix("Bearer ") != adf.token:
            raise errors.auth_invalid()
        return adf

    def factory_of(request: Request, sub: str, rg: str, factory: str) -> tuple[DataFactories, Factory]:
        adf = check(request)
        return adf, adf.factory(sub, rg, factory)

    async def body_of(request: Request) -> dict[str, Any]:
        return await json_object(
            request,
            lambda why: errors.bad_request(f"The request content was invalid and could not be deserialized: {why}."),
        )

    @router.get(PREFIX)
    async def list_factories(request: Request, sub: str, rg: str) -> dict[str, Any]:
        adf = check(request)
        adf.tick()
        return {"value": [f.as_dict() for (group, _), f in adf.factories.items() if group == rg.lower()]}

    @router.get(FACTORY)
    async def get_factory(request: Request, sub: str, rg: str, factory: str) -> dict[str, Any]:
        return factory_of(request, sub, rg, factory)[1].as_dict()

    @router.get(FACTORY + "/pipelines")
    async def list_pipelines(request: Request, sub: str, rg: str, factory: str) -> dict[str, Any]:
        _, f = factory_of(request, sub, rg, factory)
        return {"value": [p.as_dict() for p in f.pipelines.values()]}

    @router.get(FACTORY + "/pipelines/{pipeline}")
    async def get_pipeline(request: Request, sub: str, rg: str, factory: str, pipeline: str) -> dict[str, Any]:
        adf, f = factory_of(request, sub, rg, factory)
        return adf.pipeline(f, pipeline).as_dict()

    @router.post(FACTORY + "/pipelines/{pipeline}/createRun")
    async def create_run(request: Request, sub: str, rg: str, factory: str, pipeline: str) -> dict[str, Any]:
        adf, f = factory_of(request, sub, rg, factory)
        params = request.query_params
        run = adf.create_run(
            f,
            pipeline,
            reference_run_id=params.get("referencePipelineRunId"),
            is_recovery=params.get("isRecovery", "false").lower() == "true",
            start_from_failure=params.get("startFromFailure", "false").lower() == "true",
            parameters=await body_of(request),
        )
        return {"runId": run.run_id}

    @router.get(FACTORY + "/pipelineruns/{run_id}")
    async def get_run(request: Request, sub: str, rg: str, factory: str, run_id: str) -> dict[str, Any]:
        adf, f = factory_of(request, sub, rg, factory)
        return adf.run(f, run_id).as_dict()

    @router.post(FACTORY + "/pipelineruns/{run_id}/cancel")
    async def cancel_run(request: Request, sub: str, rg: str, factory: str, run_id: str) -> Response:
        adf, f = factory_of(request, sub, rg, factory)
        adf.cancel(f, run_id)
        return Response(status_code=200)

    @router.post(FACTORY + "/queryPipelineRuns")
    async def query_runs(request: Request, sub: str, rg: str, factory: str) -> dict[str, Any]:
        _, f = factory_of(request, sub, rg, factory)
        body = await body_of(request)
        after = _time(body.get("lastUpdatedAfter"), "lastUpdatedAfter")
        before = _time(body.get("lastUpdatedBefore"), "lastUpdatedBefore")
        runs = [r for r in f.runs.values() if after <= r.last_updated <= before]
        for flt in body.get("filters") or []:
            runs = [r for r in runs if _matches(r, flt)]
        order = (body.get("orderBy") or [{"orderBy": "RunStart", "order": "DESC"}])[0]
        key = {
            "RunStart": lambda r: r.start,
            "RunEnd": lambda r: r.end or 0,
            "PipelineName": lambda r: r.pipeline.spec.name,
            "Status": lambda r: r.status,
        }.get(order.get("orderBy", "RunStart"), lambda r: r.start)
        runs.sort(key=key, reverse=order.get("order", "DESC") == "DESC")
        return _page([r.as_dict() for r in runs], body.get("continuationToken"))

    @router.post(FACTORY + "/pipelineruns/{run_id}/queryActivityruns")
    async def query_activities(request: Request, sub: str, rg: str, factory: str, run_id: str) -> dict[str, Any]:
        adf, f = factory_of(request, sub, rg, factory)
        body = await body_of(request)
        after = _time(body.get("lastUpdatedAfter"), "lastUpdatedAfter")
        before = _time(body.get("lastUpdatedBefore"), "lastUpdatedBefore")
        run = adf.run(f, run_id)
        acts = [a for a in run.activities if after <= (a.end or a.start) <= before]
        for flt in body.get("filters") or []:
            if flt.get("operand") == "Status":
                acts = [
                    a for a in acts if (a.status in flt.get("values", [])) == (flt.get("operator") in ("Equals", "In"))
                ]
            elif flt.get("operand") == "ActivityName":
                acts = [
                    a
                    for a in acts
                    if (a.spec.name in flt.get("values", [])) == (flt.get("operator") in ("Equals", "In"))
                ]
        return _page([a.as_dict() for a in acts], body.get("continuationToken"))

    return router


def unrouted(method: str, path: str, url: str, status: int) -> errors.AdfApiError:
    """ARM's answer for a path no route serves (404) or a method a path does not take (405)."""
    if status == 405:
        return errors.method_not_allowed(method, url)
    _, _, tail = path.partition("/providers/Microsoft.DataFactory/")
    names = [n for n in (tail or path).split("/") if n]
    return errors.invalid_resource_type("/".join(names[0::2]) or path)


def error_response(exc: errors.AdfApiError) -> JSONResponse:
    return JSONResponse(
        status_code=exc.status,
        content=exc.body(),
        headers={"x-ms-failure-cause": "service"} if exc.status >= 500 else None,
    )
