"""Signs compiled for speed: each sign's alternatives searched on their own, and one Aho-Corasick
automaton over the literals every alternative's matches must contain, so that one pass over the text
tells which small regexes can match at all (bench/classifier.py: a sign's whole alternation cost
3-19 us a search). Split from autoheal/domain/classifier.py, which decides; this module only finds.

The classifier runs one :class:`Scanner` pass a message for both sign lists and the code forms of
autoheal/domain/codes.py: a pass costs about as much as the few regexes it leaves to run, so one, not
three. A prefilter only ever adds candidates (a literal's absence proves a regex cannot match); the
golden test (tests/unit/test_classifier_golden.py) holds every classification to what it was.
"""

from __future__ import annotations

import re
import re._constants as _sre  # the parser's opcodes: stable across 3.11-3.13, used only to read patterns
import re._parser as _sre_parser
from collections.abc import Iterable
from dataclasses import KW_ONLY, dataclass, field
from functools import lru_cache
from typing import Any

import ahocorasick

from autoheal.domain.values import Service

# ---- a sign: the words of one cause, as autoheal/domain/rules.py, access.py and transient.py write them ----


@dataclass(frozen=True)
class Sign:
    name: str
    error_type: str  # the class on ADF, and on Databricks unless ``databricks`` says otherwise
    pattern: str  # a regular expression, written in lower case, searched in the lower-cased text
    # The rest by keyword only: a stray comma inside a pattern's implicit concatenation must fail at import,
    # not pass the pattern's tail on as ``unless``.
    _: KW_ONLY
    unless: str = ""  # the sign does not count where this also matches
    databricks: str | None = None  # the class when the failure is in Databricks
    service: Service | None = None  # only for this service
    weak: bool = False  # also fits a fault a retry cannot fix: not enough to act alone
    # A never sign that names the step that failed (an init script), not why: it vetoes only where no transient
    # sign gives the why (autoheal/domain/classifier.py).
    step: bool = False

    def error_type_for(self, service: str | None) -> str:
        return self.databricks if service == "databricks" and self.databricks else self.error_type


S = Sign  # the sign lists' short name
# Not a number that is a stack frame's line ("ConflictChecker.scala:401)", "Reader.java:503", 'File "x.py", line
# 403', a .NET frame's ":line 500"): put before a status's digits in a sign, so that a frame is not read as an answer.
FRAME_LINE = r"(?<!\.java:)(?<!\.scala:)(?<!\.kt:)(?<!\.py:)(?<!line )"


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


_FEW = 8  # a character set of at most this many literals extends a literal run as alternatives


def _sequence(items: list[tuple[Any, Any]]) -> list[str] | None:
    """The most selective set of alternatives that a match of this sequence must contain one of."""
    candidates: list[list[str]] = []
    run: list[str] = [""]  # the literal run so far, as alternatives: "40[13]" -> ["401", "403"]
    for op, av in items:
        if op is _sre.LITERAL:
            run = [r + chr(av) for r in run]
            continue
        # A small set of literal characters: the parser writes 401|403 as 40[13].
        chars = [chr(v) for o, v in av if o is _sre.LITERAL] if op is _sre.IN else []
        if chars and len(chars) == len(av) and len(run) * len(chars) <= _FEW:
            run = [r + ch for r in run for ch in chars]
            continue
        if run[0]:
            candidates.append(run)
        run = [""]
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
    if run[0]:
        candidates.append(run)
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
class Guarded:
    """A pattern searched only in a text that holds one of the literals every match of it contains
    (:func:`required_literals`): a substring test costs far less than a search the regex engine tries at every
    position, and most texts hold none of them."""

    pattern: re.Pattern[str]
    literals: tuple[str, ...] | None = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "literals", required_literals(self.pattern.pattern))

    def search(self, text: str) -> re.Match[str] | None:
        if self.literals is not None and not any(lit in text for lit in self.literals):
            return None
        return self.pattern.search(text)


def guarded(pattern: str) -> Guarded:
    return Guarded(re.compile(pattern))


@dataclass(frozen=True)
class Compiled:
    sign: Sign
    branches: tuple[re.Pattern[str], ...]  # the top-level alternatives, each searched on its own
    unless: Guarded | None

    def overruled(self, text: str) -> bool:
        """Whether ``unless`` matches."""
        return self.unless is not None and self.unless.search(text) is not None


