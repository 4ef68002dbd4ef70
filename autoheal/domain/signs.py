"""Signs compiled for speed: each sign's alternatives searched on their own, and one Aho-Corasick
automaton over the literals every alternative's matches must contain, so that one pass over the text
tells which small regexes can match at all (bench/classifier.py: a sign's whole alternation cost
3-19 us a search). Split from autoheal/domain/classifier.py, which decides; this module only finds.
"""

from __future__ import annotations

import re
import re._constants as _sre  # the parser's opcodes: stable across 3.11-3.13, used only to read patterns
import re._parser as _sre_parser
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import ahocorasick

from autoheal.domain.rules import Sign

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


def top_level_branches(pattern: str) -> list[str]:
    """``a|b(c|d)|e`` -> ``["a", "b(c|d)", "e"]``: the alternatives a match can come from."""
    out, depth, in_class, start, i = [], 0, False, 0, 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            out.append(pattern[start:i])
            start = i + 1
        i += 1
    out.append(pattern[start:])
    return out


@dataclass(frozen=True)
class Compiled:
    sign: Sign
    branches: tuple[re.Pattern[str], ...]  # the top-level alternatives, each searched on its own
    unless: re.Pattern[str] | None

    def search(self, text: str, branches: Iterable[int]) -> str | None:
        for b in branches:
            found = self.branches[b].search(text)
            if found is not None:
                if self.unless is not None and self.unless.search(text):
                    return None
                return found.group(0)
        return None


@dataclass
class Signs:
    """Signs in order, and one Aho-Corasick automaton over the literals of all their alternatives:
    one pass over the text tells which alternatives can match at all, and only those small regexes
    run (bench/classifier.py: a sign's whole alternation cost 3-19 us a search)."""

    compiled: list[Compiled]
    literals: list[list[tuple[str, ...] | None]]  # per sign, per branch: what every match contains
    always: dict[int, list[int]] = field(init=False)  # branches with no such literal: always searched
    automaton: Any = field(init=False)

    def __post_init__(self) -> None:
        self.always = {}
        owners: dict[str, set[tuple[int, int]]] = {}
        for i, per_branch in enumerate(self.literals):
            for b, lits in enumerate(per_branch):
                if lits is None:
                    self.always.setdefault(i, []).append(b)
                for lit in lits or ():
                    owners.setdefault(lit, set()).add((i, b))
        self.automaton = ahocorasick.Automaton()
        for lit, where in owners.items():
            self.automaton.add_word(lit, frozenset(where))
        self.automaton.make_automaton()

    def first(self, text: str, service: str | None, *, prefilter: bool = True) -> tuple[Compiled, str] | None:
        """The first sign, in order, that matches ``text``, with the words it matched."""
        if prefilter:
            candidates: dict[int, set[int]] = {i: set(b) for i, b in self.always.items()}
            for _, where in self.automaton.iter(text):
                for i, b in where:
                    candidates.setdefault(i, set()).add(b)
        else:
            candidates = {i: set(range(len(c.branches))) for i, c in enumerate(self.compiled)}
        for i in sorted(candidates):
            c = self.compiled[i]
            if c.sign.service and service and c.sign.service != service:
                continue
            words = c.search(text, sorted(candidates[i]))
            if words is not None:
                return c, words
        return None


def compile_signs(signs: Iterable[Sign]) -> Signs:
    return _compile_signs(tuple(signs))


# Cached by the signs themselves (frozen): parsing their patterns was most of building a classifier
# (about 60 ms), which every flow run does. The classifiers of a process share them, read-only, and a
# flow run finds them compiled by its fork server (flows/warmup.py).
@lru_cache(maxsize=16)
def _compile_signs(signs: tuple[Sign, ...]) -> Signs:
    compiled, literals = [], []
    for sign in signs:
        branches = [_lower_pattern(b) for b in top_level_branches(sign.pattern)]
        unless = re.compile(_lower_pattern(sign.unless)) if sign.unless else None
        compiled.append(Compiled(sign, tuple(re.compile(b) for b in branches), unless))
        literals.append([required_literals(b) for b in branches])
    return Signs(compiled, literals)
