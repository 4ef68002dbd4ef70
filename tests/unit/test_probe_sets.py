"""The probe sets (tests/data/probes/, README there) stay readable by `autoheal classify --jsonl ... --report`:
every line parses, names a known service and a label of the catalog, and carries its source and reason; ids are
unique across the sets; the README's table lists each file with its line count. Their scores are not tested
(they are the writers' labels, and a first look is taken once)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from autoheal.app.evaluation import Labeled
from autoheal.domain.catalog import load_catalog

PROBES = Path(__file__).parents[1] / "data" / "probes"
FILES = sorted(PROBES.glob("*.jsonl"))
LABELS = set(load_catalog().names)
KEYS = {"id", "service", "error_code", "message", "label", "remediable", "context_dependent", "reason", "source"}


def test_there_are_probe_sets() -> None:
    assert len(FILES) >= 30


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_every_line_is_a_labelled_message_with_its_source(path: Path) -> None:
    for number, line in enumerate(path.read_text().splitlines(), 1):
        item = json.loads(line)
        assert item.keys() >= KEYS, (path.name, number, KEYS - item.keys())
        assert item["label"] in LABELS, (path.name, number, item["label"])
        assert item["source"] and item["reason"], (path.name, number)
        Labeled.model_validate(item)  # what the CLI reads: a service it knows, a message


def test_ids_are_unique_across_the_sets() -> None:
    ids = [json.loads(line)["id"] for path in FILES for line in path.read_text().splitlines()]
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})[:5]


def test_the_readme_lists_every_set_with_its_lines() -> None:
    readme = (PROBES / "README.md").read_text()
    for path in FILES:
        row = re.search(rf"^\| `{re.escape(path.name)}` \|[^|]+\| (\d+) \(\d+\) \|", readme, re.M)
        assert row is not None, path.name
        assert int(row.group(1)) == len(path.read_text().splitlines()), path.name
