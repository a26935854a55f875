"""Rate limiting: the :class:`Limiter` protocol every limiter implements, and its permits.

``protocol`` (``Limiter``, ``Permit``), ``state`` (``RateLimitState``, the server's advertised
budget), ``local`` (the in-process ``RateLimiter``) and ``throttle`` (the dispatcher's use of
any limiter). A shared limiter (``smsbridge.redis.RedisLimiter``) implements the same protocol.
"""

from .protocol import Limiter, Permit
from .state import RateLimitState

__all__ = ["Limiter", "Permit", "RateLimitState"]
