"""The one table of inbound keywords (opt-out, opt-in, help) and the classifier that reads it.

The opt-out words are the set carriers (CTIA) and the FCC's 2024 revocation rule (47 CFR
64.1200(a)(10)) expect to be honoured: a message that *is* one of them revokes consent. Matching
is on the whole message, so "please don't stop" is not an opt-out, but it forgives what people
actually type: any case, extra or missing spaces ("opt  out", "Opt-Out"), full-width letters,
and punctuation around the word ("STOP!", "'stop'", "(Revoke.)").
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Mapping
from types import MappingProxyType

import attrs

__all__ = ["KEYWORDS", "InboundKind", "KeywordMatch", "classify_inbound", "match_keyword"]


class InboundKind(enum.Enum):
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"
    OTHER = "other"


# The one table. Keys are the canonical form: upper case, single spaces.
KEYWORDS: Mapping[str, InboundKind] = MappingProxyType(
    {
        "STOP": InboundKind.OPT_OUT,
        "STOPALL": InboundKind.OPT_OUT,
        "STOP ALL": InboundKind.OPT_OUT,
        "UNSUBSCRIBE": InboundKind.OPT_OUT,
        "CANCEL": InboundKind.OPT_OUT,
        "END": InboundKind.OPT_OUT,
        "QUIT": InboundKind.OPT_OUT,
        "REVOKE": InboundKind.OPT_OUT,
        "OPTOUT": InboundKind.OPT_OUT,
        "OPT OUT": InboundKind.OPT_OUT,
        "START": InboundKind.OPT_IN,
        "UNSTOP": InboundKind.OPT_IN,
        "YES": InboundKind.OPT_IN,
        "HELP": InboundKind.HELP,
        "INFO": InboundKind.HELP,
    }
)

# Words are separated by whitespace, hyphens or underscores ("opt-out", "STOP_ALL").
_SEPARATORS = re.compile(r"[\s\-_\u2010-\u2015]+")
# Longer than any keyword with generous padding: a long message is never a keyword, and the
# classifier stays O(1) on whatever a webhook delivers.
_MAX_LENGTH = 64


@attrs.frozen
class KeywordMatch:
    """A keyword message: its kind and the canonical keyword from :data:`KEYWORDS`."""

    kind: InboundKind
    keyword: str


def _is_edge_noise(char: str) -> bool:
    # Punctuation (P*), symbols (S*: emoji, "$", "+"), separators and controls around a keyword.
    return unicodedata.category(char)[0] in "PSZC"


def _canonical(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    start, end = 0, len(text)
    while start < end and (_is_edge_noise(text[start]) or text[start].isspace()):
        start += 1
    while end > start and (_is_edge_noise(text[end - 1]) or text[end - 1].isspace()):
        end -= 1
    return _SEPARATORS.sub(" ", text[start:end]).upper()


def match_keyword(text: str | None) -> KeywordMatch | None:
    """The keyword ``text`` is (whole message, forgiving case, spacing and punctuation), if any."""
    if not text or len(text) > _MAX_LENGTH:
        return None
    canonical = _canonical(text)
    kind = KEYWORDS.get(canonical)
    return None if kind is None else KeywordMatch(kind, canonical)


def classify_inbound(text: str | None) -> InboundKind:
    """``OPT_OUT`` / ``OPT_IN`` / ``HELP`` for a keyword message, else ``OTHER``."""
    match = match_keyword(text)
    return InboundKind.OTHER if match is None else match.kind
