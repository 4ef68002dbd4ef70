"""The terminal the commands write to, and how they fail: a red line on stderr and exit code 2."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.text import Text

console = Console()
err = Console(stderr=True)


def fail(message: str) -> typer.Exit:
    # Not wrapped (a path cut at the terminal's width is a path that cannot be copied) and not read as
    # markup (a message naming a TOML table, `[approval]`, would lose it).
    err.print(Text.assemble(("error:", "red"), " ", message), soft_wrap=True)
    return typer.Exit(code=2)
