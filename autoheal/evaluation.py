"""Scores a classifier on labeled lines: exact-label accuracy, macro-F1, and the eligibility
precision and recall that matter most (a false "remediable" is the costly error)."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel


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
