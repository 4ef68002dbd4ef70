"""HTTP playbooks: for teams that keep their Logic Apps and Functions. The catalog names
``http.NAME`` for an error type; AUTOHEAL_HTTP_PLAYBOOKS maps NAME to the URL. The playbook POSTs the
incident (the body below) with the secret header (or the Function key in the URL), bounded, then
verifies through the SDKs like every other playbook: the rerun the endpoint started is found and
followed to success, or the cluster reaches RUNNING. A 200 alone is not a success: with no rerun to
find, the outcome is "not verified" and the incident escalates.

The body (``schema: autoheal.playbook/v1``), camelCase so a Logic App's expressions read it directly::

    {"schema": "autoheal.playbook/v1", "playbook": "http.retry_pipeline", "incidentId": 12, "attempt": 1,
     "service": "adf", "errorType": "GatewayTimeout", "errorCode": "2108", "errorMessage": "...",
     "subscriptionId": "...", "resourceGroup": "rg-data", "factoryName": "adf-sales",
     "pipelineName": "CopySales", "runId": "...", "jobId": null, "clusterId": null,
     "failedAt": "2026-11-29T23:10:00Z"}
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from autoheal.cloud.adf_runs import query_runs, run_filter
from autoheal.cloud.databricks_runs import run_summary, succeeded, terminal
from autoheal.cloud.errors import translated
from autoheal.cloud.polling import Clock, Limits, PollTimeout, poll
from autoheal.domain.outcome import Outcome, PermanentFailure, TransientFailure
from autoheal.domain.values import Target
from autoheal.settings import Settings
from playbooks import adf

T = TypeVar("T")

PREFIX = "http."
SCHEMA = "autoheal.playbook/v1"
SKEW = timedelta(seconds=5)  # the endpoint's clock and ours


class PlaybookRequest(BaseModel):
    """The documented JSON body an HTTP playbook receives."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    schema_: str = SCHEMA
    playbook: str
    incident_id: int | None = None
    attempt: int = 1
    service: str
    error_type: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    subscription_id: str | None = None
    resource_group: str | None = None
    factory_name: str | None = None
    pipeline_name: str | None = None
    run_id: str | None = None
    job_id: str | None = None
    cluster_id: str | None = None
    failed_at: datetime | None = None

    def body(self) -> dict[str, Any]:
        data = self.model_dump(mode="json", by_alias=True)
        data["schema"] = data.pop("schema_")
        return data


def _where(url: str) -> str:
    """The URL without its query: a Function key or a Logic App's signature (sig=) stays out of errors."""
    parsed = httpx.URL(url)
    return f"{parsed.scheme}://{parsed.host}{f':{parsed.port}' if parsed.port else ''}{parsed.path}"


def post(url: str, body: dict[str, Any], settings: Settings, clock: Clock) -> int:
    """POST the body; retries connection errors, 429 and 5xx (bounded); a 4xx is a person's problem."""
    headers = {"Content-Type": "application/json"}
    if settings.http_playbook_secret:
        headers[settings.http_playbook_header] = settings.http_playbook_secret.get_secret_value()
    where = _where(url)
    last = ""
    with httpx.Client(timeout=settings.http_playbook_timeout_seconds) as client:
        for attempt in range(settings.http_playbook_retries + 1):
            if attempt:
                clock.sleep(min(2.0**attempt, 30.0))
            try:
                response = client.post(url, json=body, headers=headers)
            except httpx.HTTPError as exc:
                last = f"{type(exc).__name__}"
                continue
            if response.status_code == 429 or response.status_code >= 500:
                last = f"HTTP {response.status_code}"
                continue
            if response.status_code >= 400:
                raise PermanentFailure(
                    f"{where} refused the playbook call: HTTP {response.status_code} (check the URL and "
                    f"AUTOHEAL_HTTP_PLAYBOOK_SECRET / _HEADER)"
                )
            return response.status_code
    raise TransientFailure(
        f"{where} did not take the playbook call after {settings.http_playbook_retries + 1} tries: {last}"
    )


def run_http(
    name: str, target: Target, settings: Settings, client: Any, clock: Clock, limits: Limits, request: PlaybookRequest
) -> Outcome:
    short = name.removeprefix(PREFIX)
    url = settings.http_playbooks.get(short)
    if url is None:
        raise PermanentFailure(f"no URL for playbook {name}: add {short!r} to AUTOHEAL_HTTP_PLAYBOOKS")
    if target.service == "adf":
        return _adf(name, url.get_secret_value(), target, settings, client, clock, limits, request)
    return _databricks(name, url.get_secret_value(), target, settings, client, clock, limits, request)


