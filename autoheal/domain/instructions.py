"""What an error message tells a person to change before the job can pass.

The services' messages end in advice, and the advice says what kind of failure it is: "Please retry
later", "Rerun the transaction" for a transient one; "Please make sure only one streaming job runs
on a checkpoint", "Consider boosting spark.yarn.executor.memoryOverhead", "Disable these account
features" for one a retry meets again. A message that carries transient wording *and* an
instruction to change something first holds conflicting evidence, and the classifier abstains
(autoheal/domain/classifier.py): a person decides, as issue 11 asks ("a transient sign next to a
never sign").

Only an unconditional imperative counts, at a sentence's start or after "please", "you should/must
/need to", "to fix this": not advice for when a failure persists ("If the issue persists, check the
firewall"), not advice about time or load ("Consider spreading the run execution over a larger time
frame", "reduce the request rate"), which is how throttling is fixed, and not where to read more
("check the run logs for details"). Written from the services' phrasing (Spark's error conditions,
the ADF troubleshooting guides, SQL Server's messages), checked against the corpus's development part
(tests/data/corpus/README.md, "Instructions").
"""

from __future__ import annotations

import re

from autoheal.domain.signs import guarded

__all__ = ["instruction"]

# The verbs of a change a person makes: a setting, a resource, an input, an access.
_CHANGE = (
    r"ensure|make sure|(?:double[- ]?)?check (?:that|whether|if)|verify (?:that|whether|if)|confirm that|validate|"
    r"consider (?:\w+ing|using)|disable|enable|grant|update|change|increase|decrease|reduce|specify|provide|set|"
    r"configure|correct|fix|remove|delete|add|upgrade|install|register|assign|review|modify|adjust|raise|boost|"
    r"drop|rename|re-?create|choose|select|switch|resume"
)
# Where an instruction's verb may stand: a sentence's start, or after these words. Found by the words first (they
# begin with a literal, so the regex engine skips to where one can begin), then the verb matched right there:
# one pattern with both, that may begin at a sentence's start, is tried at every position (a third of the
# classifier's time on a heal, bench/classifier.py).
_LEAD = re.compile(
    r"[.;!?]\s+|:\s+|(?:please|you (?:should|must|need to|may need to|may want to|can)|"
    r"to (?:fix|resolve|avoid) (?:this|the (?:issue|error|problem)),?)\s+"
)
_VERB = re.compile(r"(?:" + _CHANGE + r")(?= )")
# A query the message quotes ("[SQL: SELECT region, sum(amount) FROM ledger]", SQLAlchemy's and the drivers' form) is
# no order to select anything.
_QUERY = re.compile(r"select\b[^;]{0,300}?\bfrom\b")
# Advice that fits a transient failure: time and load (throttling is fixed by spreading it), or where to
# read more.
_ABOUT_TIME = re.compile(
    r"time ?frame|later|\bwait|spread|schedul|\brate\b|frequency|fewer|concurren|\bload\b|back ?off|"
    r"network connectivity|\blog(?:s|ging)?\b|for (?:more )?details|support\b"
)
# "Retry the request after reading the latest version ... and updating the eTag": a retry after something
# else is done first (an HTTP 412 optimistic-concurrency error) is an instruction to change the request.
_RETRY_AFTER_DOING = guarded(r"\b(?:retry|rerun|re-run|resubmit|resend) (?:the |your |this )?\w+ after (\w+ing)\b")
# "Please separate the clauses into separate pipe operators and then retry the query again", "Please restart your
# session with the 'spark-avro' package loaded ... and then retry" (Spark's error conditions): whatever the verb,
# a step the caller takes before the retry is a change first, unless the step is waiting, looking or a plain
# restart.
_THEN_RETRY = guarded(
    r"(?:^|[.;!?]\s+|:\s+|\bplease\s+)(?!please\b)(\w+)\b(?:[^.;]|\.(?=\S)){0,200}?"
    r"\bthen (?:retry|rerun|re-run|resubmit|try (?:it )?again)\b"
)
# "To downgrade the table, please try again using `ALTER TABLE ... DROP FEATURE`" (Delta's error conditions):
# a retry in another form is a change first; a retry with a back-off or a delay is waiting.
_RETRY_USING = guarded(
    r"\b(?:retry|try again|rerun|re-run)\b[^.;]{0,20}?\b(?:using|with) (?!(?:an? |the )?(?:exponential )?"
    r"(?:back ?off|delay|wait|pause))"
)
# Waiting, retrying, looking: no step that changes anything (a check may find nothing wrong).
_NO_STEP = frozenset(
    {"wait", "retry", "rerun", "try", "resubmit", "and", "then", "if", "when"}
    | {"check", "verify", "confirm", "review", "inspect", "look", "see", "contact", "investigate"}
)
_RESTART = re.compile(r"(?:re-?start|reboot|reconnect|refresh|reload)\b(?![^.;]{0,80}\bwith\b)")
# Advice for when the failure comes back is no statement about this one.
_IF_PERSISTS = guarded(r"\bif\b[^.]{0,60}\b(?:persists|continues|keeps|recurs|happens again)")
# Waiting is no change: "retry after waiting a minute", "rerun the job after backing off".
_WAITING = frozenset({"waiting", "backing", "pausing", "sleeping"})
_BREAK = re.compile(r"[.!?]\s+")


def instruction(message: str) -> str | None:
    """The words of the first instruction to change something first, in a lower-cased message, or None."""
    for sentence in _sentences(message):
        # Each pattern is searched only in a sentence that holds the words every match of it holds (signs.Guarded).
        if _IF_PERSISTS.search(sentence):
            continue
        after = _RETRY_AFTER_DOING.search(sentence)
        if after is not None and after.group(1) not in _WAITING:
            return sentence[after.start() : after.end() + 60].split(",")[0].strip()
        using = _RETRY_USING.search(sentence)
        if using is not None:
            return sentence[using.start() : using.end() + 60].split(",")[0].strip()
        then = _THEN_RETRY.search(sentence)
        if (
            then is not None
            and then.group(1) not in _NO_STEP
            and _RESTART.match(sentence, then.start(1)) is None
            and _ABOUT_TIME.search(sentence, then.start(1), then.end()) is None
        ):
            return sentence[then.start(1) : then.end()].split(",")[0].strip()
        found = _verb(sentence)
        if found is not None and _ABOUT_TIME.search(sentence, found.start(), found.start() + 160) is None:
            return sentence[found.start() : found.end() + 60].split(",")[0].strip()
    return None


def _verb(sentence: str) -> re.Match[str] | None:
    """The first verb of a change at a sentence's start or after the words that open an instruction."""
    found = _VERB.match(sentence)
    if found is not None and not _QUERY.match(sentence, found.start()):
        return found
    for lead in _LEAD.finditer(sentence):
        start = lead.start()
        if start and lead.group()[0].isalpha() and (sentence[start - 1].isalnum() or sentence[start - 1] == "_"):
            continue  # "please" inside a word
        found = _VERB.match(sentence, lead.end())
        if found is not None and not _QUERY.match(sentence, found.start()):
            return found
    return None


def _sentences(message: str) -> list[str]:
    """``message`` cut after each ".", "!" or "?" that whitespace follows (the whitespace dropped)."""
    out, start = [], 0
    for found in _BREAK.finditer(message):
        out.append(message[start : found.start() + 1])
        start = found.end()
    out.append(message[start:])
    return out
