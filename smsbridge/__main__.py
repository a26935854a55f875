"""``python -m smsbridge`` runs the command line, like the installed ``smsbridge`` command."""

from __future__ import annotations

from .cli import main

if __name__ == "__main__":
    main()
