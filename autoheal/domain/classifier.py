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
from collections.abc import Iterable
from dataclasses import dataclass

from autoheal.domain.catalog import Catalog
from autoheal.domain.causes import innermost, only_a_wrapper, without_code
from autoheal.domain.classification import NO_EVIDENCE, Classification, built
from autoheal.domain.codes import ANY_HINT, FIELD_CODE, CodeFinder, code_words, quoted_names, sql_state, stated, unnamed
from autoheal.domain.injection import addressed, raised_by_the_job
from autoheal.domain.instructions import instruction
from autoheal.domain.knowledge import CodeEntry, Table, lookup
from autoheal.domain.quotas import cores_quota, spark_pool
from autoheal.domain.rules import NEVER_SIGNS
from autoheal.domain.service_classes import class_of, class_on
from autoheal.domain.signs import Scanner, Sign, compile_signs, required_literals, top_level_branches
from autoheal.domain.transient import INSTALLER, TRANSIENT_SIGNS

__all__ = ["ACT_AT", "Classification", "RuleClassifier", "built", "required_literals", "top_level_branches"]
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
# A failure no code or sign names is most often configuration: 67 of the 101 such development lines, 56 of
# 190 in the probe sets (labelled as tests/data/corpus/README.md says). It is a guess, at UNKNOWN.
GUESS = "InvalidConfiguration"

_CAMEL_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
# An ADF error code is named by its cause; every code the ADF troubleshooting guides document whose name
# says Invalid, Missing/Missed or (Un)Supported is a cause a retry cannot fix (knowledge/adf_error_codes.toml:
# 151 of 151, tests/unit/test_knowledge_tables.py). "NotExist"/"NotFound" are left out: a source file that
# has not arrived yet is transient.
_ADF_NEVER_NAME = re.compile(r"(?i)invalid|missed|missing|not_?supported?|unsupported")
_ESCAPED_BREAK = re.compile(r"\\[nrt]")

# The transient signs of a connection that failed or dropped, so got no answer (autoheal/domain/transient.py).
# Not a timeout: a server may answer with a status that reports one (S3's RequestTimeout is a 400; 408).
_NO_ANSWER_SIGNS = frozenset({"connection-dropped", "connection-failed"})
# The classes of a network or server fault, which an installer's text turns into a library installation's.
_NETWORK_CLASSES = frozenset(
    {"HttpConnectionFailed", "InternalServerError", "DatabricksTimeoutError", "GatewayTimeout"}
)


