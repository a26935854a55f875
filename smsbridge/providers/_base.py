"""What every built-in provider shares: the pipeline, the lifecycle and a secret-free repr."""

from __future__ import annotations

import warnings
from types import TracebackType
from typing import Any, Self

from ..limits.local import RateLimiter
from ..limits.protocol import Limiter
from ..protocol import Capabilities
from ..transport.http import HttpClient
from ..transport.urls import redact_userinfo


class BaseProvider:
    """Owns one :class:`HttpClient`. Use as ``async with`` or call ``aclose()``."""

    name: str = "base"
    capabilities: Capabilities = Capabilities()

    _http: HttpClient
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

    def _default_rate_limiter(self, setting: Limiter | str | None) -> Limiter | None:
        """``"auto"`` builds a limiter from the capabilities; a limiter or None is kept.

        The automatic limiter allows the server's whole window as a burst (TextUs: 1,000 per
        5 minutes), as the server does; the advertised ``X-RateLimit-Remaining`` then stops us
        before the window is spent, instead of pacing a ten-message chat reply at 3 per second.
        """
        if setting == "auto":
            limit = self.capabilities.rate_limit
            if limit is None:
                return None
            return RateLimiter(limit.requests, limit.period, burst=limit.requests)
        if setting is None or isinstance(setting, Limiter):
            return setting
        raise TypeError("rate_limiter must be a Limiter (e.g. a RateLimiter), None or 'auto'")

    async def aclose(self) -> None:
        await self._http.aclose()

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
