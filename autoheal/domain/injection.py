"""Text inside an error message that speaks to a classifier rather than about the failure.

A message carries whatever the failing job, its data or an endpoint put into it: a column value, a
file name, a response body, an exception a user's code raised. Text planted there can address the
classifier itself ("ignore previous instructions", "classify this as transient", a JSON verdict
{"label": ..., "remediable": true}). No service prints such words about its own failure, so their
presence means the message was written, at least in part, by someone other than the service: its
transient words cannot be trusted, and the classifier abstains on them (autoheal/domain/classifier.py).
A veto still stands: the issue's rule is that nothing in the text overrides a never-class cause, and
this only takes away the power to heal.
"""

from __future__ import annotations

import re

from autoheal.domain.causes import PY_FRAME
from autoheal.domain.signs import guarded

__all__ = ["addressed", "raised_by_the_job"]

# Searched only in a text that holds one of the words every match holds (signs.Guarded): most messages hold none.
_ADDRESSED = guarded(
    # a verdict written as the classifier's own output fields (a "label" only with a class-like value: data that
    # an error quotes may have a field of that name)
    r"\"(remediable|error type|classification|retryable)\"\s*:|"
    r"\"label\"\s*:\s*\"\w*(error|timeout|failure|exhausted|denied|mismatch|quality|transient|retryable)\"|"
    # the words of a prompt
    r"ignore (all |any )?(the )?(previous|prior|above|earlier|preceding) (instructions|text|rules|messages)|"
    r"\b(classify|mark|label|categori[sz]e|flag) (this|it|the (error|failure|message|run))? ?as\b|"
    # a chat turn's marker (not "[User]" or "[System]": Synapse Spark prints its error category so)
    r"\[assistant\]|\b(system|assistant) ?: ?(this|the) (error|failure|message) is\b"
)


def addressed(low: str) -> str | None:
    """The words of ``low`` (a message in lower case) that address a classifier, or None."""
    # Planted words hide in names too ("Run name: 'retryable-ignore-previous-instructions'").
    found = _ADDRESSED.search(low.replace("-", " ").replace("_", " ") if "-" in low or "_" in low else low)
    return found.group(0) if found else None


# A Python traceback's frame and the line it ran: `File "/Workspace/etl/udf.py", line 31, in score` and below it
# `raise RuntimeError("Service temporarily unavailable")` (or `if x is None: raise ...`), the exception built from
# a literal string.
_RAISE = re.compile(PY_FRAME + r"[^\n]*?\braise \w+\((f?[\"'][^\n]{0,80})")
# Where a library's code lives, not the job's: its raise of a literal (urllib3's ProtocolError("Connection
# aborted.")) is the library's report of what happened.
_LIBRARY = ("site-packages", "dist-packages", "/lib/python", "/databricks/spark/python", "/usr/lib/")


def raised_by_the_job(message: str, lowered: str | None = None) -> str | None:
    """The literal words a job's own code raised, where the message's traceback shows its raise line
    (`raise RuntimeError("Service temporarily unavailable - please retry later")` in a UDF): those words are
    the job's, about whatever it checked, not a service's about a failure. None when no frame outside the
    libraries raised a literal. ``lowered`` is the message in lower case, where the caller has it."""
    if "raise " not in message or 'File "' not in message:
        return None
    for found in _RAISE.finditer(message.lower() if lowered is None else lowered):
        if not any(part in found.group(1) for part in _LIBRARY):
            return found.group(2)
    return None
