"""What every built-in provider shares: the pipeline, the lifecycle and a secret-free repr."""

from __future__ import annotations

import warnings
from types import TracebackType
from typing import Any, Self

from ..errors import ConfigurationError
from ..limits.local import RateLimiter
from ..limits.protocol import Limiter
from ..limits.shared import account_id, is_redis_url, redis_limiter
from ..protocol import Capabilities, RateLimit
from ..transport.http import HttpClient
from ..transport.urls import redact_userinfo


class BaseProvider:
    """Owns one :class:`HttpClient`. Use as ``async with`` or call ``aclose()``."""

    name: str = "base"
    capabilities: Capabilities = Capabilities()

    _http: HttpClient
    #: The account's non-secret id (a hash of account and credentials) a shared limiter is
    #: keyed on, so every process using the same credentials meets on one budget.
    limiter_id: str = ""
    _owned_limiters: tuple[Limiter, ...] = ()
    #: ``send`` takes ``context=`` (see :class:`~smsbridge.protocol.PipelinedProvider`).
    accepts_send_context = True

    @property
    def http(self) -> HttpClient:
        return self._http

    @property
    def rate_limiter(self) -> Limiter | None:
        return self._http.rate_limiter

    @rate_limiter.setter
    def rate_limiter(self, limiter: Limiter | None) -> None:
        self._http.rate_limiter = limiter

    def _default_rate_limiter(
        self, setting: Limiter | str | None, *, account: str = "", secret: str = ""
    ) -> Limiter | None:
        """``"auto"`` builds a limiter from the capabilities; a limiter or None is kept; a
        ``redis://`` URL builds the limiter every process with these credentials shares.

        The automatic limiter allows the server's whole window as a burst (TextUs: 1,000 per
        5 minutes), as the server does; the advertised ``X-RateLimit-Remaining`` then stops us
        before the window is spent, instead of pacing a ten-message chat reply at 3 per second.
        """
        self.limiter_id = account_id(self.name, account, secret)
        if setting == "auto":
            limit = self.capabilities.rate_limit
            if limit is None:
                return None
            return RateLimiter(limit.requests, limit.period, burst=limit.requests)
        if is_redis_url(setting):
            assert isinstance(setting, str)
            return self.shared_rate_limiter(setting)
        if setting is None or isinstance(setting, Limiter):
            return setting
        raise TypeError("rate_limiter must be a Limiter (e.g. a RateLimiter), a redis:// URL, "
                        "None or 'auto'")

    def shared_rate_limiter(self, url: str, limit: RateLimit | None = None,
                            **options: Any) -> Limiter:
        """A Redis limiter at ``url`` for this account, shared by every process using the same
        credentials (keyed on a hash of account and credentials, never the secret itself).

        ``limit`` defaults to the provider's documented one (TextUs: 1,000 per 5 minutes);
        ``options`` go to :class:`~smsbridge.redis.RedisLimiter` (``timeout``, ``burst``, ...).
        The provider closes it in :meth:`aclose`.
        """
        limit = limit or self.capabilities.rate_limit
        if limit is None:
            raise ConfigurationError(
                f"{self.name} documents no rate limit, so a shared limiter needs one: "
                f"provider.shared_rate_limiter(url, RateLimit(requests, period_seconds)) "
                "with what your account allows (the CLI: --rate with --redis)")
        limiter = redis_limiter(url, limiter_id=self.limiter_id, limit=limit, **options)
        self._owned_limiters += (limiter,)
        return limiter

    def use_shared_rate_limiter(self, url: str, limit: RateLimit | None = None,
                                **options: Any) -> Limiter:
        """Replace this provider's limiter with :meth:`shared_rate_limiter` and return it."""
        limiter = self.shared_rate_limiter(url, limit, **options)
        self._http.rate_limiter = limiter
        return limiter

    async def aclose(self) -> None:
        await self._http.aclose()
        owned, self._owned_limiters = self._owned_limiters, ()
        for limiter in owned:
            await limiter.aclose()  # type: ignore[attr-defined]

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __del__(self, _warn: Any = warnings.warn) -> None:
        http = getattr(self, "_http", None)
        if http is not None and http._owns_session and not http.closed:
            _warn(
                f"{type(self).__name__} was not closed; use 'async with' or 'await aclose()'",
                ResourceWarning,
                source=self,
                stacklevel=2,
            )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={redact_userinfo(self._http.base_url)!r})"
