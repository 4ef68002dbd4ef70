"""Emulated Databricks workspace REST API."""
