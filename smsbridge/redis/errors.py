"""Errors of the shared (Redis) backends.

A store that cannot be reached never means "go ahead": the caller gets one of these instead,
and nothing was sent because of it (``may_have_been_sent`` stays False).
"""

from __future__ import annotations

from ..errors import ConfigurationError, StoreUnavailableError

__all__ = ["LimiterUnavailableError", "StoreDurabilityError", "StoreUnavailableError"]


class LimiterUnavailableError(StoreUnavailableError):
    """The shared rate limiter could not grant permission in time, so the request was not sent."""


class StoreDurabilityError(ConfigurationError):
    """Redis does not write every claim to disk before answering (``appendonly yes`` and
    ``appendfsync always``), so a Redis crash could lose claims and text people twice.

    ``setting`` names what to set; ``url`` is the store's address with any password masked.
    Pass ``relaxed_durability=True`` (CLI: ``--relaxed-durability``) to accept the risk.
    """

    def __init__(self, message: str, *, url: str, setting: str) -> None:
        super().__init__(message)
        self.url = url
        self.setting = setting
