"""``python -m smsbridge.cli`` runs the command line (used by the demo's killable job)."""

from __future__ import annotations

from ._app import main

if __name__ == "__main__":
    main()
