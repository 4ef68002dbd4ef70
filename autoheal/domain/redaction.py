"""Secrets out of text before it is stored, logged or shown: tokens, keys, SAS signatures, passwords."""

from __future__ import annotations

import json
import re
from typing import Any

MASK = "[REDACTED]"

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Authorization headers and bearer tokens (JWTs included).
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9\-._~+/]+=*"), rf"\1 {MASK}"),
    # Databricks personal access tokens.
    (re.compile(r"\bdapi[0-9a-f]{16,}(-\d+)?\b"), MASK),
    # JWTs outside headers.
    (re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\b"), MASK),
    # SAS signatures and similar query-string secrets.
    (
        re.compile(r"(?i)([?&](sig|signature|code|access_token|token|key|api[-_]?key|client_secret)=)[^&\s'\"]+"),
        rf"\1{MASK}",
    ),
    # key=value secrets in connection strings, configs and JSON text (quotes kept).
    (
        re.compile(
            r"(?i)\b((?:password|pwd|passwd|secret|client[_-]?secret|account[_-]?key|shared[_-]?access[_-]?key|"
            r"accesskey|api[_-]?key|token|sharedaccesssignature)[\"']?\s*[=:]\s*)"
            r"(?:\"[^\"]*\"|'[^']*'|[^;,\s&'\"]+)"
        ),
        rf"\1{MASK}",
    ),
    # Credentials in URLs: scheme://user:password@host
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@]+):[^@\s/]+@"), rf"\1:{MASK}@"),
)


def redact(text: str | None) -> str | None:
    if text is None:
        return None
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact_json(value: Any) -> Any:
    """Redact every string in a JSON-like structure, and every value under a secret-looking key."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if (
                isinstance(key, str)
                and re.search(
                    r"(?i)(password|secret|token|api[-_]?key|account[-_]?key|"
                    r"authorization|sas|signature|credential)",
                    key,
                )
                and isinstance(item, (str, int))
                and item != ""
            ):
                out[key] = MASK
            else:
                out[key] = redact_json(item)
        return out
    if isinstance(value, list):
        return [redact_json(v) for v in value]
    if isinstance(value, str):
        return redact(value)
    return value


def redacted_dump(value: Any) -> str:
    return json.dumps(redact_json(value), default=str, sort_keys=True)
