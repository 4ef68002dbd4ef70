"""The documented error catalogues in tests/data/catalogues/ (README there), read for the classifier's
catalogue tests: every row of the named JSON Lines files, in order."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

CATALOGUES = Path(__file__).parents[1] / "data" / "catalogues"


def rows(*names: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for name in names:
        out += [json.loads(line) for line in (CATALOGUES / name).read_text().splitlines() if line.strip()]
    return out
