"""The safety rails, as policy: what asks a person first, how many actions a resource and the whole
system may take, when a fix that did not hold stops healing, which playbooks and resources are on.

A TOML file (``AUTOHEAL_POLICY_FILE``) replaces the defaults section by section; the defaults are
safe: approval where the rules recognised nothing and the model suggests a remediable type, a budget of 3
actions per resource in 6 hours, a breaker, recurrence after 2 fixes that did not hold. Validated when loaded:
an unknown key, a bad pattern or a bad number fails with the file, the line and the reason, so a
flow never runs with half a policy.

Resources are named by keys a pattern can match (``fnmatch``, case-insensitive), deny winning:
``factory:<name>``, ``pipeline:<name>``, ``job:<id>``, ``job:<name>``, ``cluster:<id>``,
``env:<value>`` (a job tag or pipeline annotation ``env``/``environment``), ``tag:<key>=<value>``,
``folder:<name>``.
"""

from __future__ import annotations

import fnmatch
import re
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from autoheal.domain.values import Facts

Approval = Literal["never", "low-confidence", "always"]


class PolicyError(ValueError):
    """A policy file that cannot be used; the message names the file, the line and the reason."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _patterns(value: list[str]) -> list[str]:
    for pattern in value:
        if not pattern or (":" not in pattern and pattern != "*"):
            raise ValueError(f"pattern {pattern!r} must name a key, like 'pipeline:Copy*' or 'env:prod' (or be '*')")
        try:
            re.compile(fnmatch.translate(pattern))
        except re.error as exc:  # pragma: no cover - fnmatch escapes nearly everything
            raise ValueError(f"pattern {pattern!r}: {exc}") from exc
    return value


class ResourceRule(_Strict):
    pattern: str
    approval: Approval

    @field_validator("pattern")
    @classmethod
    def _pattern(cls, value: str) -> str:
        return _patterns([value])[0]


class ApprovalPolicy(_Strict):
    default: Approval = "low-confidence"
    threshold: float = Field(0.7, ge=0, le=1, description="below it, 'low-confidence' asks a person")
    timeout_hours: float = Field(4, gt=0, description="then the incident escalates")
    approvers: list[str] = Field(default_factory=list, description="who may approve from the CLI; empty: anyone")
    unknown_with_suggestion: Literal["ask", "escalate"] = "ask"
    playbooks: dict[str, Approval] = Field(default_factory=dict)
    resources: list[ResourceRule] = Field(default_factory=list)


class BudgetPolicy(_Strict):
    actions: int = Field(3, ge=1, description="actions per resource in the window")
    window_hours: float = Field(6, gt=0)
    enabled: bool = True


class BreakerPolicy(_Strict):
    enabled: bool = True
    failed_verifications: int = Field(20, ge=1, description="more than this many in the window trips it")
    actions: int = Field(500, ge=1, description="more than this many actions in the window trips it (a runaway)")
    window_minutes: float = Field(60, gt=0)
    cooldown_minutes: float = Field(0, ge=0, description="0: only `autoheal breaker reset` closes it")


class RecurrencePolicy(_Strict):
    enabled: bool = True
    window_hours: float = Field(24, gt=0, description="a failure this soon after a verified fix: it did not hold")
    max: int = Field(2, ge=1, description="after this many fixes that did not hold, the class escalates")


class PlaybookSwitch(_Strict):
    enabled: bool = True


class ResourcePatterns(_Strict):
    allow: list[str] = Field(default_factory=lambda: ["*"])
    deny: list[str] = Field(default_factory=list)

    _check = field_validator("allow", "deny")(classmethod(lambda cls, v: _patterns(v)))


class Policy(_Strict):
    source: str = "defaults"
    approval: ApprovalPolicy = ApprovalPolicy()
    budget: BudgetPolicy = BudgetPolicy()
    breaker: BreakerPolicy = BreakerPolicy()
    recurrence: RecurrencePolicy = RecurrencePolicy()
    playbooks: dict[str, PlaybookSwitch] = Field(default_factory=dict)
    resources: ResourcePatterns = ResourcePatterns()

    def enabled(self, playbook: str) -> bool:
        switch = self.playbooks.get(playbook)
        return switch is None or switch.enabled

    def allowed(self, keys: list[str]) -> tuple[bool, str]:
        """(allowed, why): deny wins over allow."""
        for pattern in self.resources.deny:
            hit = _first(pattern, keys)
            if hit:
                return False, f"resource {hit} is denied by pattern {pattern!r}"
        for pattern in self.resources.allow:
            if pattern == "*" or _first(pattern, keys):
                return True, ""
        return False, f"no allow pattern matches {', '.join(keys) or 'this resource'}"

    def approval_for(self, playbook: str, keys: list[str]) -> tuple[Approval, str]:
        """The strictest rule that applies: a resource pattern, the playbook's, or the default."""
        found: list[tuple[Approval, str]] = [(self.approval.default, "the default")]
        if playbook in self.approval.playbooks:
            found.append((self.approval.playbooks[playbook], f"playbook {playbook}"))
        for rule in self.approval.resources:
            hit = _first(rule.pattern, keys)
            if hit:
                found.append((rule.approval, f"resource {hit} ({rule.pattern!r})"))
        order = {"never": 0, "low-confidence": 1, "always": 2}
        return max(found, key=lambda f: order[f[0]])


def _first(pattern: str, keys: list[str]) -> str | None:
    return next((k for k in keys if fnmatch.fnmatch(k.lower(), pattern.lower())), None)


def resource_keys(facts: Facts) -> list[str]:
    """What policy patterns can match for this failure."""
    t, job_id, job_name = facts.target, facts.job_id, facts.job_name
    keys = []
    if t.factory:
        keys.append(f"factory:{t.factory}")
    if t.pipeline:
        keys.append(f"pipeline:{t.pipeline}")
    if job_id:
        keys.append(f"job:{job_id}")
    if job_name:
        keys.append(f"job:{job_name}")
    if t.cluster_id:
        keys.append(f"cluster:{t.cluster_id}")
    for key, value in facts.tags.items():
        if key.lower() in ("env", "environment") and value:
            keys.append(f"env:{value}")
        elif key == "folder":
            keys.append(f"folder:{value}")
        keys.append(f"tag:{key}={value}" if value else f"tag:{key}")
    return keys


def _line_of(text: str, key: str) -> int | None:
    """The line that sets ``key`` (``key = ...``), else the first that names it (a table header)."""
    lines = text.splitlines()
    setting = re.compile(rf'^\s*["\']?{re.escape(key)}["\']?\s*=')
    for number, line in enumerate(lines, start=1):
        if setting.match(line):
            return number
    return next((number for number, line in enumerate(lines, start=1) if key in line), None)


def parse_policy(text: str, source: str) -> Policy:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{source}: not valid TOML: {exc}") from exc
    try:
        return Policy(source=source, **data)
    except ValidationError as exc:
        error = exc.errors()[0]
        path = [str(p) for p in error["loc"]]
        # The line of the deepest named key that the file holds.
        line = next((_line_of(text, key) for key in reversed(path) if not key.isdigit() and _line_of(text, key)), None)
        where = f"{source}, line {line}" if line else source
        reason = "unknown key" if error["type"] == "extra_forbidden" else error["msg"]
        raise PolicyError(f"{where}: {'.'.join(path)}: {reason}") from exc


def load_policy(path: str | Path | None = None) -> Policy:
    """The safe defaults, or the file at ``path``."""
    if path is None:
        return Policy()
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"{file}: cannot read the policy: {exc.strerror}") from exc
    return parse_policy(text, str(file))
