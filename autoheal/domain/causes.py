"""Where a message states its innermost cause.

The runtimes and services chain causes in set forms, outermost first: the JVM's "Caused by:", .NET's
inner-exception arrow ("--->") and "Inner exception:", ADF's "Message=" fields ('Type=...HybridDeliveryException,
Message=...,''Type=System.Net.Sockets.SocketException,Message=...'), the Web and Azure Function activities'
"More details:", "Error message:"/"ErrorMessage:" and "Details:" of the activity and cluster errors,
"Reason:" of Spark's and Databricks' failures. The last such part is the cause the others wrap; issue 11 asks that
it decide ("the innermost cause decides"), and the classifier abstains when the transient words stand only in
the wrapper around it (autoheal/domain/classifier.py).

Python's chain is left out: its traceback prints the innermost cause first ("The above exception was the
direct cause of the following exception").
"""

from __future__ import annotations

import re

__all__ = ["innermost", "only_a_wrapper", "without_code"]

_CAUSE = re.compile(
    r"(?i)caused by:|--->|inner (?:error|exception)s?:?|(?<!for )more details:|(?<!for more )details:|"
    r"error ?message:|message=|reason:"
)
# The markers' literal words, looked for before the pattern runs: most messages hold none (bench/classifier.py).
_MARKS = ("caused by:", "--->", "inner error", "inner exception", "details:", "message:", "message=", "reason:")
# What is left around a field's value: quotes, braces, the ADF fields' commas.
_TRIM = " '\"{}[]().,:;\n\r\t"


def innermost(message: str, lowered: str | None = None) -> str | None:
    """The text after the last cause marker, when it says something (two words or more); None when the
    message chains no cause, or ends its chain with a bare value (a placeholder, a code). ``lowered`` is the
    message in lower case, where the caller has it."""
    low = message.lower() if lowered is None else lowered
    if not any(mark in low for mark in _MARKS):
        return None
    parts = _CAUSE.split(message)
    if len(parts) == 1:
        return None
    tail = parts[-1].strip(_TRIM)
    return tail if len(tail.split()) >= 2 else None


# A Python traceback's frame and the source line printed under it ('  File "/x/transfer.py", line 326, in _update'
# then '    self._wait(poll, timeout)'): the line is the program's text, whose names ("timeout", "retry") are no event.
# PY_FRAME is that frame line (lower-cased), its file's path a group; autoheal/domain/injection.py reads the raise
# printed under a frame of the job's own code with it.
PY_FRAME = r'file "([^"\n]+)", line \d+, in [^\n]*\n'
_FRAME_SOURCE = re.compile("(" + PY_FRAME + r")[^\n]*")


def without_code(low: str) -> str:
    """A lower-cased message without the source lines its Python traceback prints under each frame."""
    return _FRAME_SOURCE.sub(r"\1", low) if 'file "' in low else low


# What a wrapper says around any failure: ADF's "Operation on target <activity> failed:", and the words that
# name no cause ("Hit unexpected exception and execution failed.", "Run failed. See the run output.", "Activity
# failed because an inner activity failed", "Reason: unknown").
_TARGET_FAILED = re.compile(r"operation on target .{1,80}? failed:")
_WORD = re.compile(r"[a-z]{3,}")
_WRAPPER_WORDS = frozenset(
    "activity and batch because command details error exception execution failed failure for happened has hit "  # noqa: SIM905
    "information inner job more notebook occurred operation output pipeline please reason run see something spark "
    "task the unexpected unknown was went with workload wrong".split()
)


def only_a_wrapper(low: str) -> bool:
    """Whether a message (``low``: in lower case) says nothing but that something failed: one word of its own
    at most. Its class is Unknown, as the corpus labels such lines (tests/data/corpus/README.md)."""
    said = [w for w in _WORD.findall(_TARGET_FAILED.sub(" ", low)) if w not in _WRAPPER_WORDS]
    return len(said) <= 1
