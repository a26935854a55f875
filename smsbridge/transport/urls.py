"""URL helpers shared by reprs and messages (no imports from the rest of the package)."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit


def redact_userinfo(url: str) -> str:
    """``url`` with any ``user:password@`` replaced by ``***@`` (for reprs and messages)."""
    if "@" not in url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unbalanced '[': show nothing rather than guess
        return "***"
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"***@{host}"))