def _precise(entry: CodeEntry) -> bool:
    """A code that names one cause (a Spark error class, a termination code), not an ADF activity
    code whose documented default stands for several."""
    return entry.decisive or entry.table in (Table.CLUSTER, Table.RUN, Table.SPARK)


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
    termination_type: str | None = None

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
            termination_type=facts.termination_type,
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
        if any(not name.isalnum() for name in remediable):
            raise ValueError("a class name is letters and digits only")  # the bare text's prefilter relies on it
        self._class_words = re.compile(r"\b(" + "|".join(remediable) + r")\b")
        self.prefilter = True  # off only to test that the prefilters never change a classification
        self._known = frozenset(known)
        words = {name: _CLASS_NAME for name in remediable}
        for word, bits in code_words().items():
            words[word] = words.get(word, 0) | bits
        self._scanner = Scanner(self._never, self._transient, words)
        self._finder = CodeFinder(frozenset(self._class_names))
        # Whether a class is healed on a service: a catalog type with a playbook there.
        self._heals = {
            (name, service): service is None or entry.playbook_for(service) is not None
            for name, entry in catalog.types.items()
            for service in (None, "adf", "databricks")
        }

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
        if "\\" in inner:
            # A body quoted with its escapes ("...line 88\\nKeyError: 'id'\\n", an Azure Function's JSON as ADF
            # prints it): an escaped line end is a line end, or the word after it is glued to an "n".
            inner = _ESCAPED_BREAK.sub(" ", inner)
        # ErrorCode=..., error_code: ..., errorCode: ...: read once, for the codes and for their words.
        fields = FIELD_CODE.findall(inner) if "rrorCode" in inner or "rror_code" in inner else []
        # A code is named by its cause (UserErrorTypeInSchemaTableNotSupported): its words count as text.
        if s.error_code or fields:
            named = [n for n in (s.error_code or "", *fields) if n.lower() not in self._class_names]
            joined = " ".join(named)
            # A number is its own only word (error code 2200).
            words = joined if joined.isascii() and joined.isdigit() else " ".join(_CAMEL_WORD.findall(joined))
        else:
            named, words = [""], ""
        # The termination codes are looked up, not read as words (ALLOCATION_TIMEOUT is no timeout wording).
        text = " ".join([f for f in (s.error_code, inner, words) if f]).lower()
        # One pass over the text: which signs' alternatives can match, which code forms can find a code,
        # whether a class name is there. The text holds the message, so what the message holds it holds too.
        never_keys: int | None
        transient_keys: int | None
        if self.prefilter:
            never_keys, transient_keys, bits = self._scanner.scan(text)
            named_class = bool(bits & _CLASS_NAME)
        else:
            never_keys = transient_keys = None
            bits = ANY_HINT
            named_class = any(name in text for name in self._remediable_names)
        codes = self._finder.find(
            s.termination_code, s.run_termination_code, s.error_code, service, inner, text, fields, bits
        )
        evidence = [entry.evidence for entry in codes] if codes else []
        # A class name in free text says nothing ("answer GatewayTimeout" is not a gateway timeout).
        if named_class:
            cleaned = self._class_words.sub(" ", text)
            if cleaned != text:
                text, never_keys, transient_keys = cleaned, None, None
        quota = cores_quota(text)
        fits = quota is not None and quota.fits
        # What a Spark pool request takes against all the workspace or pool has: within it, the cores free
        # up as other jobs end (a transient sign says so); beyond it, no wait makes it fit.
        cores = spark_pool(text)
        if cores is not None and not cores.fits:
            why = f"Spark pool request: {cores.need} vCores, more than the {cores.limit} there are at all"
            return self._veto(class_on("ThrottlingError", service), why, evidence, rule="quota-never-fits")
        cores_fit = cores is not None

        # 1. a cause a retry cannot fix, anywhere: it vetoes healing.
        transient = [e for e in codes if self._transient_class(e, service)] if codes else []
        nevers = [e for e in codes if e not in transient] if transient else codes
        for entry in nevers:
            # A code that names one cause vetoes whatever the words say; a quota code stands aside only
            # when the numbers show the request fits once others free up.
            wrapper = entry.error_type == "Unknown" and not entry.decisive  # RUN_EXECUTION_ERROR: see the message
            if _precise(entry) and not wrapper and not (fits and entry.error_type == "DatabricksResourceExhausted"):
                why = f"code {entry.code} ({entry.why})"
                return self._veto(class_of(entry, service), why, evidence, rule=entry.code)
        # The termination's own type, where the cluster's termination carries one: CLIENT_ERROR is the Clusters
        # API's "Non-retriable. Client must fix parameters before reattempting the cluster creation"
        # (compute.TerminationReasonType; autoheal/domain/knowledge/databricks_cluster_termination.toml leaves the
        # type to run time). A quota whose numbers show the request fits once others free up still passes.
        if transient and not (fits or cores_fit) and _client_error(s, inner):
            cluster = next((e for e in transient if e.table is Table.CLUSTER), None)
            if cluster is not None:
                kind = cluster.error_type
                kind = kind if kind == "DatabricksResourceExhausted" else "InvalidConfiguration"
                why = f"code {cluster.code} of termination type CLIENT_ERROR (non-retriable: the client must fix it)"
                return self._veto(kind, why, evidence, rule="termination-type")
        hit = self._never.first(text, service, prefilter=self.prefilter, keys=never_keys)
        if hit is not None and hit[0].sign.step:
            # The why is beneath the step (the script's output), not in a wrapper around it ("... waiting for the
            # cluster to be ready: ... init script failed").
            beneath = text[text.find(hit[1]) + len(hit[1]) :]
            cause = self._transient.first(beneath, service, prefilter=self.prefilter)
            if cause is not None:
                evidence.append(f"{hit[0].sign.name}: '{hit[1]}' names the step; '{cause[1]}' says why")
                hit = None
        if hit is not None:
            sign, matched = hit
            # The words veto; a documented never-class code that names one cause, where there is one,
            # names the class.
            precise = next((e for e in nevers if e.error_type != "Unknown" and _precise(e)), None)
            kind = class_of(precise, service) if precise else sign.sign.error_type_for(service)
            return self._veto(kind, f"{sign.sign.name}: '{matched}'", evidence, rule=sign.sign.name)
        # An undocumented ADF code whose name states a configuration fault (DF-Cosmos-PartitionKeyMissed).
        if service == "adf":
            # Undocumented: in no table at all (INVALID_STATE, a Databricks API code quoted by an ADF activity,
            # is documented and says what its table says).
            documented = {e.code.lower() for e in codes}
            for code in named:
                if (
                    code
                    and _ADF_NEVER_NAME.search(code)
                    and code.lower() not in documented
                    and lookup(code, Table.ADF) is None
                ):
                    return self._veto("InvalidConfiguration", f"ADF code name {code}", evidence, rule="adf-code-name")
        # A Spark SQLSTATE whose class is the job's own fault (data, statement, feature, classpath), where
        # no documented error condition is more specific.
        state = sql_state(inner, codes) if "SQLSTATE" in inner else None
        if state is not None:
            evidence.append(f"{state.table.value} {state.code}: {state.error_type}")
            return self._veto(state.error_type, f"SQLSTATE class {state.code} ({state.why})", evidence, rule="sqlstate")
        if quota is not None and not fits:
            why = f"quota: {quota.need} more needed than the limit of {quota.limit} allows at all"
            return self._veto("DatabricksResourceExhausted", why, evidence, rule="quota-never-fits")

        # 2. a code that decides a transient class on its own. A cluster's or run's termination code names
        # what happened to it and so the class (a launch failure is started again); a code beneath it
        # (AllocationFailed) says why, and decides that it is transient.
        for entry in transient:
            if entry.decisive:
                named_by = next((e for e in transient if e.table in (Table.CLUSTER, Table.RUN)), entry)
                level = _planted(s.message.lower(), DECISIVE_CODE, evidence)
                return self._result(class_of(named_by, service), level, f"code:{entry.code}", evidence, service)
        # 3. the transient wording: it names the class more precisely than a code that does not decide.
        # A quoted compound name ('socketTimeout', `retry_count`, "dbo.throttle_log") names a setting, a column
        # or an object: its words are no event.
        names = quoted_names(inner)
        # Nor do the source lines of a Python traceback: the program's names ("self._wait(poll, timeout)").
        text = without_code(text)
        defaults = [e for e in nevers if e.error_type != "Unknown"]
        if defaults:
            # Against a code whose documented default is not transient, only the message's own words
            # can confirm a transient cause: not the code's name (DF-Executor-BroadcastTimeout).
            bare = inner
            for code in named:
                bare = bare.replace(code, " ") if code else bare
            # No class name in the text, none in the bare words either (class names hold no space).
            bare = self._class_words.sub(" ", bare.lower()) if named_class else bare.lower()
            bare = without_code(unnamed(bare, names) if names else bare)
            hit = self._transient.first(bare, service, prefilter=self.prefilter)
        elif names:
            hit = self._transient.first(unnamed(text, names), service, prefilter=self.prefilter)
        else:
            hit = self._transient.first(text, service, prefilter=self.prefilter, keys=transient_keys)
        if hit is not None:
            sign, matched = hit
            evidence.append(f"{sign.sign.name}: '{matched}'")
            kind = class_on(sign.sign.error_type_for(service), service)
            if service == "databricks" and kind in _NETWORK_CLASSES and INSTALLER.search(text):
                kind = "DatabricksLibraryInstallationError"
            if transient and _precise(transient[0]):
                # A termination code keeps its class; a generic activity or HTTP code yields to the words.
                entry = transient[0]
                level = _planted(s.message.lower(), CODE, evidence)
                return self._result(class_of(entry, service), level, f"code:{entry.code}", evidence, service)
            # A weak quota sign whose numbers show the request fits is a quota in use that frees.
            weak = sign.sign.weak and not (sign.sign.name == "quota" and (fits or cores_fit))
            # Words of a connection that failed or dropped, where the service states the answer it got ("The request
            # failed with status code 'BadRequest'. An error occurred while sending the request."): the two
            # contradict each other, and the stated status is not a transient one.
            answered = (
                next((e for e in nevers if e.table is Table.API and stated(e.code, inner)), None)
                if sign.sign.name in _NO_ANSWER_SIGNS
                else None
            )
            if answered is not None:
                evidence.append(f"the endpoint answered {answered.code}")
                weak = True
            level = CODE if transient else WEAK if weak else (CONFIRMED if defaults else SIGN)
            return self._result(kind, self._unless(s, level, evidence), f"sign:{sign.sign.name}", evidence, service)
        # 4. a code that documents a transient class, the message silent: the table says this code does
        # not decide alone (decisive = false), so it is a class to ask a person about, not to act on.
        if transient:
            # An HTTP status the service reports (its errorCode, "Response status code: 'TooManyRequests'", an
            # error body's "code": "InternalServerError") is what the endpoint answered: stated, not a default;
            # it says more than an activity code that stands for several causes ("... failed with http status
            # code 'InternalServerError'").
            said = [
                e
                for e in transient
                if e.table is Table.API and (e.code.lower() == (s.error_code or "").lower() or stated(e.code, inner))
            ]
            entry = said[0] if said else transient[0]
            level = self._unless(s, CODE, evidence) if said else UNCONFIRMED
            return self._result(class_of(entry, service), level, f"code:{entry.code}", evidence, service)
        # 5. a code whose documented default is not transient, and nothing against it.
        if defaults:
            entry = defaults[0]
            return self._result(entry.error_type, NEVER_DEFAULT, f"code:{entry.code}", evidence, service)
        if s.failure_type and s.failure_type.lower() == "systemerror":
            evidence.append("failureType SystemError")
            return self._result("InternalServerError", WEAK, "failure-type:SystemError", evidence, service)
        # Nothing recognised: the likeliest class (GUESS), never healed; a wrapper alone stays Unknown.
        if only_a_wrapper(text):
            return built("Unknown", False, UNKNOWN, NO_EVIDENCE, None, True, evidence)
        evidence.append(f"nothing recognised: {GUESS} is the likeliest class of such a failure")
        return built(GUESS, False, UNKNOWN, NO_EVIDENCE, None, True, evidence)

    def _unless(self, s: _Signals, level: float, evidence: list[str]) -> float:
        """Transient words, or a status, that a person weighs first: next to words addressed to a classifier,
        next to an instruction to change something (autoheal/domain/instructions.py), or only in the wrapper
        around an innermost cause that names no transient class (autoheal/domain/causes.py). Conflicting
        evidence: a person decides."""
        if level < ACT_AT:
            return level
        low = s.message.lower()
        level = _planted(low, level, evidence)
        if level < ACT_AT:
            return level
        # A job's own raise of transient words; not its raise of other words around a library's report beneath it
        # ("raise RuntimeError('aborting pipeline') from e" over the SDK's TemporarilyUnavailable).
        raised = raised_by_the_job(s.message, low)
        if raised is not None and self._transient.first(raised, s.service, prefilter=self.prefilter) is not None:
            evidence.append(f"the words are the job's own raise: {raised}")
            return WEAK
        told = instruction(low)
        if told is not None:
            evidence.append(f"told to change first: '{told}'")
            return WEAK
        # The cause decides: transient words only in the wrapper around a cause that names no transient class
        # are the wrapper's. The cause holds no marker of its own, so this looks one level down and no further.
        cause = innermost(s.message, low)
        if cause is not None and self._classify(_Signals(s.service, cause)).error_type not in self.catalog.types:
            evidence.append(f"the innermost cause names no transient class: '{cause[:80]}'")
            return WEAK
        return level

    def _transient_class(self, entry: CodeEntry, service: str | None) -> bool:
        return entry.remediable and self.catalog.entry(class_of(entry, service)) is not None

    def _veto(self, kind: str, why: str, evidence: list[str], *, rule: str) -> Classification:
        kind = kind if kind in self._known else "Unknown"
        return built(kind, False, VETO, f"veto:{rule}", why, False, [*evidence, f"veto: {why}"])

    def _result(self, kind: str, level: float, rule: str, evidence: list[str], service: str | None) -> Classification:
        heals = self._heals.get((kind, service))
        if heals is None:  # a service the table was not built for
            entry = self.catalog.entry(kind)
            heals = entry is not None and (service is None or entry.playbook_for(service) is not None)
        transient = heals
        return built(kind, transient and level >= ACT_AT, level, rule, None, transient and level < ACT_AT, evidence)


def _planted(low: str, level: float, evidence: list[str]) -> float:
    """A heal on a message (``low``: in lower case) that also speaks to a classifier
    (autoheal/domain/injection.py) is a person's to decide: whoever wrote those words may have written the
    transient ones too."""
    if level < ACT_AT:
        return level
    planted = addressed(low)
    if planted is None:
        return level
    evidence.append(f"words addressed to a classifier, not about the failure: '{planted}'")
    return WEAK


def _client_error(s: _Signals, message: str) -> bool:
    """Whether the cluster's termination is of type CLIENT_ERROR: the field, or the text as Databricks writes
    it after the code ("Reason: NETWORK_CHECK_CONTROL_PLANE_FAILURE (CLIENT_ERROR)", "...EXCEPTION(CLIENT_ERROR)")."""
    if s.termination_type is not None:
        return s.termination_type.upper() == "CLIENT_ERROR"
    return "(CLIENT_ERROR)" in message


_CLASS_NAME = 8  # a remediable class's name, in free text (a bit of the scan, above the code forms')
