"""The class a failure has on each service: the corpus's labels name some classes for one service only
(tests/data/corpus/README.md), and a class is healed on a service only where it has a playbook there
(autoheal/domain/catalog.toml)."""

from __future__ import annotations

from autoheal.domain.knowledge import CodeEntry

__all__ = ["class_of", "class_on"]

# Databricks has no throttling or gateway-timeout class of its own.
_ON_DATABRICKS = {"ThrottlingError": "DatabricksResourceExhausted", "GatewayTimeout": "DatabricksTimeoutError"}
# And the other way: a Databricks class met in an ADF activity's error (a Databricks activity's cluster that did not
# start, a code in a page's title) is the ADF class its playbook reruns: ADF has no cluster to start or driver to
# restart of its own, only the activity to run again (a new job cluster). Not a Databricks cluster out of memory or
# a job's own timeout: the Databricks playbooks scale up or lengthen the timeout first, which a plain rerun does
# not, so those stay Databricks classes that ADF does not heal.
_ON_ADF = {
    "DatabricksClusterStartFailure": "InternalServerError",
    "DatabricksDriverNotResponding": "InternalServerError",
    "DatabricksLibraryInstallationError": "InternalServerError",
}


def class_on(kind: str, service: str | None) -> str:
    """``kind`` as ``service`` names it."""
    if service == "databricks":
        return _ON_DATABRICKS.get(kind, kind)
    return _ON_ADF.get(kind, kind) if service == "adf" else kind


def class_of(entry: CodeEntry, service: str | None) -> str:
    """The class a documented code gives on ``service``."""
    return class_on(entry.error_type, service)
