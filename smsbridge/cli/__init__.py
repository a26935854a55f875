"""The ``smsbridge`` command line (extra ``cli``: click + rich). The core never imports this."""

from __future__ import annotations

from ._app import cli, main, run_cli

__all__ = ["cli", "main", "run_cli"]
