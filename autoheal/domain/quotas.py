"""A quota's numbers, where a message gives them: whether the request fits once the others using the quota
let go (it frees, a transient sign says so), or asks for more than there is at all (no wait makes it fit)."""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Ask", "cores_quota", "spark_pool"]

# Azure's regional or family cores quota: "Current Limit: 8, Current Usage: 0, Additional Required: 32".
_QUOTA = re.compile(r"current limit:?\s*(\d+).{0,80}?additional required:?\s*(\d+)", re.DOTALL)
# Synapse's Spark capacity check, after its documentation (learn.microsoft.com/azure/synapse-analytics/spark/
# apache-spark-concepts, workspace level): "Your Spark job requested 480 vCores. However, the workspace only
# has 96 vCores available out of quota of 800 vCores", "However, the pool is consuming 160 vCores out of
# available 192 vCores", "However, the workspace has a 12 core limit". The last number is all there is.
_VCORES = re.compile(
    r"requested (\d+) v?cores.{0,40}?however, the (?:workspace|pool)\b.{0,80}?"
    r"(?:out of (?:quota of |available )?(\d+) v?cores|has an? (\d+) v?core limit)",
    re.DOTALL,
)


@dataclass(frozen=True, slots=True)
class Ask:
    """What a request needs against all the quota allows."""

    need: int
    limit: int

    @property
    def fits(self) -> bool:
        return self.need <= self.limit


def cores_quota(text: str) -> Ask | None:
    """The cores an Azure deployment asked for and the quota's limit, in a lower-cased message."""
    found = _QUOTA.search(text) if "quota" in text else None
    return Ask(need=int(found.group(2)), limit=int(found.group(1))) if found else None


def spark_pool(text: str) -> Ask | None:
    """The vCores a Synapse Spark job asked for and all the workspace or pool has, in a lower-cased message."""
    found = _VCORES.search(text) if "cores" in text else None
    return Ask(need=int(found.group(1)), limit=int(found.group(2) or found.group(3))) if found else None
