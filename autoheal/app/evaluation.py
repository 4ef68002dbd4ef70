"""Scores a classifier on labeled lines: exact-label accuracy, macro-F1, and the eligibility
precision and recall that matter most (a false "remediable" is the costly error)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError, field_validator
from rich.console import Console
from rich.table import Table

from autoheal.domain.values import service_named


class Scores(BaseModel):
    n: int
    accuracy: float
    macro_f1: float
    remediable_precision: float
    remediable_recall: float
    false_remediable: int
    missed_remediable: int


def score(pairs: Iterable[tuple[str, bool, str, bool]]) -> Scores:
    """``pairs``: (gold label, gold remediable, predicted label, predicted remediable)."""
    rows = list(pairs)
    n = len(rows)
    correct = sum(1 for g, _, p, _ in rows if g == p)
    labels = sorted({g for g, *_ in rows} | {p for _, _, p, _ in rows})
    f1s = []
    for label in labels:
        tp = sum(1 for g, _, p, _ in rows if g == label and p == label)
        fp = sum(1 for g, _, p, _ in rows if g != label and p == label)
        fn = sum(1 for g, _, p, _ in rows if g == label and p != label)
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    tp = sum(1 for _, gr, _, pr in rows if gr and pr)
    fp = sum(1 for _, gr, _, pr in rows if not gr and pr)
    fn = sum(1 for _, gr, _, pr in rows if gr and not pr)
    return Scores(
        n=n,
        accuracy=correct / n if n else 0.0,
        macro_f1=sum(f1s) / len(f1s) if f1s else 0.0,
        remediable_precision=tp / (tp + fp) if tp + fp else 1.0,
        remediable_recall=tp / (tp + fn) if tp + fn else 1.0,
        false_remediable=fp,
        missed_remediable=fn,
    )


class Labeled(BaseModel):
    """One line of a labeled file: what the classifiers see, and the truth when it is known."""

    id: str | int | None = None
    service: str | None = None
    error_code: str | None = None
    message: str
    label: str | None = None
    remediable: bool | None = None
    context_dependent: bool = False  # its class depends on what the message does not say: not scored

    @field_validator("service", mode="before")
    @classmethod
    def _service(cls, value: object) -> object:
        if isinstance(value, str):  # "ADF", "Azure Databricks"; a blank service is no service
            return service_named(value) if value.strip() else None
        return value

    @field_validator("error_code", mode="before")
    @classmethod
    def _code(cls, value: object) -> object:
        # ADF's codes are numbers (2011), and a file may write them as such; an empty code is no code.
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return None if isinstance(value, str) and not value.strip() else value


class Costs(BaseModel):
    calls: int = 0
    failures: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    latency_ms: float = 0.0
    cost: float | None = None

    def per_call(self) -> dict[str, float | None]:
        n = max(self.calls, 1)
        return {
            "input_tokens": self.input_tokens / n,
            "output_tokens": self.output_tokens / n,
            "latency_ms": self.latency_ms / n,
            "cost": self.cost / n if self.cost is not None else None,
        }


class Level(BaseModel):
    """The rules' answers at one confidence level: how often "remediable" there was right."""

    confidence: float
    n: int
    said_remediable: int
    right_remediable: int
    label_accuracy: float

    @property
    def remediable_precision(self) -> float | None:
        return self.right_remediable / self.said_remediable if self.said_remediable else None


class Comparison(BaseModel):
    """Rules alone, the model alone, and rules plus model (what autoheal decides with), on one file."""

    skipped: int = 0  # lines marked context_dependent
    levels: list[Level] = []
    rules: Scores
    model: Scores | None = None
    combined: Scores | None = None
    costs: Costs | None = None


