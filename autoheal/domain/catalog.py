"""The remediation catalog: error type -> playbook per service, attempts, delays; and the
classes that are never remediated. Data, validated when loaded, with errors that name the line."""

from __future__ import annotations

import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

Service = Literal["adf", "databricks"]
NEVER_REMEDIATED = ("PermissionDenied", "SchemaMismatch", "DataQuality", "CodeError", "InvalidConfiguration", "Unknown")


class CatalogError(ValueError):
    """A catalog file that cannot be used; the message names the file and line."""


class Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    playbooks: dict[Service, str] = Field(min_length=1)
    attempts: int = Field(ge=1, le=20)
    delays: list[float] = Field(min_length=1)

    @model_validator(mode="after")
    def _delays_match_attempts(self) -> Entry:
        if len(self.delays) != self.attempts:
            raise ValueError(
                f"delays has {len(self.delays)} values but attempts is {self.attempts}: give one delay per attempt"
            )
        if any(d < 0 for d in self.delays):
            raise ValueError("delays must not be negative")
        return self

    def playbook_for(self, service: str) -> str | None:
        for name, playbook in self.playbooks.items():
            if name == service:
                return playbook
        return None

    def schedule(self, scale: float = 1.0, *, spent: int = 0) -> tuple[float, int, list[float]]:
        """(first delay, retries, retry delays) for a Prefect task running the attempts left after
        ``spent``, each delay multiplied by ``scale``. Call only while attempts are left."""
        scaled = [d * scale for d in self.delays[spent:]]
        return scaled[0], len(scaled) - 1, scaled[1:]


class Catalog(BaseModel):
    model_config = ConfigDict(frozen=True)

    types: dict[str, Entry]
    never: dict[str, str]
    source: str

    def entry(self, error_type: str) -> Entry | None:
        return self.types.get(error_type)

    @property
    def names(self) -> list[str]:
        return [*self.types, *self.never]


def _line_of(text: str, pattern: str) -> int | None:
    for number, line in enumerate(text.splitlines(), start=1):
        if re.match(pattern, line.strip()):
            return number
    return None


def parse_catalog(text: str, source: str) -> Catalog:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{source}: not valid TOML: {exc}") from exc
    unknown = set(data) - {"types", "never"}
    if unknown:
        raise CatalogError(f"{source}: unknown top-level table(s) {sorted(unknown)}; expected [types.*] and [never]")
    types: dict[str, Entry] = {}
    for name, body in (data.get("types") or {}).items():
        line = _line_of(text, rf"\[types\.{re.escape(name)}\]")
        where = f"{source}, line {line} ([types.{name}])"
        if not isinstance(body, dict):
            raise CatalogError(f"{where}: expected a table")
        try:
            types[name] = Entry(name=name, **body)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or name}: {e['msg']}" for e in exc.errors())
            raise CatalogError(f"{where}: {problems}") from exc
    never = data.get("never") or {}
    never_line = _line_of(text, r"\[never\]")
    if not isinstance(never, dict) or not all(isinstance(v, str) for v in never.values()):
        raise CatalogError(f"{source}, line {never_line}: [never] maps class names to reasons")
    missing = [n for n in NEVER_REMEDIATED if n not in never]
    if missing:
        raise CatalogError(f"{source}, line {never_line}: [never] must list {', '.join(missing)}")
    both = sorted(set(types) & set(never))
    if both:
        line = _line_of(text, rf"\[types\.{re.escape(both[0])}\]")
        raise CatalogError(f"{source}, line {line}: {both[0]} is both remediable and never remediated")
    return Catalog(types=types, never=dict(never), source=source)


def load_catalog(path: str | Path | None = None) -> Catalog:
    """The bundled catalog, or the file at ``path``."""
    if path is None:
        text = resources.files("autoheal.domain").joinpath("catalog.toml").read_text(encoding="utf-8")
        return parse_catalog(text, "autoheal/domain/catalog.toml")
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogError(f"{file}: cannot read the catalog: {exc.strerror}") from exc
    return parse_catalog(text, str(file))
