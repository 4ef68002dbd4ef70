"""Rule classifier: error codes first, then wording. Its error_type is always a catalog name or a
never-remediated class, and it says which rule decided."""

from __future__ import annotations

import re
import re._constants as _sre  # the parser's opcodes: stable across 3.11-3.13, used only to read patterns
import re._parser as _sre_parser
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from autoheal.domain.catalog import Catalog
from autoheal.domain.rules import RULES, Rule

_INNER_CODE = re.compile(r"ErrorCode=([A-Za-z][\w-]*)")
_PATTERN_TOKEN = re.compile(r"\\.|\(\?P[<=]|.", re.DOTALL)


def _lower_pattern(pattern: str) -> str:
    """Lower-case a pattern's literals, leaving escapes (\\S is not \\s) and (?P<name> alone."""
    return "".join(t if t[0] == "\\" or t.startswith("(?P") else t.lower() for t in _PATTERN_TOKEN.findall(pattern))


def required_literals(pattern: str, *, shortest: int = 3) -> tuple[str, ...] | None:
    """Strings of which every match of ``pattern`` contains at least one, or None if none can be told.

    A substring test is far cheaper than a regex search, and most rules do not match most messages:
    the classifier searches only the texts that hold one of a rule's literals.
    """
    try:
        parsed = _sre_parser.parse(pattern)
    except re.error:
        return None
    found = _sequence(list(parsed))
    return tuple(found) if found and min(map(len, found)) >= shortest else None


def _sequence(items: list[tuple[Any, Any]]) -> list[str] | None:
    """The most selective set of alternatives that a match of this sequence must contain one of."""
    candidates: list[list[str]] = []
    run: list[str] = []
    for op, av in items:
        if op is _sre.LITERAL:
            run.append(chr(av))
            continue
        if run:
            candidates.append(["".join(run)])
            run = []
        if op is _sre.SUBPATTERN:
            inner = _sequence(list(av[-1]))
        elif op is _sre.BRANCH:
            branches = [_sequence(list(b)) for b in av[1]]
            inner = [lit for b in branches for lit in b] if all(branches) else None  # type: ignore[union-attr]
        elif op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT) and av[0] >= 1:
            inner = _sequence(list(av[2]))
        else:
            inner = None
        if inner:
            candidates.append(inner)
    if run:
        candidates.append(["".join(run)])
    return max(candidates, key=lambda c: min(map(len, c)), default=None)


class Classification(BaseModel):
    error_type: str
    remediable: bool
    confidence: float
    rule: str
    classifier: str = "rules"


@dataclass(frozen=True)
class _Compiled:
    rule: Rule
    regex: re.Pattern[str] | None
    codes: frozenset[str]
    literals: tuple[str, ...] | None


class RuleClassifier:
    """Tries the rules in order; the first that matches decides."""

    def __init__(self, catalog: Catalog, rules: Iterable[Rule] = RULES) -> None:
        self.catalog = catalog
        self._rules: list[_Compiled] = []
        known = set(catalog.names)
        for rule in rules:
            if rule.error_type not in known:
                raise ValueError(f"rule {rule.name}: {rule.error_type} is not in the catalog ({catalog.source})")
            # Case-insensitive by lower-casing the text once and the patterns here: re.IGNORECASE
            # costs about three times as much per rule.
            pattern = _lower_pattern(rule.pattern)
            regex = re.compile(pattern, re.MULTILINE) if rule.pattern else None
            literals = required_literals(pattern) if rule.pattern else None
            self._rules.append(_Compiled(rule, regex, frozenset(c.lower() for c in rule.codes), literals))

    def classify(self, message: str, *, service: str | None = None, error_code: str | None = None) -> Classification:
        code = (error_code or "").strip()
        text = f"{code} {message or ''}".lower()
        # ADF nests the connector's own code in the message: "ErrorCode=SqlFailedToConnect,'Type=...".
        codes = (
            {c.lower() for c in [code, *_INNER_CODE.findall(message)] if c}
            if "errorcode=" in text
            else ({code.lower()} if code else set())
        )
        for compiled in self._rules:
            rule = compiled.rule
            if rule.service and service and rule.service != service:
                continue
            if codes & compiled.codes:
                return self._result(rule, service)
            if compiled.regex is None:
                continue
            if compiled.literals is not None and not any(lit in text for lit in compiled.literals):
                continue
            if compiled.regex.search(text):
                return self._result(rule, service)
        return Classification.model_construct(
            error_type="Unknown", remediable=False, confidence=0.3, rule="no-rule-matched", classifier="rules"
        )

    def _result(self, rule: Rule, service: str | None) -> Classification:
        entry = self.catalog.entry(rule.error_type)
        remediable = entry is not None and (service is None or entry.playbook_for(service) is not None)
        if rule.remediable is not None:
            remediable = remediable and rule.remediable
        # Built from values the constructor already checked (rules are validated against the catalog).
        return Classification.model_construct(
            error_type=rule.error_type,
            remediable=remediable,
            confidence=rule.confidence,
            rule=rule.name,
            classifier="rules",
        )
