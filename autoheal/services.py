"""Shared, lazily built objects: the store, the catalog, the classifier and the policy for the current settings."""

from __future__ import annotations

from functools import lru_cache

from autoheal.domain.catalog import Catalog, load_catalog
from autoheal.domain.classifier import RuleClassifier
from autoheal.domain.policy import Policy, load_policy
from autoheal.settings import get_settings
from autoheal.store.store import Store


@lru_cache(maxsize=4)
def _store(url: str) -> Store:
    return Store(url)


def get_store() -> Store:
    return _store(get_settings().database_url.get_secret_value())


@lru_cache(maxsize=4)
def _catalog(path: str | None) -> Catalog:
    return load_catalog(path)


def get_catalog() -> Catalog:
    path = get_settings().catalog_file
    return _catalog(str(path) if path else None)


@lru_cache(maxsize=4)
def _classifier(path: str | None) -> RuleClassifier:
    return RuleClassifier(_catalog(path))


def get_classifier() -> RuleClassifier:
    path = get_settings().catalog_file
    return _classifier(str(path) if path else None)


@lru_cache(maxsize=4)
def _policy(path: str | None) -> Policy:
    return load_policy(path)


def get_policy() -> Policy:
    path = get_settings().policy_file
    return _policy(str(path) if path else None)


def reset() -> None:
    """Forget everything built from settings (tests and the demo change settings)."""
    get_settings.cache_clear()
    _store.cache_clear()
    _catalog.cache_clear()
    _classifier.cache_clear()
    _policy.cache_clear()
