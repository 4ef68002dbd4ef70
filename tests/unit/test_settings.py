from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from autoheal.settings import Settings


def test_relative_sqlite_paths_become_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = Settings(
        _env_file=None, database_url=SecretStr("sqlite:///.autoheal/x.db"), catalog_file=Path("my-catalog.toml")
    )
    assert settings.database_url.get_secret_value() == f"sqlite:///{tmp_path}/.autoheal/x.db"
    assert settings.catalog_file == tmp_path / "my-catalog.toml"
    pg = Settings(_env_file=None, database_url=SecretStr("postgresql://u:pw@db/autoheal"))
    assert pg.database_url.get_secret_value() == "postgresql://u:pw@db/autoheal"
    assert "pw" not in repr(pg)


def test_defaults_are_safe() -> None:
    settings = Settings(_env_file=None)
    assert settings.mode == "off" and settings.webhook_token is None
