"""What a job's compliance settings did: segments and cost, look-alikes replaced, quiet hours.

The rules themselves live in :mod:`smsbridge.compliance`; this module holds one job's settings
(:class:`JobRules`), the running totals the preparer and the engine feed
(:class:`ComplianceTally`) and the read-only summary a report carries
(:class:`ComplianceReport`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal

import attrs

from ..compliance import (
    QuietHours,
    QuietHoursCheck,
    QuietHoursTally,
    SegmentTally,
)
from ..compliance.lookalikes import Replacement
from ..models import Outcome, OutcomeStatus, Recipient

__all__ = ["ComplianceReport", "ComplianceTally", "JobRules", "quiet_hours_outcome", "utc_now"]

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@attrs.frozen
class JobRules:
    """One job's quiet hours and clock: ``wait`` holds a recipient outside its window until
    the window opens; without it the recipient is SKIPPED (reason ``quiet_hours``)."""

    quiet_hours: QuietHours | None = None
    wait: bool = True
    clock: Clock = utc_now

    def now(self) -> datetime:
        return self.clock()

    def check(self, phone: str) -> QuietHoursCheck | None:
        """None when quiet hours are off."""
        if self.quiet_hours is None:
            return None
        return self.quiet_hours.check(phone, self.clock())


@attrs.frozen
class ComplianceReport:
    """What compliance did to one job run.

    ``segments`` totals the segments as rendered per recipient (filled in a dry run and
    whenever ``max_segments``, ``smart_encoding`` or a price is set); ``estimated_cost`` is
    ``segments.total_segments * price_per_segment`` when a price was given. ``replacements``
    counts each look-alike ``smart_encoding`` replaced (original character -> occurrences).
    ``held`` counts recipients held for quiet hours (``held.latest``: the last time one was
    due); ``skipped`` those SKIPPED ``quiet_hours`` because the caller asked not to wait
    (``skipped.earliest``: the first time one of them may be sent). ``send_at``: when the job
    was scheduled to start.
    """

    segments: SegmentTally
    replacements: Mapping[str, int]
    held: QuietHoursTally
    skipped: QuietHoursTally
    price_per_segment: Decimal | None = None
    send_at: datetime | None = None

    @property
    def estimated_cost(self) -> Decimal | None:
        if self.price_per_segment is None:
            return None
        return self.segments.estimated_cost(self.price_per_segment)


class ComplianceTally:
    """Running totals, fed by the preparer (segments, replacements) and the engine (quiet)."""

    __slots__ = ("held", "price", "replacements", "segments", "send_at", "skipped")

    def __init__(self, price: Decimal | None = None, send_at: datetime | None = None) -> None:
        self.segments = SegmentTally()
        self.replacements: Counter[str] = Counter()
        self.held = QuietHoursTally()
        self.skipped = QuietHoursTally()
        self.price = price
        self.send_at = send_at

    def replaced(self, replacements: tuple[Replacement, ...]) -> None:
        for replacement in replacements:
            self.replacements[replacement.original] += replacement.count

    def report(self) -> ComplianceReport:
        return ComplianceReport(
            segments=attrs.evolve(self.segments),
            replacements=dict(self.replacements.most_common()),
            held=attrs.evolve(self.held), skipped=attrs.evolve(self.skipped),
            price_per_segment=self.price, send_at=self.send_at)


def quiet_hours_outcome(recipient: Recipient, check: QuietHoursCheck) -> Outcome:
    """SKIPPED ``quiet_hours``: never final in the journal, so a later resume sends it."""
    zones = ", ".join(check.zones) or "no zone"
    if check.next_allowed is None:
        when = "it can never be texted inside the window (unknown zone with fallback 'deny', " \
               "or zones whose windows never overlap)"
    else:
        when = f"next allowed {check.next_allowed:%Y-%m-%d %H:%M} UTC"
    return Outcome(recipient, OutcomeStatus.SKIPPED, reason=check.reason,
                   error=f"outside quiet hours at the recipient ({zones}); {when}; it stays "
                         "pending, so resuming the job later sends it")