def _adf(
    name: str,
    url: str,
    target: Target,
    settings: Settings,
    client: Any,
    clock: Clock,
    limits: Limits,
    request: PlaybookRequest,
) -> Outcome:
    rg, factory = target.require_adf(settings)
    started = time.monotonic()
    outcome = Outcome(playbook=name, target=f"{factory}/pipelineruns/{target.run_id}")
    with translated(f"get pipeline run {target.run_id}"):
        failed = client.pipeline_runs.get(rg, factory, target.run_id)
    outcome.state_before = {"run_id": failed.run_id, "status": failed.status, "pipeline": failed.pipeline_name}
    since = (failed.run_start or datetime.now(UTC)) - timedelta(minutes=5)

    def runs_after_ours() -> list[Any]:
        """Runs of the pipeline, or of the failed run's group (a recovery run), other than the failed one."""
        group = query_runs(client, rg, factory, run_filter(since, RunGroupId=failed.run_group_id))
        fresh = query_runs(client, rg, factory, run_filter(since, PipelineName=failed.pipeline_name))
        out: dict[str, Any] = {}
        for run in [*group, *fresh]:
            if run.run_id != failed.run_id:
                out.setdefault(run.run_id, run)
        return list(out.values())

    with limits.guard(f"pipeline-run:{factory}/{failed.run_group_id}"):
        existing = [r for r in runs_after_ours() if r.run_group_id == failed.run_group_id]
        if existing:  # a rerun is already there (an earlier attempt's): follow it, do not call again
            newest = max(existing, key=lambda r: r.run_start or since)
            outcome.step(f"recovery run {newest.run_id} already exists ({newest.status}): following it")
            posted_at = None
            known: set[str] = set()
        else:
            known = {r.run_id for r in runs_after_ours()}
            posted_at = datetime.now(UTC)
            request = request.model_copy(
                update={"resource_group": rg, "factory_name": factory, "pipeline_name": failed.pipeline_name}
            )
            status = post(url, request.body(), settings, clock)
            outcome.step(f"POST {_where(url)}: HTTP {status}")

    if posted_at is not None:

        def new_run() -> Any:
            for run in runs_after_ours():
                if run.run_id not in known and (run.run_start is None or run.run_start >= posted_at - SKEW):
                    return run
            return None

        newest = _started_by_the_call(
            new_run, url, f"rerun of {failed.pipeline_name}", outcome, started, settings, clock, limits
        )
        if newest is None:
            return outcome
        outcome.step(f"the endpoint started run {newest.run_id}")
    outcome.created_ids["run_id"] = newest.run_id
    final = adf._wait(client, rg, factory, newest.run_id, clock=clock, limits=limits)
    outcome.action = "http_call_then_rerun" if posted_at else "followed_existing_rerun"
    outcome.state_after = {"run_id": final.run_id, "status": final.status, "pipeline": final.pipeline_name}
    outcome.duration_seconds = time.monotonic() - started
    if final.status != "Succeeded":
        outcome.detail = final.message or ""
        raise TransientFailure(f"run {final.run_id} started by {_where(url)} ended {final.status}", outcome=outcome)
    outcome.verified = True
    return outcome


def _started_by_the_call(
    find: Callable[[], T | None],
    url: str,
    what: str,
    outcome: Outcome,
    started: float,
    settings: Settings,
    clock: Clock,
    limits: Limits,
) -> T | None:
    """What the endpoint started, polled for up to AUTOHEAL_HTTP_PLAYBOOK_VERIFY_SECONDS; None, with the
    outcome marked "not verified", when nothing did: an endpoint's 200 is not a fix."""
    try:
        return poll(
            find,
            lambda r: r is not None,
            clock=clock,
            interval=limits.poll_interval,
            timeout=settings.http_playbook_verify_seconds,
            what=f"a {what} started by {_where(url)}",
        )
    except PollTimeout:
        outcome.action = "http_call"
        outcome.detail = (
            f"not verified: {_where(url)} answered, but no {what} started within "
            f"{settings.http_playbook_verify_seconds:g} s"
        )
        outcome.duration_seconds = time.monotonic() - started
        return None


