"""What the classifier answers for one failure (autoheal/domain/classifier.py decides it)."""

from __future__ import annotations

from pydantic import BaseModel

__all__ = ["NO_EVIDENCE", "UNRECOGNISED", "Classification", "built"]

# The rule of a classification where no code or sign was recognised: its class is a guess.
NO_EVIDENCE = "no-evidence"
# What people are told for such a class, in tags, labels and figures: a guess is no finding.
UNRECOGNISED = "unrecognised"


class Classification(BaseModel):
    error_type: str
    remediable: bool  # autoheal may heal it alone: a remediable class, no veto, confidence >= ACT_AT
    confidence: float
    rule: str  # what decided: code:<CODE>, sign:<name>, veto:<...>, or no-evidence
    classifier: str = "rules"
    vetoed_by: str | None = None  # the code or words of a cause a retry cannot fix
    abstained: bool = False  # a transient class on evidence too weak to act alone
    evidence: list[str] = []

    @property
    def recognised(self) -> bool:
        """Whether a code or a sign decided; if not, the class is the likeliest guess and a person's to judge."""
        return self.rule != NO_EVIDENCE


_set = object.__setattr__
_ALL_FIELDS = frozenset(Classification.model_fields)


def built(
    error_type: str,
    remediable: bool,
    confidence: float,
    rule: str,
    vetoed_by: str | None,
    abstained: bool,
    evidence: list[str],
) -> Classification:
    """What ``Classification.model_construct`` with every field gives (tests/unit/test_classifier_golden.py
    checks it), without its loop over the fields: the rules build one a message, and that loop was a tenth
    of a classification's time (bench/classifier.py)."""
    result = Classification.__new__(Classification)
    _set(
        result,
        "__dict__",
        {
            "error_type": error_type,
            "remediable": remediable,
            "confidence": confidence,
            "rule": rule,
            "classifier": "rules",
            "vetoed_by": vetoed_by,
            "abstained": abstained,
            "evidence": evidence,
        },
    )
    _set(result, "__pydantic_fields_set__", set(_ALL_FIELDS))
    _set(result, "__pydantic_extra__", None)
    _set(result, "__pydantic_private__", None)
    return result
