"""Provider registry and connection URLs: ``smsbridge.connect("textus://TOKEN@account")``.

Providers register by URL scheme; third-party adapters register through the
``smsbridge.providers`` entry-point group, so ``pip install smsbridge-foo`` is all it takes.
A provider factory receives a parsed :class:`ConnectionURL` and keyword overrides.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import attrs

from .errors import ConfigurationError
from .protocol import MessagingProvider

ENV_VAR = "SMSBRIDGE_URL"
ENTRY_POINT_GROUP = "smsbridge.providers"

ProviderFactory = Callable[..., MessagingProvider]

_registry: dict[str, ProviderFactory] = {}
_entry_points_loaded = False


@attrs.frozen(slots=True)
class ConnectionURL:
    """A parsed connection URL. ``username``/``password`` hold secrets: never shown."""

    scheme: str
    host: str
    username: str | None = attrs.field(default=None, repr=False)
    password: str | None = attrs.field(default=None, repr=False)
    params: dict[str, str] = attrs.field(factory=dict)

    @classmethod
    def parse(cls, url: str) -> ConnectionURL:
        if "://" not in url:
            raise ConfigurationError(
                "a connection URL looks like textus://TOKEN@ACCOUNT or "
                "trackdrive://PUBLIC_KEY:PRIVATE_KEY@SUBDOMAIN"
            )
        parts = urlsplit(url)
        # urlsplit lower-cases nothing we need; netloc parsing done by hand to keep ':' in tokens
        netloc = parts.netloc
        userinfo, _, host = netloc.rpartition("@")
        username, password = None, None
        if userinfo:
            user, sep, pwd = userinfo.partition(":")
            username = unquote(user) or None
            password = unquote(pwd) if sep else None
        return cls(
            scheme=parts.scheme.lower(),
            host=unquote(host),
            username=username,
            password=password,
            params=dict(parse_qsl(parts.query)),
        )

    def redacted(self) -> str:
        secret = "***:***@" if self.password is not None else ("***@" if self.username else "")
        query = "&".join(f"{k}={v}" for k, v in self.params.items())
        return f"{self.scheme}://{secret}{self.host}" + (f"?{query}" if query else "")

    def __str__(self) -> str:
        return self.redacted()


def register_provider(scheme: str, factory: ProviderFactory) -> None:
    """Register ``factory(url: ConnectionURL, **overrides)`` for ``scheme://`` URLs."""
    _registry[scheme.lower()] = factory


def registered_schemes() -> list[str]:
    _load_entry_points()
    return sorted(_registry)


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in _registry:
            continue
        try:
            target = ep.load()
        except Exception as exc:  # a broken third-party plugin must not break connect()
            from ._logging import logger

            logger.warning("could not load smsbridge provider %r: %s", ep.name, exc)
            continue
        factory = getattr(target, "from_url", target)
        _registry[ep.name] = factory


def connect(url: str | None = None, **overrides: Any) -> MessagingProvider:
    """Build a provider from a connection URL (or ``$SMSBRIDGE_URL``)."""
    url = url or os.environ.get(ENV_VAR)
    if not url:
        raise ConfigurationError(
            f"no connection URL: pass one to connect() or set {ENV_VAR} "
            "(e.g. textus://TOKEN@ACCOUNT)"
        )
    parsed = ConnectionURL.parse(url)
    _load_entry_points()
    factory = _registry.get(parsed.scheme)
    if factory is None:
        raise ConfigurationError(
            f"unknown provider scheme {parsed.scheme!r}; known: {', '.join(sorted(_registry))}"
        )
    return factory(parsed, **overrides)
