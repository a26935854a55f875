"""Shared (multi-process) state chosen by URL: ``redis://...`` builds the Redis backends.

Kept free of redis-py imports so that the providers, the dispatcher and the webhook receiver can
recognise a Redis URL and derive a limiter's id without the ``redis`` extra installed; the
backends are imported only when such a URL is actually used (a missing extra is then a clear
``ConfigurationError``).
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from ..errors import ConfigurationError

if TYPE_CHECKING:
    from ..protocol import RateLimit
    from ..redis.ledger import RedisEventLedger
    from ..redis.limiter import RedisLimiter
    from ..redis.suppression import RedisSuppressionList

__all__ = [
    "REDIS_URL_ENV",
    "account_id",
    "is_redis_url",
    "redis_event_ledger",
    "redis_limiter",
    "redis_suppression_list",
]

#: The CLI's fallback for ``--redis``.
REDIS_URL_ENV = "SMSBRIDGE_REDIS_URL"
_SCHEMES = ("redis://", "rediss://", "unix://")
_DOMAIN = b"smsbridge/limiter/v1\x00"  # so these digests match no other use of the same token


def is_redis_url(value: object) -> bool:
    return isinstance(value, str) and value.strip().lower().startswith(_SCHEMES)


def account_id(provider: str, account: str, token: str) -> str:
    """A stable, non-reversible id of one provider account and token (hex, 32 characters).

    Two processes with the same account and token meet on the same keys; a new token (a new
    budget at the provider) gets new ones.
    """
    material = _DOMAIN + "\x00".join((provider, account, token)).encode("utf-8")
    return hashlib.sha256(material).hexdigest()[:32]


def redis_limiter(url: str, *, limiter_id: str, limit: RateLimit,
                  **options: Any) -> RedisLimiter:
    """The Redis limiter for ``limit`` that every process with this ``limiter_id`` shares."""
    from ..redis.limiter import RedisLimiter

    return RedisLimiter(url.strip(), limiter_id=limiter_id, max_rate=limit.requests,
                        period=limit.period, **options)


def redis_suppression_list(url: str) -> RedisSuppressionList:
    from ..redis.suppression import RedisSuppressionList

    return RedisSuppressionList(_checked(url, "suppression"))


def redis_event_ledger(url: str) -> RedisEventLedger:
    from ..redis.ledger import RedisEventLedger

    return RedisEventLedger(_checked(url, "ledger"))


def _checked(url: str, what: str) -> str:
    if not is_redis_url(url):
        raise ConfigurationError(
            f"{what} given as a string must be a Redis URL (redis://host:6379/0, rediss://... "
            "or unix:///path); pass an object for anything else")
    return url.strip()
