"""The rails' policy: safe defaults, validation that names the file, line and reason, patterns with
deny winning, and the order in which the decision checks the rails."""

from __future__ import annotations

from pathlib import Path

import pytest

from autoheal.domain.catalog import load_catalog
from autoheal.domain.classifier import Classification
from autoheal.domain.decision import Rails, decide
from autoheal.domain.policy import Policy, PolicyError, load_policy, parse_policy, resource_keys
from autoheal.domain.values import Facts, Target

CATALOG = load_catalog()


def transient(confidence: float = 0.8, **extra: object) -> Classification:
    return Classification(error_type="GatewayTimeout", remediable=True, confidence=confidence, rule="t", **extra)  # type: ignore[arg-type]


def decided(policy: Policy | None = None, rails: Rails | None = None, **kwargs: object) -> tuple[str, str]:
    args: dict[str, object] = {
        "mode": "on",
        "classification": transient(),
        "service": "adf",
        "catalog": CATALOG,
        "attempts_spent": 0,
        "policy": policy or Policy(),
        "rails": rails,
        "resource_keys": ["factory:adf-prod", "pipeline:CopySales", "env:prod"],
    } | kwargs
    d = decide(**args)  # type: ignore[arg-type]
    return d.action, d.reason


def test_the_defaults_are_safe() -> None:
    policy = load_policy()
    assert policy.approval.unknown_with_suggestion == "ask" and policy.approval.default == "low-confidence"
    assert policy.budget.enabled and policy.budget.actions == 3 and policy.budget.window_hours == 6
    assert policy.breaker.enabled and policy.recurrence.enabled


@pytest.mark.parametrize(
    ("text", "line", "says"),
    [
        ("[approval]\ndefault = 'sometimes'\n", 2, "approval.default"),
        ("[budget]\nactions = 3\nwindw_hours = 6\n", 3, "unknown key"),
        ("[breaker]\nfailed_verifications = -1\n", 2, "greater than or equal to 1"),
        ('[resources]\ndeny = ["Copy*"]\n', 2, "must name a key"),
        ("[approval\n", None, "not valid TOML"),
        ("[[approval.resources]]\npattern = 'env:prod'\napproval = 'often'\n", 3, "approval.resources.0.approval"),
    ],
)
def test_a_bad_policy_fails_at_load_naming_the_file_line_and_reason(text: str, line: int | None, says: str) -> None:
    with pytest.raises(PolicyError) as raised:
        parse_policy(text, "rails.toml")
    message = str(raised.value)
    assert message.startswith(f"rails.toml, line {line}:" if line else "rails.toml:") and says in message


def test_an_unreadable_policy_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match=r"missing\.toml: cannot read the policy"):
        load_policy(tmp_path / "missing.toml")


def test_deny_wins_over_allow_and_keys_come_from_the_facts_and_tags() -> None:
    facts = Facts(
        target=Target(service="databricks", run_id="1", cluster_id="0923-abc"),
        lineage="x",
        job_id="101",
        job_name="nightly-orders",
        tags={"env": "prod", "team": "sales"},
    )
    keys = resource_keys(facts)
    assert {"job:101", "job:nightly-orders", "cluster:0923-abc", "env:prod", "tag:team=sales"} <= set(keys)
    policy = parse_policy('[resources]\nallow = ["job:nightly-*"]\ndeny = ["env:PROD"]\n', "p")
    allowed, why = policy.allowed(keys)
    assert not allowed and "env:prod" in why
    assert policy.allowed(["job:nightly-x", "env:dev"]) == (True, "")
    assert not policy.allowed(["job:weekly"])[0]


def test_the_rails_are_checked_in_order_and_each_says_why() -> None:
    assert decided()[0] == "remediate"
    off = parse_policy('[playbooks."adf.rerun_from_failure"]\nenabled = false\n', "p")
    assert decided(off) == ("escalate", "playbook adf.rerun_from_failure is switched off by policy")
    assert decided(rails=Rails(breaker_open="a runaway"))[1] == "the circuit breaker is open: a runaway"
    assert "keeps coming back" in decided(rails=Rails(recurrences=2))[1]
    assert "budget spent: 3 actions" in decided(rails=Rails(resource_actions=3))[1]
    # The breaker is checked before the budget, and a denied resource before both.
    denied = parse_policy('[resources]\ndeny = ["env:prod"]\n', "p")
    assert "denied" in decided(denied, Rails(breaker_open="x", resource_actions=9))[1]
    assert "breaker" in decided(rails=Rails(breaker_open="x", resource_actions=9))[1]


def test_what_asks_a_person_first() -> None:
    assert decided(classification=transient(0.65))[0] == "approve-first"  # below the default 0.7 threshold
    always = parse_policy('[[approval.resources]]\npattern = "factory:*-prod"\napproval = "always"\n', "p")
    action, reason = decided(always)
    assert action == "approve-first" and "factory:adf-prod" in reason
    never = parse_policy('[approval]\ndefault = "never"\n', "p")
    assert decided(never, classification=transient(0.65))[0] == "remediate"
    weak = Classification(error_type="HttpConnectionFailed", remediable=False, confidence=0.5, rule="w", abstained=True)
    assert decided(classification=weak)[0] == "approve-first"
    assert decided(never, classification=weak)[0] == "escalate"
    unknown = Classification(error_type="Unknown", remediable=False, confidence=0.3, rule="n")
    assert decided(classification=unknown, suggested="GatewayTimeout")[0] == "approve-first"
    strict = parse_policy('[approval]\nunknown_with_suggestion = "escalate"\n', "p")
    assert decided(strict, classification=unknown, suggested="GatewayTimeout")[0] == "escalate"
    vetoed = Classification(error_type="PermissionDenied", remediable=False, confidence=0.9, rule="v", vetoed_by="x")
    assert decided(classification=vetoed, suggested="GatewayTimeout")[0] == "escalate"


def test_an_escalation_on_a_guess_says_it_is_one() -> None:
    # The rules recognised nothing: their class is the likeliest one, not a cause they found.
    guess = Classification(error_type="InvalidConfiguration", remediable=False, confidence=0.3, rule="no-evidence")
    found = guess.model_copy(update={"rule": "veto:configuration", "vetoed_by": "configuration: 'is not valid'"})
    action, reason = decided(classification=guess)
    assert action == "escalate" and reason.startswith("nothing recognised: InvalidConfiguration is a guess")
    action, reason = decided(classification=found)
    assert action == "escalate" and reason == "InvalidConfiguration is not remediated: configuration: 'is not valid'"


def test_dry_run_says_it_would_ask() -> None:
    always = parse_policy('[approval]\ndefault = "always"\n', "p")
    action, reason = decided(always, mode="dry-run")
    assert action == "skip" and reason.startswith("dry-run: would ask for approval, then run")
