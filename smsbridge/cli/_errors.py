"""Exit codes, one-line error messages, and the redaction every CLI error line goes through.

Every failure the command line reports is exactly one line on stderr, never a traceback, never a
token or key: secrets found in the connection URL (``--url`` / ``$SMSBRIDGE_URL``) and in any
argument that looks like a connection URL are registered up front and masked in every error line.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable

from ..errors import (
    ConfigurationError,
    DeliveryUnknownError,
    JournalWalMissingError,
    SmsBridgeError,
    ValidationError,
)
from ..registry import ENV_VAR, ConnectionURL

EXIT_OK = 0
EXIT_FAILED = 1  # a recipient failed or is unknown, or an API / transport error
EXIT_USAGE = 2  # bad arguments, bad input file, missing or malformed configuration
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT), after the summary was printed

PROG = "smsbridge"
DEBUG_ENV = "SMSBRIDGE_DEBUG"

# scheme://userinfo@host: the userinfo part holds the secrets of a connection URL.
_URL_USERINFO = re.compile(r"[a-z][a-z0-9+.-]*://([^@\s/]+)@", re.IGNORECASE)
_MIN_SECRET_LENGTH = 3


class Redactor:
    """Masks registered secrets in text. Shared by every error path of one CLI run."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()

    def add(self, secret: str | None) -> None:
        if secret and len(secret) >= _MIN_SECRET_LENGTH:
            self._secrets.add(secret)

    def add_url(self, url: str | None) -> None:
        """Register the user/password of a connection URL (parsed or raw, even malformed)."""
        if not url:
            return
        for match in _URL_USERINFO.finditer(url):
            userinfo = match.group(1)
            self.add(userinfo)
            for part in userinfo.split(":"):
                self.add(part)
        try:
            parsed = ConnectionURL.parse(url)
        except SmsBridgeError:
            return
        self.add(parsed.username)
        self.add(parsed.password)

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


redactor = Redactor()


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def print_error(message: str, *, hint: str | None = None) -> None:
    """Write ``smsbridge: error: <message>`` as one redacted line on stderr."""
    line = f"{PROG}: error: {one_line(message)}"
    if hint:
        line += f" ({one_line(hint)})"
    sys.stderr.write(redactor(line) + "\n")
    sys.stderr.flush()


def exit_code_for(error: BaseException) -> int:
    """Configuration and input problems are usage errors (2); anything the provider did is 1.
    A journal missing its -wal file is bad input: nothing was sent, and the fix is the file."""
    if isinstance(error, ConfigurationError | ValidationError | JournalWalMissingError):
        return EXIT_USAGE
    return EXIT_FAILED


def describe(error: BaseException) -> str:
    """The one line a user sees for an exception, with what to do where we know it."""
    if isinstance(error, DeliveryUnknownError):
        return str(error)
    if isinstance(error, SmsBridgeError):
        return str(error) or type(error).__name__
    if isinstance(error, OSError) and error.strerror:
        target = f": {error.filename}" if error.filename else ""
        return f"{error.strerror}{target}"
    detail = str(error)
    return f"unexpected {type(error).__name__}" + (f": {detail}" if detail else "") + (
        f" (set {DEBUG_ENV}=1 to see the traceback)"
    )


def debug_enabled() -> bool:
    return os.environ.get(DEBUG_ENV, "").strip().lower() in {"1", "true", "yes"}
