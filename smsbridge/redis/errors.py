"""Errors of the shared (Redis) backends.

A store that cannot be reached never means "go ahead": the caller gets one of these instead,
and nothing was sent because of it (``may_have_been_sent`` stays False).
"""

from __future__ import annotations

from ..errors import StoreUnavailableError

__all__ = ["LimiterUnavailableError", "StoreUnavailableError"]


class LimiterUnavailableError(StoreUnavailableError):
    """The shared rate limiter could not grant permission in time, so the request was not sent."""
