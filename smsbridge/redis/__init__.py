"""Shared state for many processes, in Redis (``pip install 'smsbridge[redis]'``).

- :class:`RedisLimiter`: one rate limit for every process using an account (GCRA in Lua).
- :class:`RedisSuppressionList`: opt-outs every receiver records and every dispatcher honours.
- :class:`RedisEventLedger`: webhook event de-dup across receivers.
- :class:`RedisJobStore`: one bulk job worked by many processes (a job store).

An unreachable or slow Redis raises :class:`StoreUnavailableError` (for the limiter,
:class:`LimiterUnavailableError`) after a bounded wait; nothing falls back to local state.
"""

from __future__ import annotations

try:
    import redis as _redis  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    from ..errors import ConfigurationError

    raise ConfigurationError(
        "smsbridge's Redis backends need redis-py: pip install 'smsbridge[redis]'") from exc

from ._connection import mask_url
from .errors import LimiterUnavailableError, StoreDurabilityError, StoreUnavailableError
from .jobstore import EnqueueResult, RedisJobReport, RedisJobStore
from .keys import account_id
from .ledger import RedisEventLedger
from .limiter import RedisLimiter
from .suppression import RedisSuppressionList

__all__ = [
    "EnqueueResult",
    "LimiterUnavailableError",
    "RedisEventLedger",
    "RedisJobReport",
    "RedisJobStore",
    "RedisLimiter",
    "RedisSuppressionList",
    "StoreDurabilityError",
    "StoreUnavailableError",
    "account_id",
    "mask_url",
]
