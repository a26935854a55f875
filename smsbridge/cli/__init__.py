"""The ``smsbridge`` command line (extra ``cli``: click + rich). The core never imports this.

Importing the package is cheap: click and rich load when a command runs.
"""

from __future__ import annotations

from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point (``smsbridge = smsbridge.cli:main``)."""
    from ._app import main as _main

    _main(argv)


def run_cli(args: Sequence[str]) -> int:
    """Run the command line on ``args``; return the exit code (never raises, never exits)."""
    from ._app import run_cli as _run_cli

    return _run_cli(args)


__all__ = ["main", "run_cli"]
