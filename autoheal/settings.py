"""Settings: ``AUTOHEAL_*`` environment variables (and ``.env``), plus the variables each SDK reads.

Nothing here is read at import time: call :func:`get_settings`.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_LIBRARY_FALLBACKS: dict[str, list[str]] = {
    "pandas": ["2.1.4", "2.1.0", "2.0.3", "1.5.3"],
    "numpy": ["1.26.3", "1.24.3", "1.23.5", "1.22.4"],
    "pyspark": ["3.5.0", "3.4.1", "3.4.0", "3.3.2"],
    "scikit-learn": ["1.4.0", "1.3.2", "1.3.0", "1.2.2"],
    "pyarrow": ["14.0.2", "14.0.1", "13.0.0", "12.0.1"],
}


NotifyKind = Literal["escalation", "heal", "breaker", "approval"]


def _notified_by_default() -> list[NotifyKind]:
    return ["escalation", "breaker", "approval"]


def _env(name: str, *aliases: str) -> AliasChoices:
    return AliasChoices(f"AUTOHEAL_{name.upper()}", *aliases)


class Settings(BaseSettings):
    """Effective configuration. Secrets are SecretStr: masked in repr, logs and ``autoheal config``."""

    model_config = SettingsConfigDict(env_prefix="AUTOHEAL_", env_file=".env", extra="ignore", populate_by_name=True)

    mode: Literal["off", "dry-run", "on"] = Field("off", description="nothing acts unless this is 'on'")
    catalog_file: Path | None = Field(None, description="a catalog TOML that replaces the bundled one")
    policy_file: Path | None = Field(None, description="the safety rails' policy TOML (default: the safe defaults)")
    database_url: SecretStr = Field(
        SecretStr("sqlite:///.autoheal/autoheal.db"),
        description="SQLAlchemy URL of the store: SQLite by default, postgresql://... for production",
    )
    delay_scale: float = Field(1.0, ge=0, description="multiplies every catalog delay (0.001 for demos and tests)")

    # The webhook receiver
    webhook_token: SecretStr | None = Field(None, description="shared secret senders put in a header or ?token=")
    receiver_host: str = "127.0.0.1"
    receiver_port: int = Field(8000, ge=0, le=65535)
    max_body_bytes: int = Field(256 * 1024, ge=1024, description="larger bodies get 413")
    outbox_interval_seconds: float = Field(2.0, gt=0, description="how often undelivered events are re-sent")
    store_timeout_seconds: float = Field(
        5.0, gt=0, description="bound on each of the receiver's store calls; past it the answer is 503"
    )

    # The served deployments (flows/serve.py)
    # 0.1 s rather than 0.25: 60-80 ms less from the alert to the run starting, for 0.05 CPU-s a second more
    # while idle, server and runner together (README, "Performance").
    runner_poll_seconds: float = Field(
        0.1, gt=0, description="how often the runner asks Prefect for flow runs to start (Prefect's default is 10)"
    )
    runner_limit: int = Field(10, ge=1, description="flow runs one runner runs at once; more wait, scheduled")
    runner_fork: bool = Field(
        True, description="fork flow-run processes from a preloaded server (false: Prefect's spawn, +3 CPU-s a run)"
    )

    sweep_window_minutes: int = Field(60, ge=1, description="the sweep looks for failed runs this far back")
    sweep_interval_minutes: float = Field(15, gt=0, description="how often the served sweep deployment runs")
    stop_grace_seconds: float = Field(
        30, ge=0, description="on a stop, how long flow runs in progress get to finish before they are cut"
    )
    reconcile_interval_seconds: float = Field(
        60, gt=0, description="how often the served reconcile deployment looks for stranded incidents"
    )
    zombie_after_seconds: float = Field(
        90,
        ge=45,
        description="a running flow run with no heartbeat for this long is marked Crashed (flows/serve.py); "
        "more than twice PREFECT_FLOWS_HEARTBEAT_FREQUENCY (30 s, Prefect's least)",
    )

    # Root-cause analysis by a model (optional; the rules decide either way)
    ai_provider: Literal["none", "openai", "azure_openai", "ollama"] = Field(
        "none", description="none (rules only), openai, azure_openai or ollama"
    )
    ai_model: str | None = Field(None, description="the model (openai: gpt-4o-mini, ollama: llama3.1 by default)")
    ai_timeout_seconds: float = Field(20, gt=0, description="bound on each call to the model")
    ai_retries: int = Field(2, ge=0, description="retries on 429 and 5xx, honouring Retry-After")
    ai_max_input_chars: int = Field(8000, ge=500, description="longer error texts keep their head and tail")
    ai_price_input_per_1k: float | None = Field(None, ge=0, description="price of 1,000 input tokens, for cost")
    ai_price_output_per_1k: float | None = Field(None, ge=0, description="price of 1,000 output tokens")
    openai_api_key: SecretStr | None = Field(None, validation_alias=_env("openai_api_key", "OPENAI_API_KEY"))
    openai_base_url: str | None = Field(None, validation_alias=_env("openai_base_url", "OPENAI_BASE_URL"))
    azure_openai_endpoint: str | None = Field(
        None, validation_alias=_env("azure_openai_endpoint", "AZURE_OPENAI_ENDPOINT")
    )
    azure_openai_api_key: SecretStr | None = Field(
        None, validation_alias=_env("azure_openai_api_key", "AZURE_OPENAI_API_KEY")
    )
    azure_openai_deployment: str | None = Field(
        None, validation_alias=_env("azure_openai_deployment", "AZURE_OPENAI_DEPLOYMENT")
    )
    openai_api_version: str = Field("2024-10-21", validation_alias=_env("openai_api_version", "OPENAI_API_VERSION"))
    ollama_host: str = Field("http://127.0.0.1:11434", validation_alias=_env("ollama_host", "OLLAMA_HOST"))

    # Databricks: host plus PAT, or the SDK's unified auth when no token is given.
    databricks_host: str | None = Field(None, validation_alias=_env("databricks_host", "DATABRICKS_HOST"))
    databricks_token: SecretStr | None = Field(None, validation_alias=_env("databricks_token", "DATABRICKS_TOKEN"))
    databricks_retry_timeout_seconds: int = Field(
        60, ge=1, description="bound on databricks-sdk's own retries of 429/503 within one call"
    )
    # A service that hangs (accepts, then never answers) must not hold an attempt for the SDKs' own
    # defaults (Azure reads wait 300 s): each request's connect and each read wait at most this long.
    cloud_http_timeout_seconds: float = Field(
        30, gt=0, description="bound on one HTTP request to Databricks or ADF (connect, and each read)"
    )

    # Azure Data Factory
    azure_subscription_id: str | None = Field(
        None, validation_alias=_env("azure_subscription_id", "AZURE_SUBSCRIPTION_ID")
    )
    adf_resource_group: str | None = None
    adf_factory: str | None = None
    adf_base_url: str = "https://management.azure.com"
    adf_ca_bundle: str | None = Field(None, description="CA file for a sandbox or proxy endpoint")
    adf_token: SecretStr | None = Field(
        None, description="a static bearer token (the sandbox); unset means DefaultAzureCredential"
    )
    adf_retry_total: int = Field(2, ge=0, description="bound on azure-core's own retries within one call")

    # Playbooks
    max_retry_after_seconds: float = Field(
        60, ge=0, description="longest Retry-After honoured inside one attempt; longer ones fail the attempt"
    )
    poll_interval_seconds: float = Field(10, gt=0)
    cluster_timeout_seconds: float = Field(1800, gt=0)
    run_timeout_seconds: float = Field(7200, gt=0)
    upstream_wait_seconds: float = Field(1800, ge=0)
    upstream_lookback_hours: float = Field(24, gt=0)
    upstream_pipelines: dict[str, str] = Field(
        default_factory=dict, description='JSON: {"pipeline": "its upstream pipeline"}'
    )
    scale_factor: float = Field(1.5, gt=1)
    max_workers: int = Field(20, ge=1)
    timeout_factor: float = Field(2.0, gt=1)
    max_timeout_seconds: int = Field(4 * 3600, ge=1)
    library_fallbacks: dict[str, list[str]] = Field(default_factory=lambda: dict(DEFAULT_LIBRARY_FALLBACKS))

    # People: notifications (tasks/notification.py), Jira tickets (autoheal/outside/jira.py), HTTP playbooks
    notify_slack_url: SecretStr | None = Field(None, description="Slack incoming webhook URL")
    notify_teams_url: SecretStr | None = Field(None, description="Microsoft Teams Workflows (Power Automate) URL")
    notify_email_url: SecretStr | None = Field(
        None, description="apprise SMTP URL: mailtos://user:password@smtp.example.com?to=oncall@example.com"
    )
    notify_webhook_url: SecretStr | None = Field(None, description="any URL that takes a JSON POST")
    notify_blocks: list[str] = Field(
        default_factory=list, description='saved Prefect notification blocks, JSON: ["slack-webhook/oncall"]'
    )
    notify_on: list[NotifyKind] = Field(
        default_factory=_notified_by_default, description="what is notified (heal: opt in)"
    )
    notify_limit: int = Field(3, ge=1, description="messages per channel per window; the rest wait for one summary")
    notify_window_seconds: float = Field(600, gt=0, description="the rate limit's window")
    prefect_ui_url: str | None = Field(None, description="links to flow runs; default: Prefect's PREFECT_UI_URL")

    report_minutes_per_heal: float = Field(
        30, ge=0, description="the report's assumption: an engineer's minutes per failure autoheal healed"
    )
    report_interval_hours: float = Field(24, gt=0, description="how often the served report deployment runs")

    jira_url: str | None = Field(None, description="https://your-site.atlassian.net (REST API v2)")
    jira_user: str | None = Field(None, description="Jira Cloud: the account's email; unset for a PAT (bearer)")
    jira_token: SecretStr | None = Field(None, description="Jira Cloud API token, or a Data Center PAT")
    jira_project: str | None = Field(None, description="project key; tickets are off while unset")
    jira_issue_type: str = "Task"
    jira_labels: list[str] = Field(default_factory=lambda: ["autoheal"])
    jira_fields: dict[str, Any] = Field(
        default_factory=dict, description='extra fields, JSON: {"priority": {"name": "High"}, "customfield_10010": 1}'
    )
    jira_timeout_seconds: float = Field(10, gt=0)
    jira_retries: int = Field(2, ge=0, description="retries on 429 and 5xx")

    http_playbooks: dict[str, SecretStr] = Field(
        default_factory=dict,
        description='the catalog\'s http.NAME playbooks, JSON: {"retry_pipeline": "https://...logic.azure.com/..."}',
    )
    http_playbook_secret: SecretStr | None = Field(None, description="sent in AUTOHEAL_HTTP_PLAYBOOK_HEADER")
    http_playbook_header: str = Field("x-functions-key", description="the header carrying the secret")
    http_playbook_timeout_seconds: float = Field(30, gt=0)
    http_playbook_retries: int = Field(2, ge=0, description="retries on connection errors, 429 and 5xx")
    http_playbook_verify_seconds: float = Field(
        300, gt=0, description="how long to wait for the rerun the URL should have started"
    )

    @field_validator("database_url")
    @classmethod
    def _absolute_sqlite(cls, value: SecretStr) -> SecretStr:
        """A relative SQLite path is made absolute here, so that flow-run processes started elsewhere
        (served deployments run in the project folder) open the same file."""
        url = value.get_secret_value()
        prefix = "sqlite:///"
        if url.startswith(prefix) and url != f"{prefix}:memory:" and not Path(url[len(prefix) :]).is_absolute():
            return SecretStr(prefix + str(Path(url[len(prefix) :]).resolve()))
        return value

    @field_validator("catalog_file", "policy_file")
    @classmethod
    def _absolute_catalog(cls, value: Path | None) -> Path | None:
        return value.resolve() if value is not None else None

    @field_validator("library_fallbacks")
    @classmethod
    def _lower_names(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        return {k.lower(): v for k, v in value.items()}


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
