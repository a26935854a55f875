"""Opt-in ``smart_encoding``: swap look-alike characters for GSM-7 ones and say what changed.

One curly apostrophe pasted from a word processor turns a 160-character GSM-7 message (1 segment)
into UCS-2 (3 segments). Replacing the usual look-alikes keeps the text readable and the cost
down. It is opt-in because it changes the text; the report lets a caller show exactly what.
Characters with no look-alike (emoji, most accented letters) are left alone, and the body then
still needs UCS-2 — ``count_segments`` names those characters.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from types import MappingProxyType

import attrs

__all__ = ["LOOKALIKES", "Replacement", "SmartEncoded", "smart_encoding"]

_TABLE: dict[str, str] = {
    # Quotes and apostrophes.
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "\u02bc": "'",
    "\u2039": "<", "\u203a": ">",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
    "\u00ab": '"', "\u00bb": '"',
    # Dashes, hyphens and the minus sign.
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-",
    "\u2212": "-", "\ufe63": "-", "\uff0d": "-",
    # Spaces that only look like a space.
    "\u00a0": " ", "\u2000": " ", "\u2001": " ", "\u2002": " ", "\u2003": " ", "\u2004": " ",
    "\u2005": " ", "\u2006": " ", "\u2007": " ", "\u2008": " ", "\u2009": " ", "\u200a": " ",
    "\u202f": " ", "\u205f": " ", "\u3000": " ", "\t": " ",
    # Invisible characters that only force UCS-2.
    "\u200b": "", "\u200c": "", "\u200d": "", "\u2060": "", "\ufeff": "", "\u00ad": "",
    # Punctuation and symbols with a plain equivalent.
    "\u2026": "...", "\u2022": "-", "\u00b7": "-", "\u2044": "/", "\u2215": "/",
    "\u02c6": "^", "\u02dc": "~", "\u2053": "~", "\uff5e": "~",
    "\uff0c": ",", "\uff0e": ".", "\uff1a": ":", "\uff1b": ";",
    "\uff01": "!", "\uff1f": "?", "\uff08": "(", "\uff09": ")",
}
LOOKALIKES: Mapping[str, str] = MappingProxyType(_TABLE)
_TRANSLATION: dict[int, str] = {ord(k): v for k, v in _TABLE.items()}


@attrs.frozen
class Replacement:
    """``original`` was replaced by ``replacement`` ``count`` times."""

    original: str
    replacement: str
    count: int

    @property
    def codepoint(self) -> str:
        return f"U+{ord(self.original):04X}"


class SmartEncoded(tuple[str, tuple[Replacement, ...]]):
    """``(new_body, replacements)``; unpack it or read ``body`` / ``replacements``."""

    __slots__ = ()

    def __new__(cls, body: str, replacements: tuple[Replacement, ...]) -> SmartEncoded:
        return super().__new__(cls, (body, replacements))

    @property
    def body(self) -> str:
        return self[0]

    @property
    def replacements(self) -> tuple[Replacement, ...]:
        return self[1]

    @property
    def changed(self) -> bool:
        return bool(self[1])


def smart_encoding(body: str) -> SmartEncoded:
    """Replace look-alike characters with GSM-7 ones; return the new body and what was replaced.

    Replacements are listed in the order their character first appears. A body with nothing to
    replace comes back unchanged with no replacements.
    """
    if not isinstance(body, str):
        raise TypeError(f"body must be a str, got {type(body).__name__}")
    found = Counter(c for c in body if c in _TABLE)
    if not found:
        return SmartEncoded(body, ())
    new_body = body.translate(_TRANSLATION)
    replacements = tuple(
        Replacement(original, _TABLE[original], found[original])
        for original in dict.fromkeys(c for c in body if c in found)
    )
    return SmartEncoded(new_body, replacements)
