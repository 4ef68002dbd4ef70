"""Remediation playbooks: plain functions over the real SDK clients. Each acts, then verifies."""
