"""Emulated Databricks clusters and their libraries: the operations that move them through their life
cycles (their state: sandbox/databricks/compute.py)."""

from __future__ import annotations

import bisect
import copy
from collections.abc import Callable
from typing import Any

from sandbox.clock import SimClock
from sandbox.databricks import errors
from sandbox.databricks.compute import CREATOR, Cluster, Library, library_key
from sandbox.scenario import ClusterActivity, ClusterSpec

# Seeded history ends this long (real seconds) before the scenario's load, so before any failure in it.
HISTORY_MARGIN = 0.005


class ClusterOps:
    """Cluster and library operations of a workspace (mixed into :class:`Workspace`)."""

    clock: SimClock
    clusters: dict[str, Cluster]
    failing_libraries: dict[str, str]

    def tick(self) -> None:
        raise NotImplementedError

    def _new_cluster(self, spec: ClusterSpec, now: float) -> Cluster:
        reason = spec.termination_reason.model_dump() if spec.termination_reason else None
        if reason is None and spec.state in ("TERMINATED", "ERROR"):
            # A terminated cluster always says why; with none declared, it timed out idle.
            reason = {"code": "INACTIVITY", "type": "SUCCESS", "parameters": {"inactivity_duration_min": "120"}}
        cluster = Cluster(
            spec=spec,
            state=spec.state,
            num_workers=spec.num_workers,
            autoscale=spec.autoscale.model_dump() if spec.autoscale else None,
            termination_reason=reason,
            driver_healthy=spec.driver_healthy,
            fail_starts=spec.fail_starts,
            start_time=now - 3600,
            terminated_time=now - HISTORY_MARGIN if spec.state in ("TERMINATED", "ERROR") else None,
        )
        if reason:
            cluster.state_message = f"Cluster terminated. Reason: {reason['code']}"
        self._seed_history(cluster, now)
        for lib in spec.libraries:
            status = "INSTALLED"
            if library_key(lib) in self.failing_libraries:
                status = "FAILED"
            cluster.libraries.append(
                Library(spec=lib, status=status, messages=self._lib_messages(lib, status, spec.cluster_id))
            )
        for activity in spec.activity:
            self._add_activity(cluster, activity, now)
        return cluster

    def _seed_history(self, cluster: Cluster, now: float) -> None:
        """The events the declared state implies: created and up an hour ago, then how it got here."""
        spec, scale = cluster.spec, self.clock.scale
        size: dict[str, Any] = {"autoscale": dict(cluster.autoscale)} if cluster.autoscale else {}
        size = size or {"num_workers": cluster.num_workers}
        up = cluster.start_time
        self._event(cluster, "CREATING", up - spec.start_seconds * scale, {"user": CREATOR, "cluster_size": size})
        self._event(cluster, "RUNNING", up, {"current_num_workers": cluster.num_workers})
        self._event(cluster, "DRIVER_HEALTHY", up)
        last = now - HISTORY_MARGIN
        if cluster.state in ("TERMINATED", "ERROR"):
            # There is no TERMINATED event type: the TERMINATING event carries the reason.
            self._event(cluster, "TERMINATING", last - 10 * scale, {"reason": cluster.termination_reason})
        elif cluster.state == "TERMINATING":
            self._event(cluster, "TERMINATING", last, {"reason": _user_request(CREATOR)})
        elif cluster.state == "PENDING":
            self._event(cluster, "STARTING", last, {"user": CREATOR})
        elif cluster.state in ("RESTARTING", "RESIZING"):
            self._event(cluster, cluster.state, last, {"user": CREATOR})
        if not cluster.driver_healthy:
            self._event(
                cluster,
                "DRIVER_NOT_RESPONDING",
                last,
                {"driver_state_message": "Driver is up but is not responsive, likely due to GC."},
            )

    # ---- what other actors do -----------------------------------------------

    def add_activity(self, cluster_id: str, activity: ClusterActivity) -> None:
        """Someone else acts on the cluster (see :class:`ClusterActivity` for when and how)."""
        self._add_activity(self.cluster(cluster_id), activity, self.clock.now())

    def _add_activity(self, cluster: Cluster, activity: ClusterActivity, now: float) -> None:
        at = activity.at_ms / 1000 if activity.at_ms is not None else now + activity.after_seconds * self.clock.scale
        if at < now:
            kind, details = _activity_event(cluster, activity)
            self._event(cluster, kind, at, details)
            return
        bisect.insort(cluster.planned, (at, activity), key=lambda p: p[0])

    def _carry_out(self, cluster: Cluster, activity: ClusterActivity, at: float) -> None:
        try:
            if activity.action == "start":
                self._start(cluster, at, activity.user)
            elif activity.action == "restart":
                self._restart(cluster, at, activity.user)
            elif activity.action == "terminate":
                self._terminate(cluster, at, activity.user)
            else:
                self._resize(cluster, at, activity.user, num_workers=activity.num_workers, autoscale=None)
        except errors.DatabricksApiError:
            pass  # the actor's call was refused, as ours would have been: nothing happened

    def _tick_cluster(self, cluster: Cluster, now: float) -> None:
        """Play out, in time order, the transitions and the others' activity that have come due."""
        while True:
            due = cluster.due if cluster.due is not None and cluster.due <= now and cluster.on_due else None
            planned = cluster.planned[0] if cluster.planned and cluster.planned[0][0] <= now else None
            if planned is not None and (due is None or planned[0] < due):
                cluster.planned.pop(0)
                self._carry_out(cluster, planned[1], planned[0])
            elif due is not None and cluster.on_due is not None:
                action = cluster.on_due
                cluster.due, cluster.on_due = None, None
                action(due)
            else:
                break
        self._tick_libraries(cluster, now)

    def cluster(self, cluster_id: str) -> Cluster:
        self.tick()
        try:
            return self.clusters[cluster_id]
        except KeyError:
            raise errors.invalid_parameter(f"Cluster {cluster_id} does not exist") from None

    def _event(self, cluster: Cluster, kind: str, ts: float, details: dict[str, Any] | None = None) -> None:
        """Log an event in time order (an event dated in the past goes where it belongs)."""
        event = {"cluster_id": cluster.spec.cluster_id, "timestamp": SimClock.ms(ts), "type": kind}
        event["details"] = details or {}
        bisect.insort(cluster.events, event, key=lambda e: e["timestamp"])

    def _schedule(self, cluster: Cluster, at: float, seconds: float, action: Callable[[float], None]) -> None:
        cluster.due = at + seconds * self.clock.scale
        cluster.on_due = action

    def _come_up(self, cluster: Cluster, at: float, *, event: str) -> None:
        if cluster.fail_starts > 0:
            cluster.fail_starts -= 1
            reason = cluster.spec.start_failure.model_dump()
            cluster.state, cluster.termination_reason = "TERMINATED", reason
            cluster.state_message = f"Cluster terminated. Reason: {reason['code']}"
            cluster.terminated_time = at
            self._event(cluster, "TERMINATING", at, {"reason": reason})
            return
        cluster.state, cluster.state_message = "RUNNING", ""
        cluster.termination_reason, cluster.terminated_time = None, None
        cluster.driver_healthy = True
        cluster.start_time = at
        cluster.libraries = [lib for lib in cluster.libraries if lib.status != "UNINSTALL_ON_RESTART"]
        for lib in cluster.libraries:
            lib.status, lib.messages, lib.due = "INSTALLING", [], at + cluster.spec.install_seconds * self.clock.scale
        self._event(cluster, event, at, {"current_num_workers": cluster.num_workers})
        self._event(cluster, "DRIVER_HEALTHY", at)

    def start(self, cluster_id: str) -> None:
        self._start(self.cluster(cluster_id), self.clock.now(), "autoheal")
        self.clusters[cluster_id].starts += 1

    def _start(self, cluster: Cluster, at: float, user: str) -> None:
        if cluster.state not in ("TERMINATED", "ERROR"):
            raise errors.invalid_state(
                f"Cluster {cluster.spec.cluster_id} is in unexpected state {cluster.state.title()}."
            )
        cluster.state, cluster.state_message = (
            "PENDING",
            "Finding instances for new nodes, acquiring more instances if necessary",
        )
        self._event(cluster, "STARTING", at, {"user": user})
        self._schedule(cluster, at, cluster.spec.start_seconds, lambda t: self._come_up(cluster, t, event="RUNNING"))

    def restart(self, cluster_id: str) -> None:
        self._restart(self.cluster(cluster_id), self.clock.now(), "autoheal")
        self.clusters[cluster_id].restarts += 1

    def _restart(self, cluster: Cluster, at: float, user: str) -> None:
        if cluster.state != "RUNNING":
            raise errors.invalid_state(
                f"Cluster {cluster.spec.cluster_id} is in unexpected state {cluster.state.title()}."
            )
        cluster.state, cluster.state_message = "RESTARTING", "Restarting Spark"
        self._event(cluster, "RESTARTING", at, {"user": user})
        self._schedule(cluster, at, cluster.spec.restart_seconds, lambda t: self._come_up(cluster, t, event="RUNNING"))

    def terminate(self, cluster_id: str) -> None:
        self._terminate(self.cluster(cluster_id), self.clock.now(), "autoheal")

    def _terminate(self, cluster: Cluster, at: float, user: str) -> None:
        if cluster.state in ("TERMINATED", "TERMINATING"):
            return
        cluster.state = "TERMINATING"
        reason = _user_request(user)
        self._event(cluster, "TERMINATING", at, {"reason": reason})

        def done(t: float) -> None:
            cluster.state, cluster.termination_reason, cluster.terminated_time = "TERMINATED", reason, t
            cluster.state_message = f"Cluster terminated. Reason: {reason['code']}"

        self._schedule(cluster, at, 10, done)

    def resize(self, cluster_id: str, *, num_workers: int | None, autoscale: dict[str, int] | None) -> None:
        cluster = self.cluster(cluster_id)
        self._resize(cluster, self.clock.now(), "autoheal", num_workers=num_workers, autoscale=autoscale)
        cluster.resizes += 1

    def _resize(
        self, cluster: Cluster, at: float, user: str, *, num_workers: int | None, autoscale: dict[str, int] | None
    ) -> None:
        if cluster.state != "RUNNING":
            raise errors.invalid_state(
                f"Cluster {cluster.spec.cluster_id} is in unexpected state {cluster.state.title()}."
            )
        if num_workers is None and autoscale is None:
            raise errors.invalid_parameter("Either num_workers or autoscale must be specified.")
        cluster.state = "RESIZING"
        previous = cluster.num_workers
        self._event(
            cluster,
            "RESIZING",
            at,
            {"current_num_workers": previous, "target_num_workers": num_workers or 0, "user": user},
        )

        def done(t: float) -> None:
            if autoscale is not None:
                cluster.autoscale = dict(autoscale)
                cluster.num_workers = max(cluster.num_workers, autoscale["min_workers"])
            else:
                cluster.autoscale, cluster.num_workers = None, int(num_workers or 0)
            cluster.state = "RUNNING"
            self._event(cluster, "UPSIZE_COMPLETED", t, {"current_num_workers": cluster.num_workers})

        self._schedule(cluster, at, cluster.spec.resize_seconds, done)

    def edit(self, cluster_id: str, body: dict[str, Any]) -> None:
        cluster = self.cluster(cluster_id)
        if cluster.state not in ("RUNNING", "TERMINATED"):
            raise errors.invalid_state(f"Cluster {cluster_id} is in unexpected state {cluster.state.title()}.")
        if body.get("autoscale"):
            cluster.autoscale = dict(body["autoscale"])
        elif "num_workers" in body:
            cluster.autoscale, cluster.num_workers = None, int(body["num_workers"])
        self._event(cluster, "EDITED", self.clock.now(), {"user": "autoheal"})
        if cluster.state == "RUNNING":  # an edit of a running cluster restarts it
            cluster.state = "RESTARTING"
            self._schedule(
                cluster,
                self.clock.now(),
                cluster.spec.restart_seconds,
                lambda at: self._come_up(cluster, at, event="RUNNING"),
            )

    def events(self, cluster_id: str, body: dict[str, Any]) -> dict[str, Any]:
        cluster = self.cluster(cluster_id)
        events = cluster.events
        if body.get("start_time"):
            events = [e for e in events if e["timestamp"] >= int(body["start_time"])]
        if body.get("end_time"):
            events = [e for e in events if e["timestamp"] <= int(body["end_time"])]
        if body.get("event_types"):
            events = [e for e in events if e["type"] in body["event_types"]]
        if body.get("order", "DESC") == "DESC":
            events = list(reversed(events))
        offset, limit = int(body.get("offset") or 0), int(body.get("limit") or 50)
        page = events[offset : offset + limit]
        out: dict[str, Any] = {"events": copy.deepcopy(page), "total_count": len(events)}
        if offset + limit < len(events):
            out["next_page"] = {
                **{k: v for k, v in body.items() if k not in ("page_token", "page_size")},
                "offset": offset + limit,
                "limit": limit,
            }
        return out

    # ---- libraries ----------------------------------------------------------

    def _lib_messages(self, spec: dict[str, Any], status: str, cluster_id: str) -> list[str]:
        if status != "FAILED":
            return []
        key = library_key(spec)
        detail = self.failing_libraries.get(key, "")
        return [
            f"Library installation attempted on the driver node of cluster {cluster_id} and failed. "
            f"Please refer to the following error message to fix the library or contact Databricks support. "
            f"Error Code: DRIVER_LIBRARY_INSTALLATION_FAILURE. Error Message: {detail}"
        ]

    def _tick_libraries(self, cluster: Cluster, now: float) -> None:
        for lib in cluster.libraries:
            if lib.status == "INSTALLING" and lib.due is not None and lib.due <= now:
                failed = library_key(lib.spec) in self.failing_libraries
                lib.status = "FAILED" if failed else "INSTALLED"
                lib.messages = self._lib_messages(lib.spec, lib.status, cluster.spec.cluster_id)
                lib.due = None

    def install(self, cluster_id: str, libraries: list[dict[str, Any]]) -> None:
        cluster = self.cluster(cluster_id)
        for spec in libraries:
            key = library_key(spec)
            existing = [lib for lib in cluster.libraries if library_key(lib.spec) == key]
            if existing and existing[0].status != "UNINSTALL_ON_RESTART":
                continue
            lib = existing[0] if existing else Library(spec=spec)
            if not existing:
                cluster.libraries.append(lib)
            if cluster.state == "RUNNING":
                lib.status = "INSTALLING"
                lib.due = self.clock.now() + cluster.spec.install_seconds * self.clock.scale
            else:
                lib.status = "PENDING"

    def uninstall(self, cluster_id: str, libraries: list[dict[str, Any]]) -> None:
        cluster = self.cluster(cluster_id)
        keys = {library_key(spec) for spec in libraries}
        for lib in cluster.libraries:
            if library_key(lib.spec) in keys:
                lib.status, lib.messages = "UNINSTALL_ON_RESTART", []

    def library_status(self, cluster_id: str) -> dict[str, Any]:
        cluster = self.cluster(cluster_id)
        return {"cluster_id": cluster_id, "library_statuses": [lib.as_dict() for lib in cluster.libraries]}


def _user_request(user: str) -> dict[str, Any]:
    return {"code": "USER_REQUEST", "type": "SUCCESS", "parameters": {"username": user}}


def _activity_event(cluster: Cluster, activity: ClusterActivity) -> tuple[str, dict[str, Any]]:
    """The event an activity leaves in the log, for one that is history."""
    if activity.action == "terminate":
        return "TERMINATING", {"reason": _user_request(activity.user)}
    if activity.action == "resize":
        return "RESIZING", {
            "current_num_workers": cluster.num_workers,
            "target_num_workers": activity.num_workers or 0,
            "user": activity.user,
        }
    return ("STARTING" if activity.action == "start" else "RESTARTING"), {"user": activity.user}
