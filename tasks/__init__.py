"""Thin Prefect tasks over autoheal/ and playbooks/: names, retries, tags, artifacts."""
