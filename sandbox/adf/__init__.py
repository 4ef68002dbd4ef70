"""Emulated Azure Data Factory management API (api-version 2018-06-01)."""
