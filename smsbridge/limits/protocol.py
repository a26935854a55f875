"""The limiter seam: what the request pipeline and the dispatcher need from a rate limiter.

A limiter grants permission to send one request (:meth:`Limiter.acquire`), holds every caller
when the server says so (:meth:`Limiter.pause`, a 429's Retry-After) and follows the server's
advertised budget (:meth:`Limiter.observe`, ``X-RateLimit-Remaining`` / ``X-RateLimit-Reset``).
The in-process limiter keeps that state in memory; a shared one (Redis) keeps it where every
process sees it. The engine calls only this protocol.

A :class:`Permit` is one granted acquisition. Whoever acquires it hands it on explicitly (the
dispatcher acquires before it marks a recipient in flight and passes the permit down to the
request), so the request pipeline does not wait a second time; nothing travels through
module-level or context-local state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

import attrs

if TYPE_CHECKING:
    from .state import RateLimitState


@attrs.frozen(slots=True)
class Permit:
    """One acquisition granted by ``limiter``; valid for one request through that limiter."""

    limiter: Limiter


@runtime_checkable
class Limiter(Protocol):
    """A rate limiter shared by every request of one provider account (and every worker)."""

    async def acquire(self) -> Permit:
        """Wait until one request may go, and return the permit for it.

        Raises a :class:`~smsbridge.errors.SmsBridgeError` (never sends) when permission cannot
        be obtained in bounded time, e.g. a shared limiter whose store is unreachable.
        """
        ...

    async def pause(self, seconds: float) -> None:
        """Hold every caller for ``seconds`` (already validated: finite, >= 0, capped)."""
        ...

    async def observe(self, state: RateLimitState) -> None:
        """Follow the server's advertised budget; when it is spent, wait for its reset."""
        ...
