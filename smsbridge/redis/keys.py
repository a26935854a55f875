"""Key names: derived from a hash of the account and token, never from the secret itself.

Every key of one limiter shares one hash tag (``{...}``), so Redis Cluster places them in the
same slot and one Lua script may touch all of them.
"""

from __future__ import annotations

import hashlib

from ..limits.shared import account_id

__all__ = ["LimiterKeys", "account_id", "event_key", "suppression_key"]

PREFIX = "smsbridge"


class LimiterKeys:
    """The keys of one shared rate limit (all in one Cluster slot)."""

    def __init__(self, ident: str, *, prefix: str = PREFIX) -> None:
        if not ident or "{" in ident or "}" in ident:
            raise ValueError("a limiter id must be non-empty and free of braces")
        base = f"{prefix}:limiter:{{{ident}}}"
        self.tat = f"{base}:tat"  # GCRA theoretical arrival time, microseconds (Redis clock)
        self.pause = f"{base}:pause"  # until when every process holds (a 429's Retry-After)
        self.budget = f"{base}:budget"  # the server's advertised remaining budget and reset
        self.channel = f"{base}:events"  # pause notifications
        self.all = [self.tat, self.pause, self.budget]


def suppression_key(namespace: str, phone: str) -> str:
    """One key per number: each suppression script touches exactly one key (any slot)."""
    return f"{PREFIX}:{namespace}:suppression:{phone}"


def event_key(namespace: str, event_id: str) -> str:
    # Hashed: event ids come from the provider and may be long or contain anything.
    digest = hashlib.sha256(event_id.encode("utf-8")).hexdigest()
    return f"{PREFIX}:{namespace}:event:{digest}"
