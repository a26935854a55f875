"""Provider registry and connection URLs: ``smsbridge.connect("textus://TOKEN@account")``.

Providers register by URL scheme; third-party adapters register through the
``smsbridge.providers`` entry-point group, so ``pip install smsbridge-foo`` is all it takes.
A provider factory receives a parsed :class:`ConnectionURL` and keyword overrides. A provider
that receives webhooks also registers its :class:`WebhookRoute` (its path and its parser), so
the webhook core and receiver serve it without knowing it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any
from urllib.parse import parse_qsl, unquote

import attrs

from .errors import ConfigurationError
from .protocol import MessagingProvider
from .transport.urls import redact_userinfo

ENV_VAR = "SMSBRIDGE_URL"
ENTRY_POINT_GROUP = "smsbridge.providers"

ProviderFactory = Callable[..., MessagingProvider]

_registry: dict[str, ProviderFactory] = {}
_webhook_routes: dict[str, WebhookRoute] = {}
_entry_points_loaded = False


@attrs.frozen(slots=True)
class WebhookRoute:
    """Where and how one provider's webhooks reach a receiver.

    ``path`` is relative to the receiver's mount point; a ``{token}`` segment is a secret path
    token (for a provider that signs nothing), checked by the receiver before parsing.
    ``parse(body, headers, secrets=...)`` verifies (where the provider signs) and parses one
    request into events, raising ``WebhookSignatureError`` or ``WebhookPayloadError``.
    """

    provider: str
    path: str
    parse: Callable[..., list[Any]] = attrs.field(repr=False)

    @property
    def tokenized(self) -> bool:
        return "{token}" in self.path

    def url(self, public_base_url: str, token: str | None = None) -> str:
        """The URL to give the provider: ``public_base_url`` (the receiver's mount point, e.g.
        ``https://hooks.example.com/sms``) plus this route's path."""
        if not public_base_url.startswith(("http://", "https://")):
            raise ConfigurationError(
                "public_base_url must start with https:// (or http:// for local testing), "
                f"got {public_base_url[:40]!r}"
            )
        path = self.path.format(token=token) if self.tokenized else self.path
        return public_base_url.rstrip("/") + path


def register_webhook_route(route: WebhookRoute) -> None:
    """Serve ``route.provider``'s webhooks at ``route.path`` with ``route.parse``."""
    _webhook_routes[route.provider] = route


def unregister_webhook_route(provider: str) -> None:
    """Stop serving ``provider``'s webhooks (receivers built from now on)."""
    _webhook_routes.pop(provider, None)


def webhook_route(provider: str) -> WebhookRoute:
    """The registered route of ``provider``; ConfigurationError when it has none."""
    route = _webhook_routes.get(provider)
    if route is None:
        _load_entry_points()
        route = _webhook_routes.get(provider)
    if route is None:
        raise ConfigurationError(
            f"no webhook parser for provider {provider!r}; use one of {sorted(_webhook_routes)}")
    return route


def webhook_routes() -> list[WebhookRoute]:
    """Every provider's webhook route (the installed providers' included)."""
    _load_entry_points()
    return [_webhook_routes[name] for name in sorted(_webhook_routes)]


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
        """Split ``scheme://SECRET@HOST?query``; the secret may hold any character.

        Not ``urllib.parse``: a token or key holding ``/``, ``?``, ``#``, ``[`` or ``@`` would be
        cut at that character and the rest shown as the host or path. Here the secret runs up to
        the last ``@`` that is followed by a host and then ``?``, ``#`` or the end.
        ``%XX`` in the secret is percent-decoding (``%40`` is ``@``, ``%3A`` a ``:`` inside the
        first key, ``%25`` a literal ``%``); an ``@`` inside a query value is written ``%40``.
        No error shows any part of the secret.
        """
        if not isinstance(url, str):
            raise ConfigurationError(
                f"a connection URL is a string, not {type(url).__name__}; " + _URL_SHAPE
            )
        scheme_match = _SCHEME.match(url.strip())
        if scheme_match is None:
            raise ConfigurationError("a connection URL looks like " + _URL_SHAPE)
        scheme = scheme_match.group(1).lower()
        rest = url.strip()[scheme_match.end():]
        userinfo, host, tail = _split_authority(rest, scheme)
        username, password = None, None
        if userinfo:
            user, sep, pwd = userinfo.partition(":")
            username = _decode_secret(user, scheme) or None
            password = _decode_secret(pwd, scheme) if sep else None
        query = tail[1:].partition("#")[0] if tail.startswith("?") else ""
        return cls(
            scheme=scheme,
            host=unquote(host),
            username=username,
            password=password,
            params=dict(parse_qsl(query)),
        )

    def redacted(self) -> str:
        secret = "***:***@" if self.password is not None else ("***@" if self.username else "")
        query = "&".join(f"{k}={redact_userinfo(v)}" for k, v in self.params.items())
        return f"{self.scheme}://{secret}{self.host}" + (f"?{query}" if query else "")

    def __str__(self) -> str:
        return self.redacted()


_URL_SHAPE = "textus://TOKEN@ACCOUNT or trackdrive://PUBLIC_KEY:PRIVATE_KEY@SUBDOMAIN"
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")
# What may follow the secret's '@': an account slug / subdomain (an optional port for plug-ins),
# then the query, a fragment or the end. Nothing of a secret is ever matched against it alone.
_HOST_THEN_END = re.compile(r"([A-Za-z0-9._~%-]*(?::[0-9]+)?)(?=[?#]|\Z)")
_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")


def _split_authority(rest: str, scheme: str) -> tuple[str, str, str]:
    """``(userinfo, host, tail)`` of what follows ``scheme://``; tail starts at ``?``/``#``."""
    at = len(rest)
    while (at := rest.rfind("@", 0, at)) != -1:
        host = _HOST_THEN_END.match(rest, at + 1)
        if host is not None:
            return rest[:at], host.group(1), rest[host.end():]
    host = _HOST_THEN_END.match(rest)
    if host is not None and "@" not in rest[: host.end()]:
        return "", host.group(1), rest[host.end():]
    raise ConfigurationError(
        f"the {scheme}:// connection URL could not be read (its secret part is not shown): "
        "after the last '@' must come the account or subdomain (letters, digits, '-', '_', '.'),"
        " then '?', '#' or the end; write it as " + _URL_SHAPE
    )


def _decode_secret(text: str, scheme: str) -> str:
    if _PERCENT.search(text):
        raise ConfigurationError(
            f"the secret part of the {scheme}:// connection URL has a '%' that is not followed "
            "by two hex digits (it is not shown); write a literal '%' as %25"
        )
    try:
        return unquote(text, errors="strict")
    except UnicodeDecodeError:
        raise ConfigurationError(
            f"the secret part of the {scheme}:// connection URL has percent-escapes that are not "
            "UTF-8 (it is not shown); percent-encode the UTF-8 bytes of each character"
        ) from None

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
