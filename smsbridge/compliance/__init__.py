"""Compliance and cost helpers: segment counting, look-alike replacement, opt-out keywords,
quiet hours in the recipient's time zone.

Pure functions and small value classes with no network and no journal: the dispatcher, the CLI
and the webhook router call them.
"""

from __future__ import annotations

from .body import PreparedBody, prepare_body
from .errors import InvalidPrice, InvalidQuietHours, InvalidSegmentLimit, TooManySegments
from .keywords import KEYWORDS, InboundKind, KeywordMatch, classify_inbound, match_keyword
from .lookalikes import LOOKALIKES, Replacement, SmartEncoded, smart_encoding
from .quiet_hours import DENY, PRESETS, STRICTEST_US, QuietHours, QuietHoursCheck, QuietHoursTally
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
    "DENY",
    "KEYWORDS",
    "LOOKALIKES",
    "PRESETS",
    "STRICTEST_US",
    "Encoding",
    "InboundKind",
    "InvalidPrice",
    "InvalidQuietHours",
    "InvalidSegmentLimit",
    "KeywordMatch",
    "PreparedBody",
    "QuietHours",
    "QuietHoursCheck",
    "QuietHoursTally",
    "Replacement",
    "SegmentCount",
    "SegmentTally",
    "SmartEncoded",
    "TooManySegments",
    "check_max_segments",
    "classify_inbound",
    "count_segments",
    "match_keyword",
    "parse_max_segments",
    "parse_price",
    "prepare_body",
    "smart_encoding",
]
