"""Emulated Databricks clusters and their libraries as state: what the Clusters and Libraries APIs return
for them (sandbox/databricks/clusters.py moves them through their life cycles)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sandbox.clock import SimClock
from sandbox.databricks import errors
from sandbox.scenario import ClusterActivity, ClusterSpec

CREATOR = "etl-owner@example.com"


def library_key(spec: dict[str, Any]) -> str:
    """A library's identity, e.g. ``pandas==2.2.0`` or ``dbfs:/libs/x.jar``."""
    if "pypi" in spec:
        return str(spec["pypi"]["package"])
    if "maven" in spec:
        return str(spec["maven"]["coordinates"])
    for kind in ("jar", "whl", "egg", "requirements"):
        if kind in spec:
            return str(spec[kind])
    raise errors.invalid_parameter(f"Library {spec} has no supported type (pypi, maven, jar, whl, requirements).")


@dataclass
class Library:
    spec: dict[str, Any]
    status: str = "PENDING"
    messages: list[str] = field(default_factory=list)
    due: float | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"library": self.spec, "status": self.status, "is_library_for_all_clusters": False}
        if self.messages:
            out["messages"] = self.messages
        return out


@dataclass
class Cluster:
    spec: ClusterSpec
    state: str
    num_workers: int
    autoscale: dict[str, int] | None
    termination_reason: dict[str, Any] | None
    driver_healthy: bool
    fail_starts: int
    state_message: str = ""
    start_time: float = 0.0
    terminated_time: float | None = None
    due: float | None = None
    on_due: Callable[[float], None] | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    planned: list[tuple[float, ClusterActivity]] = field(default_factory=list)
    libraries: list[Library] = field(default_factory=list)
    starts: int = 0
    restarts: int = 0
    resizes: int = 0

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "cluster_id": self.spec.cluster_id,
            "cluster_name": self.spec.cluster_name,
            "spark_version": self.spec.spark_version,
            "node_type_id": self.spec.node_type_id,
            "driver_node_type_id": self.spec.node_type_id,
            "state": self.state,
            "state_message": self.state_message,
            "start_time": SimClock.ms(self.start_time),
            "cluster_source": "UI",
            "creator_user_name": CREATOR,
            "autotermination_minutes": 120,
            "enable_elastic_disk": True,
            "default_tags": {
                "Vendor": "Databricks",
                "Creator": CREATOR,
                "ClusterName": self.spec.cluster_name,
                "ClusterId": self.spec.cluster_id,
            },
        }
        if self.autoscale:
            out["autoscale"] = dict(self.autoscale)
        else:
            out["num_workers"] = self.num_workers
        if self.termination_reason:
            out["termination_reason"] = self.termination_reason
        if self.terminated_time is not None:
            out["terminated_time"] = SimClock.ms(self.terminated_time)
        return out
