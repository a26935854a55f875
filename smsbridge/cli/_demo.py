"""``smsbridge demo`` (placeholder until the scenario lands)."""
from __future__ import annotations

import click


@click.command()
def demo() -> int:
    """Run the guided tour against a local sandbox."""
    return 0
