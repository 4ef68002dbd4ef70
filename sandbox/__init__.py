"""A local emulator of the Databricks REST API and the ADF management API.

It fakes the clouds' HTTP APIs (paths, bodies, error shapes, state machines)
so that the unmodified SDK clients can be pointed at it. It imports nothing
from ``autoheal``.
"""

from __future__ import annotations

from sandbox.server import Sandbox
from sandbox.state import SandboxState

__all__ = ["Sandbox", "SandboxState"]
