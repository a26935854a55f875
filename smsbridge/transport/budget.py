"""One retry budget per recipient, shared by the dispatcher and the provider's HTTP client.

A bulk send used to retry at two levels that did not know of each other: the HTTP client retried
a refused connection or a 429 up to ``1 + max_retries`` times, and the dispatcher retried the
whole send as often, so one recipient could cost nine requests. The dispatcher now opens an
:class:`AttemptBudget` for each recipient (or batch) and hands it to the provider explicitly
(``SendContext.budget``); the HTTP client spends one unit per request it makes and stops
retrying when none is left. The first request of a send always goes out (a failover's next
provider included): the budget limits retries, never a first attempt.
"""

from __future__ import annotations


class AttemptBudget:
    """``limit`` requests for one recipient (or batch) across every level that retries."""

    __slots__ = ("limit", "used")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def spend(self) -> None:
        self.used += 1

    @property
    def exhausted(self) -> bool:
        return self.used >= self.limit

    def settle(self, before: int) -> None:
        """Count a send that made no request through a client that spends (a custom provider)."""
        if self.used == before:
            self.used += 1

    def __repr__(self) -> str:
        return f"AttemptBudget(used={self.used}, limit={self.limit})"