def _databricks(
    name: str,
    url: str,
    target: Target,
    settings: Settings,
    w: Any,
    clock: Clock,
    limits: Limits,
    request: PlaybookRequest,
) -> Outcome:
    """A job run: a new repair of it (or a new run of its job) is followed to success. A cluster alone:
    the cluster must reach RUNNING."""
    started = time.monotonic()
    if not target.run_id and target.cluster_id:
        return _cluster(name, url, target.cluster_id, settings, w, clock, limits, request, started)
    run_id = target.databricks_run_id()
    outcome = Outcome(playbook=name, target=f"jobs/runs/{run_id}")
    with translated(f"get run {run_id}"):
        run = w.jobs.get_run(run_id, include_history=True)
    outcome.state_before["run"] = run_summary(run)
    repairs_before = {h.id for h in run.repair_history or []}
    posted_ms = int(time.time() * 1000)
    request = request.model_copy(update={"job_id": str(run.job_id) if run.job_id else request.job_id})
    status = post(url, request.body(), settings, clock)
    outcome.step(f"POST {_where(url)}: HTTP {status}")

    def started_something() -> Any:
        with translated(f"get run {run_id}"):
            current = w.jobs.get_run(run_id, include_history=True)
        if {h.id for h in current.repair_history or []} - repairs_before or not terminal(current):
            return ("repair", current)
        if run.job_id:
            with translated(f"list runs of job {run.job_id}"):
                for other in w.jobs.list_runs(job_id=run.job_id, start_time_from=posted_ms - 5000):
                    if other.run_id != run_id:
                        return ("run", other)
        return None

    change = _started_by_the_call(
        started_something,
        url,
        f"repair of run {run_id} nor new run of its job",
        outcome,
        started,
        settings,
        clock,
        limits,
    )
    if change is None:
        return outcome
    kind, found = change
    followed = int(found.run_id)
    outcome.step(
        f"the endpoint started a {kind} ({'run ' + str(followed) if kind == 'run' else 'of run ' + str(run_id)})"
    )
    outcome.created_ids["run_id"] = str(followed)

    def fetch() -> Any:
        with translated(f"get run {followed}"):
            return w.jobs.get_run(followed, include_history=True)

    try:
        final = poll(
            fetch,
            terminal,
            clock=clock,
            interval=limits.poll_interval,
            timeout=limits.run_timeout,
            what=f"run {followed}",
        )
    except PollTimeout as exc:
        raise TransientFailure(str(exc), outcome=outcome) from exc
    outcome.state_after["run"] = run_summary(final)
    outcome.action = f"http_call_then_{kind}"
    outcome.duration_seconds = time.monotonic() - started
    if not succeeded(final):
        raise TransientFailure(f"run {followed} after {_where(url)} ended unsuccessfully", outcome=outcome)
    outcome.verified = True
    return outcome


def _cluster(
    name: str,
    url: str,
    cluster_id: str,
    settings: Settings,
    w: Any,
    clock: Clock,
    limits: Limits,
    request: PlaybookRequest,
    started: float,
) -> Outcome:
    outcome = Outcome(playbook=name, target=f"clusters/{cluster_id}")
    status = post(url, request.body(), settings, clock)
    outcome.step(f"POST {_where(url)}: HTTP {status}")

    def fetch() -> Any:
        with translated(f"get cluster {cluster_id}"):
            return w.clusters.get(cluster_id)

    try:
        cluster = poll(
            fetch,
            lambda c: c.state is not None and c.state.value == "RUNNING",
            clock=clock,
            interval=limits.poll_interval,
            timeout=min(settings.http_playbook_verify_seconds, limits.cluster_timeout),
            what=f"cluster {cluster_id} RUNNING",
        )
    except PollTimeout as exc:
        outcome.action = "http_call"
        outcome.detail = f"not verified: cluster {cluster_id} did not reach RUNNING after {_where(url)} answered"
        outcome.state_after["cluster"] = str(getattr(getattr(exc.last, "state", None), "value", None))
        outcome.duration_seconds = time.monotonic() - started
        return outcome
    outcome.action = "http_call_then_cluster_running"
    outcome.state_after["cluster"] = cluster.state.value
    outcome.verified = True
    outcome.duration_seconds = time.monotonic() - started
    return outcome