def compare(items: list[Labeled], classifier: Any, analyst: Any | None, catalog: Any) -> Comparison:
    """Score every line; with an analyst, also the model's own answer and the merged verdict."""
    from autoheal.analysis.analyst import merge

    rules_rows, model_rows, combined_rows = [], [], []
    by_level: dict[float, list[tuple[bool, bool, bool]]] = {}
    costs = Costs()
    scored = [item for item in items if not item.context_dependent]
    for item in scored:
        if item.label is None or item.remediable is None:
            raise ValueError(f"line {item.id}: scoring needs 'label' and 'remediable' on every line")
        rules = classifier.classify_text(item.message, service=item.service, error_code=item.error_code)
        rules_rows.append((item.label, item.remediable, rules.error_type, rules.remediable))
        by_level.setdefault(rules.confidence, []).append(
            (rules.remediable, item.remediable, rules.error_type == item.label)
        )
        if analyst is None:
            continue
        analysis = analyst.analyse(item.message, service=item.service, error_code=item.error_code, rules=rules)
        costs.calls += analysis.calls
        costs.failures += analysis.rca is None
        costs.input_tokens += analysis.input_tokens
        costs.output_tokens += analysis.output_tokens
        costs.latency_ms += analysis.latency_ms
        if analysis.cost is not None:
            costs.cost = (costs.cost or 0.0) + analysis.cost
        said = analysis.rca.error_type if analysis.rca else "Unknown"
        model_rows.append((item.label, item.remediable, said, catalog.entry(said) is not None))
        verdict = merge(rules, analysis, catalog)
        final = said if verdict.decided_by == "model" else rules.error_type
        combined_rows.append((item.label, item.remediable, final, verdict.classification.remediable))
    levels = [
        Level(
            confidence=level,
            n=len(rows),
            said_remediable=sum(said for said, _, _ in rows),
            right_remediable=sum(said and truth for said, truth, _ in rows),
            label_accuracy=sum(right for _, _, right in rows) / len(rows),
        )
        for level, rows in sorted(by_level.items(), reverse=True)
    ]
    skipped = len(items) - len(scored)
    if analyst is None:
        return Comparison(rules=score(rules_rows), levels=levels, skipped=skipped)
    return Comparison(
        rules=score(rules_rows),
        model=score(model_rows),
        combined=score(combined_rows),
        costs=costs,
        levels=levels,
        skipped=skipped,
    )


def read_labeled(path: Path) -> list[Labeled]:
    """Lines of {id, service, error_code, message[, label, remediable]}; raises ValueError naming the
    first line it cannot read, and how many there are."""
    items, errors = read_lines(path)
    if errors:
        more = f" ({len(errors)} lines cannot be read)" if len(errors) > 1 else ""
        raise ValueError(errors[0] + more)
    return items


def read_lines(path: Path) -> tuple[list[Labeled], list[str]]:
    """The lines it can read, and an error naming each line it cannot: one bad line loses no other.

    Split on the bytes' line ends only: a JSON string may hold U+2028 or U+0085 raw, where
    ``str.splitlines`` would cut it. A leading byte-order mark is dropped."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"{path}: {exc.strerror or exc}") from None
    items: list[Labeled] = []
    errors: list[str] = []
    for number, raw in enumerate(data.removeprefix(b"\xef\xbb\xbf").splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            fields = json.loads(raw.decode("utf-8"))
            if not isinstance(fields, dict):
                raise ValueError(f"a JSON {type(fields).__name__}, not an object")
            items.append(Labeled.model_validate({"id": number, **fields}))
        except ValidationError as exc:
            why = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'line'}: {e['msg']}" for e in exc.errors())
            errors.append(f"{path}, line {number}: {why}")
        except ValueError as exc:  # a UnicodeDecodeError, a JSONDecodeError
            errors.append(f"{path}, line {number}: expected a JSON object with a 'message': {exc}")
    return items, errors


def print_comparison(console: Console, result: Comparison, name: str) -> None:
    table = Table(title=f"Classification of {name}")
    table.add_column("metric")
    columns = [
        (label, s)
        for label, s in (("rules", result.rules), ("model", result.model), ("rules + model", result.combined))
        if s
    ]
    for label, _ in columns:
        table.add_column(label, justify="right")
    for metric, field, fmt in (
        ("messages", "n", "{}"),
        ("exact-label accuracy", "accuracy", "{:.3f}"),
        ("macro-F1", "macro_f1", "{:.3f}"),
        ("remediable precision", "remediable_precision", "{:.3f}"),
        ("remediable recall", "remediable_recall", "{:.3f}"),
        ("false 'remediable'", "false_remediable", "{}"),
        ("missed remediable", "missed_remediable", "{}"),
    ):
        table.add_row(metric, *(fmt.format(getattr(scores, field)) for _, scores in columns))
    console.print(table)
    if result.skipped:
        console.print(f"{result.skipped} line(s) marked context_dependent were left out of the scores")
    if result.levels:
        levels = Table(title="The rules by confidence (autoheal acts alone from 0.6)")
        for column in ("confidence", "messages", "said remediable", "of which right", "precision", "label accuracy"):
            levels.add_column(column, justify="right")
        for level in result.levels:
            precision = level.remediable_precision
            levels.add_row(
                f"{level.confidence:.2f}",
                str(level.n),
                str(level.said_remediable),
                str(level.right_remediable),
                f"{precision:.3f}" if precision is not None else "-",
                f"{level.label_accuracy:.3f}",
            )
        console.print(levels)
    if result.costs is not None:
        per = result.costs.per_call()
        cost = f"{per['cost']:.5f}" if per["cost"] is not None else "unknown (set AUTOHEAL_AI_PRICE_*_PER_1K)"
        console.print(
            f"model calls: {result.costs.calls}, messages left without an analysis: {result.costs.failures}; "
            f"per call {per['input_tokens']:.0f} input and {per['output_tokens']:.0f} output tokens, "
            f"{per['latency_ms']:.0f} ms, cost {cost}"
        )
