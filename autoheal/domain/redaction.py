"""Secrets out of text before it is stored, logged or shown: tokens, keys, SAS signatures, passwords.

Over-masking is the safe failure: a password's value runs to the connection string's next ``;``
(a space is allowed in it), an ODBC ``{...}`` value to its closing brace, and the same forms are
caught URL-encoded (``password%3D...``), as they arrive inside a query string. The cases that once
got through are in tests/unit/test_redaction.py (GAPS).
"""

from __future__ import annotations

import json
import re
from typing import Any

MASK = "[REDACTED]"

# Key names whose value is a secret, in connection strings, configs and JSON text.
_SECRET_KEYS = (
    r"password|pwd|passwd|secret|client[_-]?secret|account[_-]?key|shared[_-]?access[_-]?key|"
    r"accesskey|api[_-]?key|token|sharedaccesssignature"
)
# Query-string keys whose value is a secret. The short, common words (code, token, key) count only
# after ``?`` or ``&`` (or at the very start), so "error code=2200" in prose is left alone.
_QUERY_ALWAYS = r"sig|signature|access_token|client_secret|api[-_]?key"
_QUERY_AFTER_SEPARATOR = r"code|token|key"
# ``%3D`` is "=", ``%3B`` ";", ``%26`` "&", ``%3F`` "?", ``%22``/``%27`` quotes; ``%25`` an encoded "%".
_ENC = r"%(?:25)?"

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Authorization headers and bearer tokens (JWTs included).
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9\-._~+/]+=*"), rf"\1 {MASK}"),
    # Databricks personal access tokens, whatever follows them (a letter, too).
    (re.compile(r"dapi[0-9a-f]{16,}(?:-\d+)?"), MASK),
    # JWTs outside headers.
    (re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\b"), MASK),
    # SAS signatures and similar query-string secrets, plain or URL-encoded.
    (
        re.compile(
            rf"(?i)((?:(?:^|[?&]|{_ENC}26|{_ENC}3F)(?:{_QUERY_ALWAYS}|{_QUERY_AFTER_SEPARATOR})"
            rf"|(?<![A-Za-z0-9_])(?:{_QUERY_ALWAYS}))(?:=|{_ENC}3D))"
            rf"(?:(?!{_ENC}26)[^&\s'\"])+"
        ),
        rf"\1{MASK}",
    ),
    # key=value secrets: an ODBC {braced} value, a quoted one, or everything up to the next ";"
    # (a password may hold spaces), line end, "&" or quote.
    (
        re.compile(
            rf"(?i)\b((?:{_SECRET_KEYS})[\"']?\s*=\s*)"
            r"(?:\{(?:[^}]|\}\})*\}|\"[^\"]*\"|'[^']*'|[^;\r\n&'\"]*[^;\r\n&'\"\s])"
        ),
        rf"\1{MASK}",
    ),
    # key: value secrets (JSON, YAML, headers): quoted, or one word.
    (
        re.compile(rf"(?i)\b((?:{_SECRET_KEYS})[\"']?\s*:\s*)(?:\"[^\"]*\"|'[^']*'|[^;,\s&'\"]+)"),
        rf"\1{MASK}",
    ),
    # The same key=value secrets URL-encoded: up to an encoded ";", "&" or quote.
    (
        re.compile(
            # after a word break, or right after an encoded ";" or "&" (``%3BPassword%3D...``)
            rf"(?i)(?:\b|(?<=%3B)|(?<=%3b)|(?<=%26))((?:{_SECRET_KEYS})(?:{_ENC}2[27])?{_ENC}3D)"
            rf"(?:(?!{_ENC}(?:3B|26|22|27))[^;&\s'\"])+"
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
