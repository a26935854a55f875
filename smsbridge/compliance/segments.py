"""Exact SMS segment counting (GSM-7 versus UCS-2) and a job's segment and cost tally.

The carrier rules (3GPP TS 23.038 / 23.040):

- A body made only of GSM-7 characters travels in 7-bit septets: 160 in one SMS; a longer body is
  split into parts of 153 (the user-data header takes 7). A character of the extension table
  (``^ { } [ ] ~ | \\ €`` and form feed) is an escape plus the character: two septets, and the
  pair is never split across parts.
- Anything else forces UCS-2 (UTF-16) for the whole message: 70 code units in one SMS, 67 per
  part. A character outside the Basic Multilingual Plane (most emoji) is a surrogate pair, two
  code units, never split across parts.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation

import attrs

from .errors import InvalidPrice, InvalidSegmentLimit, TooManySegments

__all__ = [
    "GSM7_BASIC",
    "GSM7_EXTENSION",
    "Encoding",
    "SegmentCount",
    "SegmentTally",
    "check_max_segments",
    "count_segments",
    "parse_max_segments",
    "parse_price",
]

# The GSM 03.38 default alphabet (0x1B, the escape, is left out: it is not a character a body
# can contain). 0x09 is the capital C with cedilla, as in the Unicode consortium's mapping.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

GSM7_SINGLE = 160
GSM7_PART = 153
UCS2_SINGLE = 70
UCS2_PART = 67


class Encoding(enum.Enum):
    GSM_7 = "GSM-7"
    UCS_2 = "UCS-2"


@attrs.frozen
class SegmentCount:
    """How one body travels: its encoding, segments and the characters that forced UCS-2.

    ``units`` is septets for GSM-7 and UTF-16 code units for UCS-2. ``parts`` are the pieces the
    body is cut into (one piece when it fits a single SMS; none for an empty body).
    ``remaining`` is how many units still fit in the last segment.
    """

    encoding: Encoding
    segments: int
    units: int
    characters: int
    ucs2_characters: tuple[str, ...]
    parts: tuple[str, ...] = attrs.field(repr=False)
    remaining: int

    @property
    def is_unicode(self) -> bool:
        return self.encoding is Encoding.UCS_2


def _gsm_units(char: str) -> int:
    return 2 if char in GSM7_EXTENSION else 1


def _ucs2_units(char: str) -> int:
    return 2 if ord(char) > 0xFFFF else 1


def _split(body: str, sizes: list[int], single: int, part: int) -> tuple[str, ...]:
    if sum(sizes) <= single:
        return (body,)
    parts: list[str] = []
    start = used = 0
    for index, size in enumerate(sizes):
        # An escape pair or surrogate pair that would straddle the boundary starts the next part.
        if used + size > part:
            parts.append(body[start:index])
            start, used = index, 0
        used += size
    parts.append(body[start:])
    return tuple(parts)


def count_segments(body: str) -> SegmentCount:
    """Count the SMS segments ``body`` needs, exactly as carriers split it.

    An empty body counts zero segments (nothing to send as text; an attachment-only message is
    not billed per SMS segment).
    """
    if not isinstance(body, str):
        raise TypeError(f"body must be a str, got {type(body).__name__}")
    forcing = tuple(
        dict.fromkeys(c for c in body if c not in GSM7_BASIC and c not in GSM7_EXTENSION)
    )
    if forcing:
        encoding, single, part = Encoding.UCS_2, UCS2_SINGLE, UCS2_PART
        sizes = [_ucs2_units(c) for c in body]
    else:
        encoding, single, part = Encoding.GSM_7, GSM7_SINGLE, GSM7_PART
        sizes = [_gsm_units(c) for c in body]
    units = sum(sizes)
    if not body:
        return SegmentCount(encoding, 0, 0, 0, (), (), single)
    parts = _split(body, sizes, single, part)
    if len(parts) == 1:
        remaining = single - units
    else:
        last = parts[-1]
        remaining = part - sum(_ucs2_units(c) if forcing else _gsm_units(c) for c in last)
    return SegmentCount(encoding, len(parts), units, len(body), forcing, parts, remaining)


def parse_max_segments(value: object) -> int:
    """A ``max_segments`` setting as an int >= 1, or :class:`InvalidSegmentLimit`."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InvalidSegmentLimit(
            f"max_segments must be a whole number of at least 1, got {type(value).__name__}"
        )
    try:
        limit = int(value)
    except ValueError:
        raise InvalidSegmentLimit(
            f"max_segments must be a whole number of at least 1, got {str(value)[:20]!r}"
        ) from None
    if limit < 1:
        raise InvalidSegmentLimit(
            f"max_segments must be at least 1 (got {limit}); leave it unset for no limit"
        )
    return limit


def check_max_segments(body: str, max_segments: int | None) -> SegmentCount:
    """Count ``body`` and raise :class:`TooManySegments` when it needs more than allowed."""
    count = count_segments(body)
    if max_segments is not None and count.segments > max_segments:
        why = (
            f" (UCS-2 because of {_describe(count.ucs2_characters)})" if count.is_unicode else ""
        )
        raise TooManySegments(
            f"the message needs {count.segments} segments{why}, more than max_segments="
            f"{max_segments}; shorten it, raise the limit, or try smart_encoding",
            segments=count.segments,
            limit=max_segments,
        )
    return count


def _describe(chars: Iterable[str]) -> str:
    return ", ".join(f"{c!r} (U+{ord(c):04X})" for c in chars)


def parse_price(value: object) -> Decimal:
    """A price per segment (``Decimal``, ``int`` or a decimal string such as ``"0.0079"``).

    Floats are refused: ``0.1`` is not exactly a tenth, and a cost estimate should not drift.
    """
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
        raise InvalidPrice(
            f"the price per segment must be a Decimal or a string like '0.0079', "
            f"got {type(value).__name__}"
        )
    try:
        price = Decimal(value.strip() if isinstance(value, str) else value)
    except InvalidOperation:
        raise InvalidPrice(
            f"the price per segment {str(value)[:20]!r} is not a number; write it like 0.0079"
        ) from None
    if not price.is_finite() or price < 0:
        raise InvalidPrice(
            f"the price per segment must be a finite amount of 0 or more, got {str(value)[:20]!r}"
        )
    return price


@attrs.define
class SegmentTally:
    """The segments of a job as rendered per recipient, and what forced UCS-2 where it did.

    ``add`` each recipient's rendered body (or its :class:`SegmentCount`); ``ucs2_characters``
    maps each character that forced UCS-2 to how many recipients' bodies contained it.
    """

    recipients: int = 0
    total_segments: int = 0
    ucs2_recipients: int = 0
    max_segments: int = 0
    _ucs2_characters: Counter[str] = attrs.field(factory=Counter, alias="_ucs2_characters")

    def add(self, body_or_count: str | SegmentCount) -> SegmentCount:
        count = (
            body_or_count
            if isinstance(body_or_count, SegmentCount)
            else count_segments(body_or_count)
        )
        self.recipients += 1
        self.total_segments += count.segments
        self.max_segments = max(self.max_segments, count.segments)
        if count.is_unicode:
            self.ucs2_recipients += 1
            self._ucs2_characters.update(count.ucs2_characters)
        return count

    @property
    def ucs2_characters(self) -> Mapping[str, int]:
        """Character -> recipients whose body it forced into UCS-2, most frequent first."""
        return dict(self._ucs2_characters.most_common())

    def estimated_cost(self, price_per_segment: Decimal | str | int) -> Decimal:
        """Total segments times the price (exact decimal arithmetic)."""
        return parse_price(price_per_segment) * self.total_segments
