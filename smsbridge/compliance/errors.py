"""Typed errors of the compliance helpers, inside the package's one error tree.

They live here rather than in ``smsbridge.errors`` so the compliance core stays one subpackage;
each subclasses the ``smsbridge.errors`` class a caller already catches.
"""

from __future__ import annotations

from ..errors import InvalidMessage, ValidationError


class InvalidPrice(ValidationError):
    """A price per segment was not a finite, non-negative decimal amount."""


class InvalidSegmentLimit(ValidationError):
    """A maximum number of segments was not a whole number of at least 1."""


class TooManySegments(InvalidMessage):
    """A body needs more segments than the caller allowed.

    ``reason`` is the outcome reason the dispatcher records (``too_many_segments``).
    """

    reason = "too_many_segments"

    def __init__(self, message: str, *, segments: int, limit: int) -> None:
        super().__init__(message)
        self.segments = segments
        self.limit = limit


class InvalidQuietHours(ValidationError):
    """A quiet-hours window, preset, fallback zone or clock reading was not usable."""
