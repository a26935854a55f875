"""One check for every credential a provider is built with, before any request can carry it.

A token with a control character (NUL, VT, DEL, a newline) or whitespace is rejected by the HTTP
layer only while a request is being written, where it surfaces as a transport error and every
recipient as UNKNOWN although nothing was sent. Checked here, it is a ConfigurationError at
construction. Messages name the credential and the kind of problem, never its characters.
"""

from __future__ import annotations

import os

from ..errors import ConfigurationError


def from_environment(value: str | None, variable: str, *, required: bool, name: str) -> str | None:
    """``value``, or when it is None the environment variable ``variable`` (as OpenAI's and
    Stripe's clients read their keys). A required one found nowhere says both ways to give it."""
    if value is not None:
        return value
    found = os.environ.get(variable)
    if found is None and required:
        raise ConfigurationError(f"no {name}: pass it, or set the {variable} environment variable")
    return found


def check_credential(value: object, name: str, *, hint: str) -> str:
    """``value`` if it is a usable credential; else a ConfigurationError naming ``name``."""
    if not isinstance(value, str):
        raise ConfigurationError(
            f"{name} must be a string, not {type(value).__name__}; {hint}"
        )
    if not value:
        raise ConfigurationError(f"{name} is empty; {hint}")
    for position, char in enumerate(value, start=1):
        if char.isspace():
            problem = "a space or other whitespace (a line break or tab)"
        elif not char.isprintable():
            problem = "a control or invisible character (such as NUL, VT or DEL)"
        else:
            continue
        raise ConfigurationError(
            f"{name} contains {problem} at position {position} of {len(value)}; "
            f"copy it again without it ({hint})"
        )
    return value
