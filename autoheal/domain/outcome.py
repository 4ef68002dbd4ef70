"""What a playbook returns (an outcome record) and the two ways it fails."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field


class Outcome(BaseModel):
    """The audit record of one playbook call: what was done, to what, and whether it worked."""

    playbook: str
    target: str
    action: str = "none"
    created_ids: dict[str, str] = Field(default_factory=dict)
    state_before: dict[str, Any] = Field(default_factory=dict)
    state_after: dict[str, Any] = Field(default_factory=dict)
    changes: dict[str, Any] = Field(default_factory=dict)
    steps: list[str] = Field(default_factory=list)
    started_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    duration_seconds: float = 0.0
    verified: bool = False
    detail: str = ""

    def step(self, text: str) -> None:
        self.steps.append(text)


class PlaybookFailure(Exception):
    """A playbook did not heal. ``outcome`` holds what it did before it stopped."""

    transient: bool = False

    def __init__(self, reason: str, *, outcome: Outcome | None = None, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.outcome = outcome
        self.retry_after = retry_after


class TransientFailure(PlaybookFailure):
    """A retry may fix it: throttling, 5xx, a failed cluster start, a rerun that failed again."""

    transient = True


class PermanentFailure(PlaybookFailure):
    """A person must look: 403, a missing cluster, an upstream that failed, no fallback left."""
