"""The classifier's full output, recorded for every corpus line (both parts), for every line again as
text alone, for every line as Facts with structured fields, and for every documented code: a change
made for speed must leave every classification exactly as it was.

Record again (only when a change is meant to change classifications):
``RECORD_CLASSIFIER_GOLDEN=1 python -m pytest tests/unit/test_classifier_golden.py``.
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from autoheal.domain.catalog import load_catalog
from autoheal.domain.classifier import Classification, RuleClassifier, built
from autoheal.domain.knowledge import Table, table
from autoheal.domain.values import Facts, Target

DATA = Path(__file__).parents[1] / "data"
GOLDEN = DATA / "classifier-golden.json.gz"
CLASSIFIER = RuleClassifier(load_catalog())

_CLUSTER = sorted(table(Table.CLUSTER))
_RUN = sorted(table(Table.RUN))
_FAILURE_TYPES = (None, "UserError", "SystemError")


def _lines() -> list[dict[str, Any]]:
    out = []
    for part in ("dev", "heldout"):
        text = (DATA / "corpus" / f"errors-{part}.jsonl").read_text()
        out.extend(json.loads(line) for line in text.splitlines() if line.strip())
    return out


def _facts(service: str, message: str | None, **fields: Any) -> Facts:
    return Facts(target=Target(service=service, run_id="1"), lineage="golden", error_message=message, **fields)  # type: ignore[arg-type]


def cases() -> Iterator[tuple[str, Any]]:
    """(key, classification) for every case, in a fixed order."""
    for i, item in enumerate(_lines()):
        key, message, service, code = str(item["id"]), str(item["message"]), str(item["service"]), item["error_code"]
        code = str(code) if code is not None else None
        yield f"{key}/text", CLASSIFIER.classify_text(message, service=service, error_code=code)
        yield f"{key}/bare", CLASSIFIER.classify_text(message)
        fields: dict[str, Any] = {"error_code": code, "failure_type": _FAILURE_TYPES[i % 3]}
        if service == "databricks":
            fields["termination_code"] = _CLUSTER[i % len(_CLUSTER)] if i % 4 == 0 else None
            fields["run_termination_code"] = _RUN[i % len(_RUN)] if i % 4 == 1 else None
            if i % 5 == 0:
                fields["termination_parameters"] = {"databricks_error_message": message[:120]}
        yield f"{key}/facts", CLASSIFIER.classify(_facts(service, message, **fields))
    for name in Table:
        for code in sorted(table(name)):
            for service in ("adf", "databricks"):
                yield (
                    f"{name.value}:{code}/{service}/code",
                    CLASSIFIER.classify_text("", service=service, error_code=code),
                )
                yield (
                    f"{name.value}:{code}/{service}/text",
                    CLASSIFIER.classify_text(f"Job failed. ErrorCode={code} {code}", service=service),
                )
    for code in _CLUSTER:
        yield f"cluster:{code}/facts", CLASSIFIER.classify(_facts("databricks", None, termination_code=code))
    for code in _RUN:
        yield (
            f"run:{code}/facts",
            CLASSIFIER.classify(_facts("databricks", "See the run's output.", run_termination_code=code)),
        )


def _record() -> dict[str, Any]:
    return {key: result.model_dump(mode="json") for key, result in cases()}


def test_every_classification_is_as_recorded() -> None:
    actual = _record()
    if os.environ.get("RECORD_CLASSIFIER_GOLDEN"):
        GOLDEN.write_bytes(gzip.compress(json.dumps(actual, indent=0, sort_keys=True).encode(), mtime=0))
    expected = json.loads(gzip.decompress(GOLDEN.read_bytes()))
    assert actual.keys() == expected.keys()
    changed = [key for key in actual if actual[key] != expected[key]]
    assert not changed, f"{len(changed)} changed, first: {changed[0]}: {expected[changed[0]]} -> {actual[changed[0]]}"


def test_built_is_model_construct() -> None:
    """The classifier's fast constructor gives what pydantic's model_construct gives, field for field."""
    fast = built("GatewayTimeout", True, 0.75, "sign:no-answer", None, False, ["no-answer: 'timed out'"])
    slow = Classification.model_construct(
        error_type="GatewayTimeout",
        remediable=True,
        confidence=0.75,
        rule="sign:no-answer",
        classifier="rules",
        vetoed_by=None,
        abstained=False,
        evidence=["no-answer: 'timed out'"],
    )
    assert fast == slow and repr(fast) == repr(slow) and fast.model_dump() == slow.model_dump()
    assert fast.model_fields_set == slow.model_fields_set and list(fast.__dict__) == list(slow.__dict__)
    assert fast.model_copy(update={"remediable": False}).remediable is False and fast.remediable
