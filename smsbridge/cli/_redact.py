"""The redactor every line the CLI prints on stderr goes through.

Secrets are registered before any command runs, from ``$SMSBRIDGE_URL`` and from every argument
that looks like a connection URL, then masked wherever they appear. A URL that cannot be parsed
(that is often exactly the one holding an odd secret) is still registered: everything between
``://`` and the last ``@`` (or the whole remainder when there is none) counts as secret, and so
does each piece of it between URL delimiters, so an error quoting only a fragment masks it too.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable

from ..errors import SmsBridgeError
from ..registry import ENV_VAR, ConnectionURL

_MIN_SECRET_LENGTH = 3
# The characters a URL parser may cut a secret at; a piece between them may be echoed alone.
_DELIMITERS = re.compile(r"[/?#@:\[\]%&=;\s]+")


class Redactor:
    """Masks registered secrets in text. Shared by every error path of one CLI run."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()

    def add(self, secret: str | None) -> None:
        if secret and len(secret) >= _MIN_SECRET_LENGTH:
            self._secrets.add(secret)

    def _add_with_pieces(self, secret: str | None) -> None:
        if not secret:
            return
        self.add(secret)
        for piece in _DELIMITERS.split(secret):
            self.add(piece)

    def add_url(self, url: str | None) -> None:
        """Register the user/password of a connection URL (parsed or raw, even malformed)."""
        if not url or "://" not in url:
            return
        after_scheme = url.strip().partition("://")[2]
        raw_userinfo, at, _host = after_scheme.rpartition("@")
        try:
            parsed = ConnectionURL.parse(url)
        except SmsBridgeError:
            # Unreadable: whatever might be the secret is masked, pieces included.
            self._add_with_pieces(raw_userinfo if at else after_scheme)
            return
        if parsed.username is None and parsed.password is None:
            return
        self._add_with_pieces(parsed.username)
        self._add_with_pieces(parsed.password)
        if parsed.username is not None and parsed.password is not None:
            self.add(f"{parsed.username}:{parsed.password}")

    def add_from_environment(self, argv: Iterable[str]) -> None:
        self.add_url(os.environ.get(ENV_VAR))
        for arg in argv:
            if "://" in arg:
                self.add_url(arg.partition("=")[2] if arg.startswith("--") else arg)

    def __call__(self, text: str) -> str:
        # longest first, so a secret containing a shorter one is masked whole
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, "***")
        return text

    def guard_logging(self) -> None:
        """Redact log lines too: ``SMSBRIDGE_LOG`` gives the package a stderr handler, and with
        no handler configured Python's last-resort handler writes other libraries' warnings
        (and their tracebacks) straight to stderr."""
        redacting = _RedactingFilter(self)
        handlers = (logging.lastResort, *logging.getLogger().handlers,
                    *logging.getLogger("smsbridge").handlers)
        for handler in handlers:
            if handler is not None and redacting not in handler.filters:
                handler.addFilter(redacting)


class _RedactingFilter(logging.Filter):
    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self._redact = redact

    def __eq__(self, other: object) -> bool:  # one per handler, however often installed
        return isinstance(other, _RedactingFilter) and other._redact is self._redact

    def __hash__(self) -> int:
        return id(self._redact)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = self._redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._redact(logging.Formatter().formatException(record.exc_info))
        return True


redactor = Redactor()
