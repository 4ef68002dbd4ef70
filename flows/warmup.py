"""Imported by the fork server (flows/launcher.py), after the flow modules: pays once the
first-use costs that every forked flow run would otherwise pay again.

Building Prefect's settings the first time in a process cost 0.29 CPU-s (pydantic-settings checks
each field's annotation against collections.abc classes, and those checks are cached only once
made); a forked run inherits the warm caches and builds its own settings in 0.03 s. The objects
built here are thrown away: each run still reads its own environment and catalog.
"""

from __future__ import annotations

from prefect.settings.models.root import Settings as PrefectSettings

from autoheal.domain.catalog import load_catalog
from autoheal.domain.classifier import RuleClassifier
from autoheal.domain.knowledge import load_all
from autoheal.settings import Settings
from flows.children import die_with_parent

# The fork server stops with `flows.serve`, its parent, even when that is killed (flows/children.py).
die_with_parent()

try:
    PrefectSettings()
    # The rules' patterns land in the re module's cache and the compiled signs in signs.py's, so a run's
    # own classifier compiles and parses none of them.
    RuleClassifier(load_catalog(Settings().catalog_file))
    load_all()  # the code tables the classifier reads, packaged data
except Exception:  # best effort: a bad setting or catalog is reported by the run that reads it
    pass
