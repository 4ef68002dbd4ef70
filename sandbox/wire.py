"""Wire helpers shared by both emulated services."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi import Request


async def json_object(request: Request, error: Callable[[str], Exception]) -> dict[str, Any]:
    """The request body as a JSON object ({} when empty); ``error(reason)`` is raised otherwise."""
    raw = await request.body()
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        raise error("not valid JSON") from None
    if not isinstance(data, dict):
        raise error("not a JSON object")
    return data
