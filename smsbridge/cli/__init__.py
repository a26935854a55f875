"""The ``smsbridge`` command line (extra ``cli``: click + rich). The core never imports this.

Importing the package is cheap: click and rich load when a command runs.
"""

from __future__ import annotations

from collections.abc import Sequence

# The packages the ``cli`` extra installs; without them the command says how to get them.
_CLI_EXTRA = frozenset({"click", "rich"})


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point (``smsbridge = smsbridge.cli:main``)."""
    try:
        from ._app import main as _main
    except ImportError as exc:
        if exc.name not in _CLI_EXTRA:
            raise
        raise SystemExit(
            f"smsbridge's command line needs the 'cli' extra ({exc.name} is not installed):\n"
            "    pip install 'smsbridge[cli]'"
        ) from None

    _main(argv)


def run_cli(args: Sequence[str]) -> int:
    """Run the command line on ``args``; return the exit code (never raises, never exits)."""
    from ._app import run_cli as _run_cli

    return _run_cli(args)


__all__ = ["main", "run_cli"]
