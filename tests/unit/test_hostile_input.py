"""Hostile and malformed input to the parsers (issue 13): whatever a sender posts, the answer is
alerts or a PayloadError naming the field, never another exception (which the receiver would have
answered with a 500), and nothing accepted is longer than the store can hold on any database."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autoheal.domain.alerts import Alert, PayloadError
from autoheal.domain.parsers import parse_payload
from autoheal.intake.payloads import MAX_DEPTH, examine

FAILURE: dict[str, Any] = {
    "event_type": "jobs.on_failure",
    "workspace_id": "1",
    "run": {"run_id": "77"},
    "job": {"job_id": "5", "name": "nightly"},
}
ADF: dict[str, Any] = {
    "data": {
        "essentials": {"alertRule": "adf-failed", "monitorCondition": "Fired", "alertTargetIDs": []},
        "alertContext": {"properties": {"PipelineName": "CopySales", "RunId": "r-1", "FactoryName": "adf-sales"}},
    }
}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=50),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=25,
)


def graft(base: dict[str, Any], path: list[str], value: Any) -> dict[str, Any]:
    """A copy of ``base`` with ``value`` put at ``path`` (dicts made on the way)."""
    out = json.loads(json.dumps(base))
    node = out
    for key in path[:-1]:
        if not isinstance(node.get(key), dict):
            node[key] = {}
        node = node[key]
    node[path[-1]] = value
    return out


PATHS = [
    ["run", "run_id"],
    ["run", "parent_run_id"],
    ["job", "job_id"],
    ["job", "name"],
    ["task"],
    ["workspace_id"],
    ["run"],
    ["job"],
    ["data", "essentials"],
    ["data", "essentials", "alertTargetIDs"],
    ["data", "essentials", "firedDateTime"],
    ["data", "essentials", "alertRule"],
    ["data", "alertContext"],
    ["data", "alertContext", "condition"],
    ["data", "alertContext", "condition", "allOf"],
    ["data", "alertContext", "SearchResults"],
    ["data", "alertContext", "properties"],
    ["data", "alertContext", "properties", "RunId"],
    ["data", "alertContext", "properties", "End"],
    ["data", "alertContext", "properties", "ErrorMessage"],
    ["termination_reason"],
    ["cluster_id"],
]


def _check(payload: Any) -> None:
    try:
        parsed = parse_payload(payload)
    except PayloadError as exc:
        assert exc.field
        return
    for alert in parsed.alerts:
        assert len(alert.fingerprint) <= 512 and len(alert.run_id or "") <= 128
        assert not alert.fingerprint.endswith((":nan", ":inf", ":-inf"))


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(base=st.sampled_from([FAILURE, ADF]), path=st.sampled_from(PATHS), value=json_values)
def test_wrong_types_anywhere_give_alerts_or_a_payload_error(base: dict[str, Any], path: list[str], value: Any) -> None:
    _check(graft(base, path, value))


@settings(max_examples=300, deadline=None)
@given(payload=json_values)
def test_arbitrary_json_gives_alerts_or_a_payload_error(payload: Any) -> None:
    _check(payload)


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=2000))
def test_arbitrary_bytes_are_examined_without_an_exception(body: bytes) -> None:
    intake = examine(body, source="databricks")
    assert intake.status in {"accepted", "ignored", "rejected"}


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999999", "-1e999999"])
def test_nan_and_infinity_are_not_ids(literal: str) -> None:
    body = json.dumps(FAILURE).replace('"77"', literal).encode()
    intake = examine(body, source="databricks")
    assert intake.status == "rejected" and intake.reason is not None and intake.field == "$"
    assert "NaN" in intake.reason or "Infinity" in intake.reason or "too large" in intake.reason


@pytest.mark.parametrize("value", [math.nan, math.inf, 1.5, True])
def test_non_integer_numbers_are_not_ids_even_when_already_parsed(value: Any) -> None:
    with pytest.raises(PayloadError) as info:
        parse_payload(graft(FAILURE, ["run", "run_id"], value))
    assert info.value.field == "run.run_id"


def test_an_integral_float_id_is_the_integer() -> None:
    (alert,) = parse_payload(graft(FAILURE, ["run", "run_id"], 77.0)).alerts
    assert alert.run_id == "77"


def test_a_200000_character_run_id_is_refused_naming_the_field() -> None:
    with pytest.raises(PayloadError, match=r"200000 characters, longer than the 128 allowed") as info:
        parse_payload(graft(FAILURE, ["run", "run_id"], "7" * 200_000))
    assert info.value.field == "run.run_id"
    with pytest.raises(PayloadError) as adf:
        parse_payload(graft(ADF, ["data", "alertContext", "properties", "RunId"], "r" * 200_000))
    assert adf.value.field.endswith("run_id")


def test_a_long_alert_id_is_hashed_into_the_fingerprint() -> None:
    alert = Alert(source="manual", service="adf", factory="f", pipeline="p", alert_id="a" * 4000)
    assert len(alert.fingerprint) < 512 and "sha256-" in alert.fingerprint


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 1000, 10_000, 100_000])
def test_deep_nesting_is_rejected_with_the_reason(depth: int) -> None:
    body = b'{"event_type": ' + b"[" * depth + b"]" * depth + b"}"
    intake = examine(body, source="databricks")
    assert intake.status == "rejected" and f"deeper than {MAX_DEPTH}" in (intake.reason or "")


def test_nesting_within_the_limit_is_read() -> None:
    nested: Any = "x"
    for _ in range(MAX_DEPTH - 4):
        nested = [nested]
    intake = examine(json.dumps({**FAILURE, "extra": nested}).encode(), source="databricks")
    assert intake.status == "accepted"


def test_epoch_times_out_of_range_name_the_field() -> None:
    with pytest.raises(PayloadError) as info:
        parse_payload({"cluster_id": "c", "termination_reason": {"code": "X"}, "terminated_time": 10**30})
    assert info.value.field == "terminated_time"
