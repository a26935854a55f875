"""Exit codes, one-line error messages, and the redaction every CLI error line goes through.

Every failure the command line reports is exactly one line on stderr, never a traceback, never a
token or key: secrets found in the connection URL (``--url`` / ``$SMSBRIDGE_URL``) and in any
argument that looks like a connection URL are registered up front and masked in every error line.
"""

from __future__ import annotations

import os
import sys

from ..errors import (
    ConfigurationError,
    DeliveryUnknownError,
    JobBusyError,
    JournalError,
    SmsBridgeError,
    ValidationError,
)
from ._redact import Redactor as Redactor  # re-exported: the redactor lived here
from ._redact import redactor as redactor

EXIT_OK = 0
EXIT_FAILED = 1  # a recipient failed or is unknown, or an API / transport error
EXIT_USAGE = 2  # bad arguments, bad input file, missing or malformed configuration or journal
# A bulk job stopped early (account-level error, or the same failure over and over): the rest
# of its recipients were not attempted; fix the cause, then resume (--retry-failed).
EXIT_STOPPED = 3
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT), after the summary was printed

PROG = "smsbridge"
DEBUG_ENV = "SMSBRIDGE_DEBUG"



def one_line(text: str) -> str:
    return " ".join(str(text).split())


def print_error(message: str, *, hint: str | None = None) -> None:
    """Write ``smsbridge: error: <message>`` as one redacted line on stderr."""
    line = f"{PROG}: error: {one_line(message)}"
    if hint:
        line += f" ({one_line(hint)})"
    sys.stderr.write(redactor(line) + "\n")
    sys.stderr.flush()


class Reworded(Exception):
    """An error told in a command's own words (its flags, not the library's parameters); it
    exits as the original would."""

    def __init__(self, original: BaseException, text: str) -> None:
        super().__init__(text)
        self.original = original
        self.text = text


def exit_code_for(error: BaseException) -> int:
    """Configuration, input and journal problems are usage errors (2); anything the provider
    did is 1, and so is a job another run is working on (try again when it ends). A journal
    missing its -wal file is bad input: nothing was sent, and the fix is the file."""
    if isinstance(error, Reworded):
        return exit_code_for(error.original)
    if isinstance(error, JobBusyError):
        return EXIT_FAILED
    if isinstance(error, ConfigurationError | ValidationError | JournalError):
        return EXIT_USAGE
    return EXIT_FAILED


def describe(error: BaseException) -> str:
    """The one line a user sees for an exception, with what to do where we know it."""
    if isinstance(error, Reworded):
        return error.text
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
