"""One Redis connection as the backends use it: bounded calls, Lua scripts, typed failures.

Every call is bounded by ``timeout`` seconds in total (connecting, retrying a dropped
connection and waiting for the reply), because a Redis that hangs (paused, overloaded, a
network partition) must turn into a typed error, never into a send without permission.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import redis.asyncio as aioredis
from redis import exceptions as redis_errors

from ..errors import ConfigurationError
from .errors import StoreUnavailableError

__all__ = ["DEFAULT_TIMEOUT", "RedisConnection", "Script", "mask_url"]

T = TypeVar("T")

DEFAULT_TIMEOUT = 2.0  # seconds a call may take, reconnects included, before it fails
_RECONNECT_PAUSE = 0.05  # between attempts while the connection is refused

# What "Redis is not answering" looks like from redis-py and the socket underneath.
_UNAVAILABLE = (redis_errors.ConnectionError, redis_errors.TimeoutError, OSError)


def mask_url(url: str) -> str:
    """``url`` with its password replaced by ``***`` (a lone user part may be a secret too)."""
    parts = urlsplit(url)
    if parts.password is None and parts.username is None:
        return url
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    user = f"{parts.username or ''}:***" if parts.password is not None else "***"
    return urlunsplit((parts.scheme, f"{user}@{host}", parts.path, parts.query, parts.fragment))


class Script:
    """A Lua script shipped in this package, run by SHA with a fall-back to its source."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.source = resources.files(__package__).joinpath(name).read_text(encoding="utf-8")
        self.sha = hashlib.sha1(self.source.encode("utf-8")).hexdigest()


class RedisConnection:
    """A redis-py asyncio client plus the URL (masked) and the time bound of every call."""

    def __init__(
        self,
        url: str | None = None,
        *,
        client: aioredis.Redis | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        if not (isinstance(timeout, int | float) and math.isfinite(timeout) and timeout > 0):
            raise ConfigurationError(
                f"the Redis timeout must be a positive number of seconds (got {timeout!r})")
        if client is None:
            if not url:
                raise ConfigurationError(
                    "a Redis backend needs a URL (e.g. redis://localhost:6379/0) or a client")
            try:
                client = aioredis.Redis.from_url(
                    url, socket_timeout=timeout, socket_connect_timeout=timeout)
            except ValueError as exc:
                # redis-py's message echoes the URL; name only the masked one.
                raise ConfigurationError(
                    f"not a Redis URL: {mask_url(url)} (use redis://[:password@]host:port/db, "
                    "rediss://... for TLS or unix:///path/to/socket)") from exc
            self._owns_client = True
        else:
            self._owns_client = False
        self.client = client
        self.url = mask_url(url) if url else _describe(client)
        self._secret = _password(url) if url else None
        self.timeout = float(timeout)

    async def call(self, what: str, make: Callable[[], Awaitable[T]],
                   error: type[StoreUnavailableError] = StoreUnavailableError) -> T:
        """``await make()`` within the time bound, retrying refused connections; else ``error``."""
        last: BaseException | None = None
        try:
            async with asyncio.timeout(self.timeout):
                while True:
                    try:
                        return await make()
                    except _UNAVAILABLE as exc:
                        last = exc
                        _raise_if_cancelling()
                    await asyncio.sleep(_RECONNECT_PAUSE)
        except TimeoutError as exc:
            last = last or exc
        reason = self._describe_error(last)
        raise error(
            f"Redis at {self.url} did not answer {what} within {self.timeout:g}s ({reason}); "
            "nothing was sent because of it. Check that Redis is running and reachable, or "
            "raise the timeout.", url=self.url) from None

    async def run(self, script: Script, keys: list[str], args: list[Any], what: str,
                  error: type[StoreUnavailableError] = StoreUnavailableError) -> Any:
        """Run ``script`` in one round trip (EVALSHA; EVAL when Redis does not know it yet)."""

        async def attempt() -> Any:
            try:
                return await self.client.evalsha(script.sha, len(keys), *keys, *args)
            except redis_errors.NoScriptError:
                # EVAL also caches the script, so the next EVALSHA hits (e.g. after a restart).
                return await self.client.eval(script.source, len(keys), *keys, *args)

        return await self.call(what, attempt, error)

    async def aclose(self) -> None:
        """Close the client if this connection created it (a client passed in stays open)."""
        if self._owns_client:
            await self.client.aclose()

    def _describe_error(self, exc: BaseException | None) -> str:
        if exc is None or isinstance(exc, TimeoutError | redis_errors.TimeoutError):
            return "timed out"
        text = f"{type(exc).__name__}: {exc}"
        if self._secret:
            text = text.replace(self._secret, "***")
        return text


def _raise_if_cancelling() -> None:
    """A call cancelled mid-reply can surface from the client as a connection error; retrying
    it would swallow the cancellation (a stopping job would wait on it forever)."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


def _password(url: str) -> str | None:
    parts = urlsplit(url)
    return parts.password or parts.username


def _describe(client: aioredis.Redis) -> str:
    kwargs = client.connection_pool.connection_kwargs
    if "path" in kwargs:
        return f"unix://{kwargs['path']}"
    host, port = kwargs.get("host", "localhost"), kwargs.get("port", 6379)
    return f"redis://{host}:{port}/{kwargs.get('db', 0)}"
