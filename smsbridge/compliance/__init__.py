"""Compliance and cost helpers: segment counting, look-alike replacement, opt-out keywords,
quiet hours in the recipient's time zone.

Pure functions and small value classes with no network and no journal: the dispatcher, the CLI
and the webhook router call them.
"""

from __future__ import annotations

from .errors import InvalidPrice, InvalidQuietHours, InvalidSegmentLimit, TooManySegments
from .segments import (
    Encoding,
    SegmentCount,
    SegmentTally,
    check_max_segments,
    count_segments,
    parse_max_segments,
    parse_price,
)

__all__ = [
    "Encoding",
    "InvalidPrice",
    "InvalidQuietHours",
    "InvalidSegmentLimit",
    "SegmentCount",
    "SegmentTally",
    "TooManySegments",
    "check_max_segments",
    "count_segments",
    "parse_max_segments",
    "parse_price",
]
