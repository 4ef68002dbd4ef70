"""State machines of emulated Data Factories: pipelines, pipeline runs, activity runs.

Activities of a run execute one after another in pipeline order. A recovery
run (``isRecovery`` + ``startFromFailure``) executes only the failed activity
of its reference run and those after it, in the reference run's group.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sandbox.adf import errors
from sandbox.clock import SimClock
from sandbox.scenario import ActivitySpec, AdfSpec, FactorySpec, PipelineSpec

TERMINAL = {"Succeeded", "Failed", "Cancelled"}
API_VERSION = "2018-06-01"


@dataclass
class ActivityRun:
    spec: ActivitySpec
    pipeline_run: PipelineRun
    activity_run_id: str = ""

    def __post_init__(self) -> None:
        if not self.activity_run_id:
            self.activity_run_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.pipeline_run.run_id}/{self.spec.name}"))

    status: str = "InProgress"
    start: float = 0.0
    end: float | None = None
    error: dict[str, str] | None = None

    def as_dict(self) -> dict[str, Any]:
        run = self.pipeline_run
        error = self.error or {"errorCode": "", "message": "", "failureType": ""}
        return {
            "pipelineName": run.pipeline.spec.name,
            "pipelineRunId": run.run_id,
            "activityName": self.spec.name,
            "activityType": self.spec.type,
            "activityRunId": self.activity_run_id,
            "linkedServiceName": "",
            "status": self.status,
            "activityRunStart": SimClock.iso(self.start),
            "activityRunEnd": SimClock.iso(self.end),
            "durationInMs": int((self.end - self.start) * 1000) if self.end else None,
            "input": {"source": {"type": "BlobSource"}},
            "output": {} if self.status != "Succeeded" else {"dataRead": 1024, "rowsCopied": 10},
            "error": {**error, "target": self.spec.name},
            "retryAttempt": None,
            "userProperties": {},
        }


@dataclass
class PipelineRun:
    run_id: str
    run_group_id: str
    pipeline: Pipeline
    queue: list[ActivitySpec]
    is_recovery: bool = False
    reference_run_id: str | None = None
    status: str = "Queued"
    start: float = 0.0
    end: float | None = None
    last_updated: float = 0.0
    message: str = ""
    is_latest: bool = True
    activities: list[ActivityRun] = field(default_factory=list)
    due: float | None = None
    parameters: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": f"{self.pipeline.factory.resource_id}/pipelineruns/{self.run_id}",
            "runId": self.run_id,
            "runGroupId": self.run_group_id,
            "isLatest": self.is_latest,
            "pipelineName": self.pipeline.spec.name,
            "parameters": dict(self.parameters),
            "invokedBy": {
                "id": uuid.uuid5(uuid.NAMESPACE_URL, self.run_id).hex,
                "name": "Manual",
                "invokedByType": "Manual",
            },
            "runStart": SimClock.iso(self.start),
            "runEnd": SimClock.iso(self.end),
            "durationInMs": int((self.end - self.start) * 1000) if self.end else None,
            "status": self.status,
            "message": self.message,
            "lastUpdated": SimClock.iso(self.last_updated),
            "annotations": [],
            "runDimension": {},
        }
        if self.is_recovery:
            out["runDimension"] = {"RecoveryReference": self.reference_run_id or ""}
        return out


@dataclass
class Pipeline:
    spec: PipelineSpec
    factory: Factory

    def as_dict(self) -> dict[str, Any]:
        activities = []
        previous: str | None = None
        for a in self.spec.activities:
            depends = [{"activity": previous, "dependencyConditions": ["Succeeded"]}] if previous else []
            activities.append(
                {
                    "name": a.name,
                    "type": a.type,
                    "dependsOn": depends,
                    "policy": {"timeout": "0.12:00:00", "retry": 0},
                    "userProperties": [],
                }
            )
            previous = a.name
        return {
            "id": f"{self.factory.resource_id}/pipelines/{self.spec.name}",
            "name": self.spec.name,
            "type": "Microsoft.DataFactory/factories/pipelines",
            "etag": "0a006cd4-0000-0000-0000-000000000000",
            "properties": {
                "activities": activities,
                "parameters": {},
                "annotations": list(self.spec.annotations),
                **({"folder": {"name": self.spec.folder}} if self.spec.folder else {}),
            },
        }


@dataclass
class Factory:
    spec: FactorySpec
    subscription_id: str
    pipelines: dict[str, Pipeline] = field(default_factory=dict)
    runs: dict[str, PipelineRun] = field(default_factory=dict)
    created: float = 0.0

    @property
    def resource_id(self) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.spec.resource_group}"
            f"/providers/Microsoft.DataFactory/factories/{self.spec.name}"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.resource_id,
            "name": self.spec.name,
            "type": "Microsoft.DataFactory/factories",
            "location": self.spec.location,
            "tags": {},
            "etag": "00000000-0000-0000-0000-000000000000",
            "properties": {
                "provisioningState": "Succeeded",
                "createTime": SimClock.iso(self.created),
                "version": API_VERSION,
            },
        }


class DataFactories:
    """All factories of one emulated subscription."""

    def __init__(self, spec: AdfSpec, clock: SimClock) -> None:
        self.clock = clock
        self.subscription_id = spec.subscription_id
        self.token = spec.token
        self.factories: dict[tuple[str, str], Factory] = {}
        self._runs_created = 0
        self.seed = spec.run_id_seed
        now = clock.now()
        for f in spec.factories:
            factory = Factory(spec=f.model_copy(deep=True), subscription_id=spec.subscription_id, created=now)
            for p in factory.spec.pipelines:
                factory.pipelines[p.name] = Pipeline(spec=p, factory=factory)
            self.factories[(f.resource_group.lower(), f.name.lower())] = factory
        for r in spec.runs:
            factory = next(f for f in self.factories.values() if f.spec.name == r.factory)
            self.create_run(factory, r.pipeline)

    # ---- lookup -------------------------------------------------------------

    def factory(self, subscription_id: str, resource_group: str, name: str) -> Factory:
        self.tick()
        factory = self.factories.get((resource_group.lower(), name.lower()))
        if subscription_id.lower() != self.subscription_id.lower():
            raise errors.subscription_not_found(subscription_id)
        if factory is None:
            raise errors.resource_not_found("Microsoft.DataFactory/factories", name, resource_group)
        return factory

    def pipeline(self, factory: Factory, name: str) -> Pipeline:
        pipeline = factory.pipelines.get(name)
        if pipeline is None:
            raise errors.entity_not_found("pipeline", name)
        return pipeline

    def run(self, factory: Factory, run_id: str) -> PipelineRun:
        run = factory.runs.get(run_id)
        if run is None:
            raise errors.AdfApiError(404, "PipelineRunNotFound", f"The pipeline run '{run_id}' was not found.")
        return run

    # ---- runs ---------------------------------------------------------------

    def create_run(
        self,
        factory: Factory,
        pipeline_name: str,
        *,
        reference_run_id: str | None = None,
        is_recovery: bool = False,
        start_from_failure: bool = False,
        parameters: dict[str, Any] | None = None,
    ) -> PipelineRun:
        self.tick()
        pipeline = self.pipeline(factory, pipeline_name)
        # Deterministic GUIDs: the same scenario gives the same run ids, so bundled alerts can name them.
        self._runs_created += 1
        run_id = str(
            uuid.uuid5(uuid.NAMESPACE_URL, f"{self.seed}{factory.resource_id}/{pipeline_name}/{self._runs_created}")
        )
        group, queue = run_id, list(pipeline.spec.activities)
        reference: PipelineRun | None = None
        if reference_run_id:
            reference = self.run(factory, reference_run_id)
            if reference.pipeline is not pipeline:
                raise errors.AdfApiError(
                    400, "BadRequest", f"Reference pipeline run '{reference_run_id}' belongs to another pipeline."
                )
        if is_recovery and reference is not None:
            if reference.status not in TERMINAL:
                raise errors.AdfApiError(
                    400,
                    "BadRequest",
                    f"Pipeline run '{reference_run_id}' is still {reference.status}; "
                    "only a completed run can be rerun.",
                )
            group = reference.run_group_id
            if start_from_failure:
                failed = [a.spec.name for a in reference.activities if a.status in ("Failed", "Cancelled")]
                if not failed:
                    raise errors.AdfApiError(
                        400, "BadRequest", f"Pipeline run '{reference_run_id}' has no failed activity to start from."
                    )
                names = [a.name for a in pipeline.spec.activities]
                queue = list(pipeline.spec.activities[names.index(failed[0]) :])
            for other in factory.runs.values():
                if other.run_group_id == group:
                    other.is_latest = False
        now = self.clock.now()
        run = PipelineRun(
            run_id=run_id,
            run_group_id=group,
            pipeline=pipeline,
            queue=queue,
            is_recovery=is_recovery and reference is not None,
            reference_run_id=reference_run_id,
            start=now,
            last_updated=now,
            parameters=parameters or {},
        )
        run.due = self.clock.after(2)
        factory.runs[run_id] = run
        return run

    def cancel(self, factory: Factory, run_id: str) -> None:
        run = self.run(factory, run_id)
        if run.status in TERMINAL:
            return
        now = self.clock.now()
        for activity in run.activities:
            if activity.status == "InProgress":
                activity.status, activity.end = "Cancelled", now
        run.queue, run.due = [], None
        run.status, run.end, run.last_updated, run.message = "Cancelled", now, now, "Cancelled by user"

    def tick(self) -> None:
        now = self.clock.now()
        for factory in self.factories.values():
            for run in list(factory.runs.values()):
                self._tick_run(factory, run, now)

    def _tick_run(self, factory: Factory, run: PipelineRun, now: float) -> None:
        while run.due is not None and run.due <= now:
            at = run.due
            run.due = None
            run.status, run.last_updated = "InProgress", at
            current = run.activities[-1] if run.activities and run.activities[-1].status == "InProgress" else None
            if current is not None:
                self._finish_activity(factory, current, at)
                if current.status == "Failed":
                    self._finish(
                        run,
                        at,
                        f"Operation on target {current.spec.name} failed: {(current.error or {}).get('message', '')}",
                    )
                    return
            if not run.queue:
                self._finish(run, at, "")
                return
            spec = run.queue.pop(0)
            run.activities.append(ActivityRun(spec=spec, pipeline_run=run, start=at))
            run.due = at + spec.duration_seconds * self.clock.scale

    def _finish_activity(self, factory: Factory, activity: ActivityRun, at: float) -> None:
        activity.end = at
        spec = activity.spec
        if spec.requires_upstream and not self._upstream_ready(factory, spec.requires_upstream, at):
            activity.status, activity.error = "Failed", spec.missing_blob_error.model_dump()
        elif spec.fail_times > 0:
            spec.fail_times -= 1
            activity.status, activity.error = "Failed", spec.error.model_dump()
        else:
            activity.status = "Succeeded"

    @staticmethod
    def _upstream_ready(factory: Factory, pipeline_name: str, at: float) -> bool:
        return any(
            r.pipeline.spec.name == pipeline_name and r.status == "Succeeded" and (r.end or 0) <= at
            for r in factory.runs.values()
        )

    @staticmethod
    def _finish(run: PipelineRun, at: float, message: str) -> None:
        run.status = "Failed" if message else "Succeeded"
        run.end, run.last_updated, run.message = at, at, message

    def counts(self) -> dict[str, int]:
        runs = [r for f in self.factories.values() for r in f.runs.values()]
        return {
            "pipeline_runs": len(runs),
            "recovery_runs": sum(1 for r in runs if r.is_recovery),
            "activity_executions": sum(len(r.activities) for r in runs),
            "activity_executions_in_recovery": sum(len(r.activities) for r in runs if r.is_recovery),
        }
