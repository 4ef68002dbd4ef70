"""`autoheal classify --jsonl F`, as a labelled set kept outside the project runs it: lines of id, service,
error_code and message only, written as people write them. A line it cannot read is named and loses no other."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from autoheal.app.cli import app
from autoheal.app.evaluation import read_labeled, read_lines
from autoheal.domain.values import service_named


def _run(path: Path) -> tuple[int, list[dict[str, object]], str]:
    result = CliRunner().invoke(app, ["classify", "--jsonl", str(path)], terminal_width=400)
    out = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    return result.exit_code, out, result.stderr


def test_numbers_cased_service_names_and_empty_codes_are_read_as_people_write_them(tmp_path: Path) -> None:
    lines = [
        {"id": 1, "service": "ADF", "error_code": 2108, "message": "Invoking the web request failed: 403 Forbidden"},
        {"id": "b", "service": "Azure Databricks", "error_code": None, "message": "Driver is unresponsive"},
        {"id": "c", "service": "azure-data-factory", "error_code": "", "message": "The operation has timed out."},
        {"id": "d", "service": " ", "message": "Connection reset by peer"},
    ]
    path = tmp_path / "outside.jsonl"
    # A byte-order mark, as an editor on Windows writes one.
    path.write_bytes(b"\xef\xbb\xbf" + "\n".join(json.dumps(line) for line in lines).encode())
    code, out, _ = _run(path)
    assert code == 0
    assert [o["id"] for o in out] == [1, "b", "c", "d"]
    # The number is read as ADF's code, the service as adf: the same answer as the canonical spelling gives.
    items = read_labeled(path)
    assert (items[0].service, items[0].error_code) == ("adf", "2108")
    assert (items[1].service, items[1].error_code) == ("databricks", None)
    assert (items[2].service, items[2].error_code) == ("adf", None)
    assert items[3].service is None
    assert out[0]["remediable"] is False and out[0]["vetoed_by"]


def test_a_raw_line_separator_inside_a_message_does_not_cut_the_line(tmp_path: Path) -> None:
    # JSON allows U+2028 and U+0085 raw in a string; str.splitlines would cut the line there.
    path = tmp_path / "sep.jsonl"
    message = "Operation on target Copy failed:\u2028 Gateway Timeout\x85(504)"
    path.write_text(json.dumps({"id": "x", "message": message}, ensure_ascii=False) + "\n", encoding="utf-8")
    items, errors = read_lines(path)
    assert errors == [] and [i.message for i in items] == [message]


def test_a_bad_line_is_named_and_every_other_line_is_still_classified(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(
        b'{"id": "a", "message": "Too many requests, retry after 30 seconds"}\n'
        b'{"id": "b", "message": "truncated\n'
        b'{"id": "c", "service": "synapse", "message": "timed out"}\n'
        b"\xff\xfe not utf-8\n"
        b'["a list"]\n'
        b'{"id": "f", "error_code": 3200}\n'
        b'{"id": "g", "message": "Cluster terminated. Reason: Cloud provider launch failure"}\n'
    )
    code, out, err = _run(path)
    assert [o["id"] for o in out] == ["a", "g"]
    assert code == 2
    for number, words in (
        (2, "expected a JSON object"),
        (3, "service 'synapse': expected adf or databricks"),
        (4, "utf-8"),
        (5, "a JSON list, not an object"),
        (6, "message: Field required"),
    ):
        assert f"line {number}: " in err and words in err, (number, err)
    assert "5 of 7 lines not classified" in " ".join(err.split())
    # Scoring needs every line: --report refuses the file, naming the first bad line and the count.
    with pytest.raises(ValueError, match=r"line 2: .*\(5 lines cannot be read\)"):
        read_labeled(path)


@pytest.mark.parametrize(
    ("name", "service"),
    [
        ("adf", "adf"),
        ("Data Factory", "adf"),
        ("DataFactory", "adf"),
        ("DATABRICKS", "databricks"),
        ("dbx", "databricks"),
    ],
)
def test_service_names(name: str, service: str) -> None:
    assert service_named(name) == service


def test_an_unknown_service_is_named() -> None:
    with pytest.raises(ValueError, match="service 'Fabric': expected adf or databricks"):
        service_named("Fabric")
    result = CliRunner().invoke(app, ["classify", "timed out", "--service", "Fabric"])
    assert result.exit_code == 2 and "service 'Fabric'" in result.stderr