@dataclass
class Signs:
    """Signs in order, and one Aho-Corasick automaton over the literals of all their alternatives:
    one pass over the text tells which alternatives can match at all, and only those small regexes
    run (bench/classifier.py: a sign's whole alternation cost 3-19 us a search).

    Alternatives are numbered in order (the first sign's, then the next sign's), and a set of them is an
    int with a bit for each: OR-ing the masks of the literals found is cheaper than merging sets, and the
    set bits, lowest first, are the alternatives in the order they are tried."""

    compiled: list[Compiled]
    literals: list[list[tuple[str, ...] | None]]  # per sign, per branch: what every match contains
    always: int = field(init=False)  # alternatives with no such literal: always searched
    every: int = field(init=False)  # every alternative
    branch: list[tuple[int, re.Pattern[str], Compiled]] = field(init=False)  # per alternative: (sign, regex, sign's)
    owners: dict[str, int] = field(init=False)  # literal -> the alternatives that contain it
    automaton: Any = field(init=False)

    def __post_init__(self) -> None:
        self.always, self.branch, self.owners = 0, [], {}
        for i, (c, per_branch) in enumerate(zip(self.compiled, self.literals, strict=True)):
            for regex, lits in zip(c.branches, per_branch, strict=True):
                bit = 1 << len(self.branch)
                self.branch.append((i, regex, c))
                if lits is None:
                    self.always |= bit
                for lit in lits or ():
                    self.owners[lit] = self.owners.get(lit, 0) | bit
        self.every = (1 << len(self.branch)) - 1
        self._on: dict[str | None, int] = {}
        self.automaton = ahocorasick.Automaton()
        for lit, mask in self.owners.items():
            self.automaton.add_word(lit, mask)
        self.automaton.make_automaton()

    def candidates(self, text: str) -> int:
        """The alternatives that can match ``text``."""
        mask = self.always
        for _, more in self.automaton.iter(text):
            mask |= more
        return mask

    def first(
        self, text: str, service: str | None, *, prefilter: bool = True, keys: int | None = None
    ) -> tuple[Compiled, str] | None:
        """The first sign, in order, that matches ``text``, with the words it matched: within a sign, the
        first of its alternatives that matches; a sign whose ``unless`` also matches does not count.
        ``keys``: the candidates for this very text, when a :class:`Scanner` already found them."""
        on = self._on.get(service)
        if on is None:  # the alternatives of the signs that count on this service
            on = sum(
                1 << n
                for n, (_, _, c) in enumerate(self.branch)
                if not (c.sign.service and service and c.sign.service != service)
            )
            self._on[service] = on
        mask = ((self.candidates(text) if keys is None else keys) if prefilter else self.every) & on
        passed = -1  # the sign whose ``unless`` matched
        branch = self.branch
        while mask:
            low = mask & -mask
            mask ^= low
            i, regex, c = branch[low.bit_length() - 1]
            if i == passed:
                continue
            found = regex.search(text)
            if found is not None:
                if c.overruled(text):
                    passed = i
                    continue
                return c, found.group(0)
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
        unless = _lower_pattern(sign.unless) if sign.unless else None
        compiled.append(Compiled(sign, tuple(re.compile(b) for b in branches), guarded(unless) if unless else None))
        literals.append([required_literals(b) for b in branches])
    return Signs(compiled, literals)


class Scanner:
    """One Aho-Corasick pass over a text for the never signs, the transient signs and a set of named
    words: each list's candidate alternatives (as :meth:`Signs.candidates` gives them) and the bits of
    the words found. A pass costs more than most of the regexes it spares (bench/classifier.py), so one
    pass serves all three: each literal's value is one int, the never alternatives' bits, then the
    transient ones', then the words' bits."""

    def __init__(self, never: Signs, transient: Signs, words: dict[str, int]) -> None:
        self.never, self.transient = never, transient
        self._t_shift = len(never.branch)
        self._w_shift = self._t_shift + len(transient.branch)
        values: dict[str, int] = {}
        for shift, owners in ((0, never.owners), (self._t_shift, transient.owners)):
            for lit, mask in owners.items():
                values[lit] = values.get(lit, 0) | mask << shift
        for word, bits in words.items():
            values[word] = values.get(word, 0) | bits << self._w_shift
        self._start = never.always | transient.always << self._t_shift
        self.automaton = ahocorasick.Automaton()
        for word, mask in values.items():
            self.automaton.add_word(word, mask)
        self.automaton.make_automaton()

    def scan(self, text: str) -> tuple[int, int, int]:
        """(never candidates, transient candidates, bits of the words found) for ``text``."""
        mask = self._start
        for _, more in self.automaton.iter(text):
            mask |= more
        return mask & self.never.every, mask >> self._t_shift & self.transient.every, mask >> self._w_shift
