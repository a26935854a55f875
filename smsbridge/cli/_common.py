"""Helpers every command shares: the ``--url`` option, opening a provider, running a coroutine."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import sys
from collections.abc import Callable, Coroutine, Iterable
from pathlib import Path
from typing import Any, TypeVar

import click

from ..errors import ConfigurationError
from ..limits.shared import REDIS_URL_ENV, is_redis_url
from ..phone import check_region
from ..protocol import MessagingProvider, RateLimit
from ..registry import ENV_VAR, connect
from ._errors import redactor

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

NO_URL_MESSAGE = (
    f"no provider configured: pass --url (or set {ENV_VAR}) with a connection URL like "
    "textus://TOKEN@ACCOUNT or trackdrive://PUBLIC_KEY:PRIVATE_KEY@SUBDOMAIN "
    "(run 'smsbridge sandbox' for a local one)"
)


def url_option(func: F) -> F:
    """``--url`` with ``$SMSBRIDGE_URL`` as the fallback. Prefer the variable: argv is public."""
    return click.option(
        "--url",
        envvar=ENV_VAR,
        show_envvar=True,
        metavar="URL",
        help="Provider connection URL (textus://TOKEN@ACCOUNT, "
        "trackdrive://PUBLIC:PRIVATE@SUBDOMAIN; ?base_url=... for a sandbox). Prefer the "
        "environment variable: command lines are visible to other local users.",
    )(func)


def redis_option(func: F) -> F:
    """``--redis`` with ``$SMSBRIDGE_REDIS_URL``: rate limit and opt-outs shared by processes."""
    return click.option(
        "--redis",
        envvar=REDIS_URL_ENV,
        show_envvar=True,
        metavar="URL",
        callback=_redis_callback,
        help="Share the account's rate limit and the opt-out list with every other process "
        "through Redis (redis://[:password@]host:6379/0). Without Redis reachable nothing is "
        "sent: those recipients fail as not sent.",
    )(func)


def _redis_callback(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    redactor.add_url(value)
    if not is_redis_url(value):
        raise click.BadParameter(
            "expected redis://[:password@]host:port/db, rediss://... or unix:///path",
            param_hint="--redis")
    return value.strip()


def share_rate_limit(provider: MessagingProvider, redis: str, rate: float | None) -> str:
    """Replace the provider's limiter with the Redis one for its account; what it now does."""
    use = getattr(provider, "use_shared_rate_limiter", None)
    if use is None:
        raise ConfigurationError(
            f"{provider.name} cannot share its rate limit through Redis (no built-in limiter)")
    # RateLimit counts whole requests: a fractional --rate is expressed per 1,000 seconds.
    limit = None if not rate else (RateLimit(int(rate), 1.0) if float(rate).is_integer()
                                   else RateLimit(round(rate * 1000), 1000.0))
    limiter = use(redis, limit)
    return (f"{provider.name}: rate limit shared through Redis at {limiter.url} "
            f"({limiter.rate:,.2f} requests/s for every process using this account)")


def open_provider(url: str | None, **overrides: Any) -> MessagingProvider:
    """The provider for ``url``; a missing URL is a configuration error (exit 2)."""
    if not url or not url.strip():
        raise ConfigurationError(NO_URL_MESSAGE)
    redactor.add_url(url)
    return connect(url.strip(), **overrides)


def quiet_server_logs() -> None:
    """A client that disconnects mid-request (a killed job) makes aiohttp's server log a
    traceback; expected for a local sandbox, so not shown unless logging is configured."""
    logging.getLogger("aiohttp.server").addHandler(logging.NullHandler())


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion; Ctrl-C surfaces as KeyboardInterrupt (exit 130 in main)."""
    return asyncio.run(coro)


def parse_key_values(pairs: Iterable[str], option: str) -> dict[str, Any]:
    """``key=value`` pairs; a value that is JSON (number, true/false, list) is decoded."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"expected key=value, got {pair!r}", param_hint=option)
        try:
            out[key.strip()] = json.loads(value)
        except ValueError:
            out[key.strip()] = value
    return out



def region_callback(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    """``--region``: refuse a code phonenumbers doesn't know before anything runs."""
    if value is None:
        return None
    try:
        return check_region(value)
    except ConfigurationError as exc:
        raise click.BadParameter(str(exc)) from None


def command_hint() -> str:
    """How to run this command again from the user's shell: ``smsbridge`` when that is on PATH
    and is this installation, else the path of this installation's script (``.venv/bin/...``)."""
    script = Path(sys.executable).parent / "smsbridge"
    on_path = shutil.which("smsbridge")
    if on_path is not None and Path(on_path).resolve() == script.resolve():
        return "smsbridge"
    if not script.exists():
        return f"{sys.executable} -m smsbridge"
    try:
        relative = os.path.relpath(script)
    except ValueError:  # another drive (Windows)
        return str(script)
    return relative if not relative.startswith("..") else str(script)
