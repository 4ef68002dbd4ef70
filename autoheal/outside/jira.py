"""Jira through its REST API v2 (Cloud and Data Center): find an issue by label, create one, comment.

Bounded: a timeout per call, a few retries on 429 and 5xx honouring Retry-After (capped). Every error
becomes a :class:`JiraError` whose message says what to fix, never the token.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
from pydantic import SecretStr

from autoheal.settings import Settings

MAX_RETRY_AFTER = 30.0


class JiraError(RuntimeError):
    """A ticket could not be opened or commented; the message names the cause and the fix."""


def _explain(response: httpx.Response, what: str, project: str | None) -> JiraError:
    """The one error map: status and Jira's errorMessages/errors into a sentence."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    details = [*(body.get("errorMessages") or []), *(f"{k}: {v}" for k, v in (body.get("errors") or {}).items())]
    said = f" (Jira: {'; '.join(str(d) for d in details)})" if details else ""
    status = response.status_code
    if status == 401:
        fix = "check AUTOHEAL_JIRA_USER and AUTOHEAL_JIRA_TOKEN"
        return JiraError(f"{what}: Jira rejected the credentials (401); {fix}")
    if status == 403:
        return JiraError(f"{what}: the Jira account may not do this (403){said}")
    if status == 404:
        return JiraError(f"{what}: not found (404){said}; check AUTOHEAL_JIRA_URL and AUTOHEAL_JIRA_PROJECT")
    if status == 400 and "project" in str(body.get("errors") or {}):
        return JiraError(f"{what}: Jira has no project {project!r} the account can use{said}")
    if status == 400:
        return JiraError(f"{what}: Jira refused the fields (400){said}; check AUTOHEAL_JIRA_ISSUE_TYPE/_FIELDS")
    return JiraError(f"{what}: Jira answered {status}{said}")


class JiraClient:
    def __init__(
        self,
        url: str,
        *,
        token: SecretStr,
        user: str | None = None,
        timeout: float = 10,
        retries: int = 2,
        sleep: Any = time.sleep,
    ) -> None:
        auth: httpx.Auth | None = None
        headers = {"Accept": "application/json"}
        if user:  # Jira Cloud: the account's email and an API token
            auth = httpx.BasicAuth(user, token.get_secret_value())
        else:  # Data Center: a personal access token
            headers["Authorization"] = f"Bearer {token.get_secret_value()}"
        self.http = httpx.Client(base_url=url.rstrip("/"), auth=auth, headers=headers, timeout=timeout)
        self.retries, self.sleep = retries, sleep

    @classmethod
    def from_settings(cls, settings: Settings) -> JiraClient | None:
        """None while tickets are off (no URL, project or token)."""
        if not (settings.jira_url and settings.jira_project and settings.jira_token):
            return None
        return cls(
            settings.jira_url,
            token=settings.jira_token,
            user=settings.jira_user,
            timeout=settings.jira_timeout_seconds,
            retries=settings.jira_retries,
        )

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> JiraClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _call(self, method: str, path: str, what: str, project: str | None = None, **kwargs: Any) -> httpx.Response:
        for attempt in range(self.retries + 1):
            try:
                response = self.http.request(method, path, **kwargs)
            except httpx.HTTPError as exc:
                if attempt == self.retries:
                    where = self.http.base_url
                    raise JiraError(f"{what}: cannot reach Jira at {where} ({type(exc).__name__})") from exc
                self.sleep(min(2**attempt, MAX_RETRY_AFTER))
                continue
            if (response.status_code == 429 or response.status_code >= 500) and attempt < self.retries:
                try:
                    wait = float(response.headers.get("Retry-After", 2**attempt))
                except ValueError:
                    wait = float(2**attempt)
                self.sleep(min(max(wait, 0.0), MAX_RETRY_AFTER))
                continue
            if response.status_code >= 400:
                raise _explain(response, what, project)
            return response
        raise AssertionError("unreachable")

    def find_by_label(self, project: str, label: str) -> str | None:
        """The newest issue of ``project`` carrying ``label``: what makes a retried create idempotent."""
        jql = f'project = "{project}" AND labels = "{label}" ORDER BY created DESC'
        params = {"jql": jql, "fields": "key", "maxResults": "1"}
        what = f"search {project} for {label}"
        try:  # Jira Cloud's search (the older /search is being removed there)
            response = self._call("GET", "/rest/api/2/search/jql", what, project, params=params)
        except JiraError as exc:
            if "(404)" not in str(exc):
                raise
            response = self._call("GET", "/rest/api/2/search", what, project, params=params)  # Data Center
        issues = response.json().get("issues") or []
        return str(issues[0]["key"]) if issues else None

    def create(self, fields: dict[str, Any]) -> str:
        project = (fields.get("project") or {}).get("key")
        what = f"create an issue in {project}"
        response = self._call("POST", "/rest/api/2/issue", what, project, json={"fields": fields})
        return str(response.json()["key"])

    def comment(self, key: str, body: str) -> None:
        self._call("POST", f"/rest/api/2/issue/{key}/comment", f"comment on {key}", json={"body": body})
