"""The per-body step a sender runs after rendering: optional smart encoding, count, limit.

One call so the dispatcher, the CLI's dry run and a caller's own code apply the same rules in
the same order (replace look-alikes first, then count, so the limit judges what is sent).
"""

from __future__ import annotations

import attrs

from .lookalikes import Replacement
from .lookalikes import smart_encoding as _smart_encoding
from .segments import SegmentCount, check_max_segments

__all__ = ["PreparedBody", "prepare_body"]


@attrs.frozen
class PreparedBody:
    """The body to send, its segment count, and the look-alikes replaced to get it."""

    body: str = attrs.field(repr=False)
    count: SegmentCount
    replacements: tuple[Replacement, ...] = ()


def prepare_body(
    body: str, *, max_segments: int | None = None, smart_encoding: bool = False
) -> PreparedBody:
    """Apply ``smart_encoding`` (when asked), count segments, enforce ``max_segments``.

    Raises :class:`~smsbridge.compliance.errors.TooManySegments` (an ``InvalidMessage``, reason
    ``too_many_segments``) when the body, after any replacement, needs more segments than allowed.
    """
    replacements: tuple[Replacement, ...] = ()
    if smart_encoding:
        body, replacements = _smart_encoding(body)
    return PreparedBody(body, check_max_segments(body, max_segments), replacements)
