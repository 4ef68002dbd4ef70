"""The classifier: knowledge first, the innermost cause decides, and it abstains when unsure.

1. Codes, from where the services put them: a cluster's termination reason, a job run's termination
   code, an activity's errorCode, and the forms the services write codes in inside a message
   (ErrorCode=..., UPPER_SNAKE termination codes, Spark error classes, exception names). Each is
   looked up in the documented tables (autoheal/domain/knowledge.py); an undocumented code is no
   evidence, and a class name in free text is never a code.
2. Evidence of a cause a retry cannot fix vetoes healing wherever it stands in the message: a code
   the tables call decisive and not remediable, or a never-class sign (autoheal/domain/rules.py).
   The veto names the code or the words.
3. Then a code that documents a transient class, then the transient wording.
4. Weak or no evidence: a low confidence (below ``ACT_AT``) or Unknown, and the decision escalates.

Its error_type is always a catalog name or a never-remediated class.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from pydantic import BaseModel

from autoheal.domain.catalog import Catalog
from autoheal.domain.knowledge import CodeEntry, Table, lookup
from autoheal.domain.rules import NEVER_SIGNS, TRANSIENT_SIGNS, Sign
from autoheal.domain.signs import compile_signs, required_literals, top_level_branches

__all__ = ["ACT_AT", "Classification", "RuleClassifier", "required_literals", "top_level_branches"]
from autoheal.domain.values import Facts

# Confidence levels; each says what stands behind a classification. autoheal acts alone from ACT_AT.
DECISIVE_CODE = 0.95  # a documented code that decides on its own
VETO = 0.9  # a cause a retry cannot fix, found in a code or the words
CODE = 0.8  # a documented code whose class the message did not contradict
SIGN = 0.75  # the specific wording of a transient class
CONFIRMED = 0.7  # wording of a transient class where the code's documented default is not transient
NEVER_DEFAULT = 0.65  # a code whose documented default is not transient, nothing in the message against it
UNCONFIRMED = 0.55  # a code that does not decide alone, and no words in the message to confirm it
WEAK = 0.5  # wording that also fits a fault a retry cannot fix
UNKNOWN = 0.3  # nothing recognised, or only a generic wrapper ("Operation on target ... failed")
ACT_AT = 0.6

_ON_DATABRICKS = {"ThrottlingError": "DatabricksResourceExhausted", "GatewayTimeout": "DatabricksTimeoutError"}

# Where codes stand inside a message, in the forms the services write them.
_FIELD_CODE = re.compile(r"""(?:ErrorCode|error_code|errorCode)["']?\s*[=:]\s*["']?([A-Za-z0-9][\w.-]*)""")
_NUMERIC_CODE = re.compile(r"(?i)error ?code[\s:=\"']+(\d{3,4})\b")
_STATUS_CODE = re.compile(r"(?i)status(?: ?code)?\s*(?::|-|=)?\s*['\"]?([A-Za-z]+|\d{3})\b")
_SNAKE = re.compile(r"\b[A-Z][A-Z0-9]+(?:_[A-Z0-9]+)+\b")
# The UI writes termination codes as title words, acronyms kept ("Azure VM Extension Failure").
_TITLE_RUN = re.compile(r"\b[A-Z](?:[a-z]+|[A-Z]+)(?: [A-Z](?:[a-z]+|[A-Z]+))+\b")
_EXCEPTION = re.compile(r"\b((?:[a-z]\w*\.)*[A-Z]\w*(?:Exception|Error|Failure))\b")
_CAMEL_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
# An ADF error code is named by its cause; every code the ADF troubleshooting guides document whose name
# says Invalid, Missing/Missed or (Un)Supported is a cause a retry cannot fix (knowledge/adf_error_codes.toml:
# 35 of 35). "NotExist"/"NotFound" are left out: a source file that has not arrived yet is transient.
_ADF_NEVER_NAME = re.compile(r"(?i)invalid|missed|missing|not_?supported?|unsupported")
_SQLSTATE = re.compile(r"SQLSTATE:?\s*([0-9A-Z]{5})\b")
_QUOTA = re.compile(r"current limit:?\s*(\d+).{0,80}?additional required:?\s*(\d+)", re.DOTALL)
def _precise(entry: CodeEntry) -> bool:
    """A code that names one cause (a Spark error class, a termination code), not an ADF activity
    code whose documented default stands for several."""
    return entry.decisive or entry.table in (Table.CLUSTER, Table.RUN, Table.SPARK)


class Classification(BaseModel):
    error_type: str
    remediable: bool  # autoheal may heal it alone: a remediable class, no veto, confidence >= ACT_AT
    confidence: float
    rule: str  # what decided: code:<CODE>, sign:<name>, veto:<...>, or no-evidence
    classifier: str = "rules"
    vetoed_by: str | None = None  # the code or words of a cause a retry cannot fix
    abstained: bool = False  # a transient class on evidence too weak to act alone
    evidence: list[str] = []


@dataclass(slots=True)
class _Signals:
    """What the classifier reads, structured fields first: built from Facts, or from text alone."""

    service: str | None
    message: str
    error_code: str | None = None
    failure_type: str | None = None
    termination_code: str | None = None
    run_termination_code: str | None = None
    details: str = ""

    @classmethod
    def of(cls, facts: Facts) -> _Signals:
        params = facts.termination_parameters
        return cls(
            service=facts.target.service,
            message=facts.error_message or "",
            error_code=facts.error_code,
            failure_type=facts.failure_type,
            termination_code=facts.termination_code,
            run_termination_code=facts.run_termination_code,
            details=" ".join(f"{k}: {v}" for k, v in params.items()) if params else "",
        )




class RuleClassifier:
    """Classifies :class:`Facts` (or, for text alone, a message with its service and code)."""

    def __init__(
        self, catalog: Catalog, never: Iterable[Sign] = NEVER_SIGNS, transient: Iterable[Sign] = TRANSIENT_SIGNS
    ) -> None:
        self.catalog = catalog
        known = set(catalog.names)
        for sign in (*never, *transient):
            for kind in {sign.error_type, sign.error_type_for("databricks")}:
                if kind not in known:
                    raise ValueError(f"sign {sign.name}: {kind} is not in the catalog ({catalog.source})")
        self._never = compile_signs(never)
        self._transient = compile_signs(transient)
        # A class name in free text is never read as a code (ErrorCode=GatewayTimeout planted in a message).
        self._class_names = {name.lower() for name in known}
        remediable = sorted(name.lower() for name in catalog.types)
        self._remediable_names = tuple(remediable)
        self._class_words = re.compile(r"\b(" + "|".join(remediable) + r")\b")
        self.prefilter = True  # off only to test that the prefilter never changes a classification

    def classify(self, facts: Facts) -> Classification:
        return self._classify(_Signals.of(facts))

    def classify_text(
        self, message: str, *, service: str | None = None, error_code: str | None = None
    ) -> Classification:
        """Text alone: what an alert or a log line says, without what enrichment reads from the service."""
        return self._classify(_Signals(service=service, message=message or "", error_code=error_code))

    def _classify(self, s: _Signals) -> Classification:
        service = s.service
        inner = f"{s.message} {s.details}" if s.details else s.message
        codes = list(self._codes(s, inner))
        evidence = [f"{entry.table.value} code {entry.code}: {entry.error_type}" for entry in codes]
        # A code is named by its cause (UserErrorTypeInSchemaTableNotSupported): its words count as text.
        named = [s.error_code or "", *(_FIELD_CODE.findall(inner) if "rror" in inner else ())]
        named = [n for n in named if n.lower() not in self._class_names]
        words = " ".join(_CAMEL_WORD.findall(" ".join(named))) if any(named) else ""
        # The termination codes are looked up, not read as words (ALLOCATION_TIMEOUT is no timeout wording).
        text = " ".join(f for f in (s.error_code, inner, words) if f).lower()
        # A class name in free text says nothing ("answer GatewayTimeout" is not a gateway timeout).
        if any(name in text for name in self._remediable_names):
            text = self._class_words.sub(" ", text)
        quota = _QUOTA.search(text) if "quota" in text else None
        fits = quota is not None and int(quota.group(2)) <= int(quota.group(1))

        # 1. a cause a retry cannot fix, anywhere: it vetoes healing.
        nevers = [e for e in codes if not self._transient_class(e, service)]
        for entry in nevers:
            # A code that names one cause vetoes whatever the words say; a quota code stands aside only
            # when the numbers show the request fits once others free up.
            wrapper = entry.error_type == "Unknown" and not entry.decisive  # RUN_EXECUTION_ERROR: see the message
            if _precise(entry) and not wrapper and not (fits and entry.error_type == "DatabricksResourceExhausted"):
                return self._veto(entry.error_type, f"code {entry.code} ({entry.why})", evidence, rule=entry.code)
        hit = self._never.first(text, service, prefilter=self.prefilter)
        if hit is not None:
            sign, matched = hit
            # The words veto; a documented never-class code that names one cause, where there is one,
            # names the class.
            precise = next((e for e in nevers if e.error_type != "Unknown" and _precise(e)), None)
            kind = precise.error_type if precise else sign.sign.error_type_for(service)
            return self._veto(kind, f"{sign.sign.name}: '{matched}'", evidence, rule=sign.sign.name)
        # An undocumented ADF code whose name states a configuration fault (DF-Cosmos-PartitionKeyMissed).
        if service == "adf":
            for code in named:
                if code and _ADF_NEVER_NAME.search(code) and lookup(code, Table.ADF) is None:
                    return self._veto("InvalidConfiguration", f"ADF code name {code}", evidence, rule="adf-code-name")
        # A Spark SQLSTATE whose class is the job's own fault (data, statement, feature, classpath), where
        # no documented error condition is more specific.
        state = _sql_state(inner, codes) if "SQLSTATE" in inner else None
        if state is not None:
            evidence.append(f"{state.table.value} {state.code}: {state.error_type}")
            return self._veto(state.error_type, f"SQLSTATE class {state.code} ({state.why})", evidence, rule="sqlstate")
        if quota is not None and not fits:
            why = f"quota: {quota.group(2)} more needed than the limit of {quota.group(1)} allows at all"
            return self._veto("DatabricksResourceExhausted", why, evidence, rule="quota-never-fits")

        # 2. a code that decides a transient class on its own.
        transient = [e for e in codes if self._transient_class(e, service)]
        for entry in transient:
            if entry.decisive:
                return self._result(_on(entry, service), DECISIVE_CODE, f"code:{entry.code}", evidence, service)
        # 3. the transient wording: it names the class more precisely than a code that does not decide.
        defaults = [e for e in nevers if e.error_type != "Unknown"]
        if defaults:
            # Against a code whose documented default is not transient, only the message's own words
            # can confirm a transient cause: not the code's name (DF-Executor-BroadcastTimeout).
            bare = inner
            for code in named:
                bare = bare.replace(code, " ") if code else bare
            hit = self._transient.first(self._class_words.sub(" ", bare.lower()), service, prefilter=self.prefilter)
        else:
            hit = self._transient.first(text, service, prefilter=self.prefilter)
        if hit is not None:
            sign, matched = hit
            evidence.append(f"{sign.sign.name}: '{matched}'")
            kind = sign.sign.error_type_for(service)
            if transient:
                # A termination code keeps its class; a generic activity or HTTP code yields to the words.
                entry = transient[0]
                if _precise(entry):
                    return self._result(_on(entry, service), CODE, f"code:{entry.code}", evidence, service)
                return self._result(kind, CODE, f"sign:{sign.sign.name}", evidence, service)
            level = WEAK if sign.sign.weak else (CONFIRMED if defaults else SIGN)
            return self._result(kind, level, f"sign:{sign.sign.name}", evidence, service)
        # 4. a code that documents a transient class, the message silent: the table says this code does
        # not decide alone (decisive = false), so it is a class to ask a person about, not to act on.
        if transient:
            entry = transient[0]
            # An HTTP status the service reports (its errorCode, or "Response status code: 'TooManyRequests'")
            # is what the endpoint answered: stated, not a default.
            said = entry.table is Table.API and (
                entry.code.lower() == (s.error_code or "").lower() or ("tatus" in inner and _stated(entry.code, inner))
            )
            level = CODE if said else UNCONFIRMED
            return self._result(_on(entry, service), level, f"code:{entry.code}", evidence, service)
        # 5. a code whose documented default is not transient, and nothing against it.
        if defaults:
            entry = defaults[0]
            return self._result(entry.error_type, NEVER_DEFAULT, f"code:{entry.code}", evidence, service)
        if s.failure_type and s.failure_type.lower() == "systemerror":
            evidence.append("failureType SystemError")
            return self._result("InternalServerError", WEAK, "failure-type:SystemError", evidence, service)
        return Classification.model_construct(
            error_type="Unknown",
            remediable=False,
            confidence=UNKNOWN,
            rule="no-evidence",
            classifier="rules",
            vetoed_by=None,
            abstained=True,
            evidence=evidence,
        )

    def _codes(self, s: _Signals, message: str) -> Iterator[CodeEntry]:
        """Documented codes, the structured ones first, each once."""
        seen: set[str] = set()

        def found(code: str | None, *tables: Table, structured: bool) -> Iterator[CodeEntry]:
            if not code or (not structured and code.lower() in self._class_names):
                return
            entry = lookup(code, *tables)
            if entry is not None and entry.code.lower() not in seen:
                seen.add(entry.code.lower())
                yield entry

        yield from found(s.termination_code, Table.CLUSTER, structured=True)
        yield from found(s.run_termination_code, Table.RUN, structured=True)
        field_tables = _FIELD_TABLES.get(s.service or "", _ALL_TABLES)
        yield from found(s.error_code, *field_tables, structured=True)
        if "tatus" in message:  # ADF's Web and Function activities: "Response status code: 'TooManyRequests'"
            for code in _STATUS_CODE.findall(message):
                yield from found(code, Table.API, structured=True)
        if "rror" in message or "RROR" in message:
            for code in _FIELD_CODE.findall(message):
                yield from found(code, *field_tables, structured=False)
            for code in _NUMERIC_CODE.findall(message):
                yield from found(code, Table.ADF, structured=False)
        if "_" in message:
            for code in _SNAKE.findall(message):
                yield from found(code, Table.CLUSTER, Table.RUN, Table.SPARK, Table.API, structured=False)
        for run in _TITLE_RUN.findall(message):
            words = run.split(" ")
            for size in range(len(words), 1, -1):
                for start in range(len(words) - size + 1):
                    yield from found("_".join(words[start : start + size]), Table.CLUSTER, structured=False)
        if "Exception" in message or "Error" in message or "Failure" in message:
            for name in _EXCEPTION.findall(message):
                yield from found(name, Table.SPARK, structured=False)
                yield from found(name.rsplit(".", 1)[-1], Table.SPARK, structured=False)

    def _transient_class(self, entry: CodeEntry, service: str | None) -> bool:
        return entry.remediable and self.catalog.entry(_on(entry, service)) is not None

    def _veto(self, kind: str, why: str, evidence: list[str], *, rule: str) -> Classification:
        return Classification.model_construct(
            error_type=kind if kind in self.catalog.names else "Unknown",
            remediable=False,
            confidence=VETO,
            rule=f"veto:{rule}",
            classifier="rules",
            vetoed_by=why,
            abstained=False,
            evidence=[*evidence, f"veto: {why}"],
        )

    def _result(self, kind: str, level: float, rule: str, evidence: list[str], service: str | None) -> Classification:
        entry = self.catalog.entry(kind)
        transient = entry is not None and (service is None or entry.playbook_for(service) is not None)
        return Classification.model_construct(
            error_type=kind,
            remediable=transient and level >= ACT_AT,
            confidence=level,
            rule=rule,
            classifier="rules",
            vetoed_by=None,
            abstained=transient and level < ACT_AT,
            evidence=evidence,
        )


def _sql_state(message: str, codes: list[CodeEntry]) -> CodeEntry | None:
    """The SQLSTATE table's entry for the state a Spark message ends with, unless a documented Spark
    error condition in the message already says more (DELTA_CONCURRENT_APPEND is class 2D, and healable)."""
    if any(entry.table is Table.SPARK for entry in codes):
        return None
    found = _SQLSTATE.search(message)
    if found is None:
        return None
    state = found.group(1)
    return lookup(state, Table.SQLSTATE) or lookup(state[:2], Table.SQLSTATE)


def _stated(code: str, message: str) -> bool:
    return code.lower() in {c.lower() for c in _STATUS_CODE.findall(message)}


def _on(entry: CodeEntry, service: str | None) -> str:
    """Databricks has no throttling or gateway-timeout class of its own (tests/data/corpus/README.md)."""
    return _ON_DATABRICKS.get(entry.error_type, entry.error_type) if service == "databricks" else entry.error_type


_ALL_TABLES = (Table.ADF, Table.RUN, Table.CLUSTER, Table.API, Table.SPARK)
_FIELD_TABLES = {
    "adf": (Table.ADF, Table.API, Table.SPARK),
    "databricks": (Table.RUN, Table.API, Table.CLUSTER, Table.SPARK),
}
