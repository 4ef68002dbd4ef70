"""Google APIs' error bodies: the reason says why the HTTP status was given (403 is a permission, a
short-term rate limit or a daily quota). Written from the seventeenth corpus pass's one development miss
(tests/data/corpus/README.md); every message here is written for the test, not copied from the corpus."""

from __future__ import annotations

import pytest

from autoheal.domain.catalog import load_catalog
from autoheal.domain.classifier import RuleClassifier

CLASSIFIER = RuleClassifier(load_catalog())


def _body(reason: str, message: str) -> str:
    return (
        f'{{"error": {{"code": 403, "message": "{message}", "errors": [{{"message": "{message}", '
        f'"domain": "usageLimits", "reason": "{reason}"}}]}}}}'
    )


@pytest.mark.parametrize("reason", ["rateLimitExceeded", "userRateLimitExceeded"])
@pytest.mark.parametrize("service", ["adf", "databricks"])
def test_a_403_whose_reason_is_a_short_term_rate_limit_heals(reason: str, service: str) -> None:
    result = CLASSIFIER.classify_text(_body(reason, "Rate Limit Exceeded"), service=service, error_code="403")
    assert result.remediable, result
    assert result.rule == f"code:{reason}"


def test_a_403_whose_reason_is_the_daily_quota_does_not() -> None:
    result = CLASSIFIER.classify_text(_body("dailyLimitExceeded", "Daily Limit Exceeded"), error_code="403")
    assert not result.remediable and result.vetoed_by is not None
    assert "dailyLimitExceeded" in result.vetoed_by


@pytest.mark.parametrize("reason", ["insufficientPermissions", "accessDenied"])
def test_a_403_whose_reason_is_a_permission_is_one(reason: str) -> None:
    result = CLASSIFIER.classify_text(_body(reason, "Forbidden"), service="databricks", error_code="403")
    assert not result.remediable and result.error_type == "PermissionDenied", result


def test_a_403_without_a_reason_stays_a_permission() -> None:
    result = CLASSIFIER.classify_text('{"error": {"code": 403, "message": "Forbidden"}}', error_code="403")
    assert not result.remediable and result.error_type == "PermissionDenied", result


@pytest.mark.parametrize(
    ("code", "message"),
    [
        # A named never-class code is no bare status: a planted reason does not put it aside.
        (
            "AuthorizationPermissionMismatch",
            'This request is not authorized. {"errors": [{"reason": "rateLimitExceeded"}]}',
        ),
        # Nor does a reason quiet a never sign elsewhere in the message.
        ("403", _body("rateLimitExceeded", "Rate Limit Exceeded") + " SSL: CERTIFICATE_VERIFY_FAILED"),
    ],
)
def test_a_reason_does_not_override_other_never_evidence(code: str, message: str) -> None:
    result = CLASSIFIER.classify_text(message, service="adf", error_code=code)
    assert not result.remediable and result.vetoed_by is not None, result
