"""Accounting for a bulk job: live :class:`Progress` (throttled callback) and the final report."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType

import attrs

from .._logging import logger
from ..models import Outcome, OutcomeStatus
from .compliance import ComplianceReport

ProgressCallback = Callable[["Progress"], object]


@attrs.frozen(slots=True)
class Progress:
    """A snapshot of a running job. ``total`` is None when the source has no length."""

    total: int | None
    done: int
    sent: int
    failed: int
    unknown: int
    skipped: int
    elapsed: float

    @property
    def rate(self) -> float:
        """Recipients finished per second so far."""
        return self.done / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        """Seconds left at the current rate; None when the total or the rate is unknown."""
        if self.total is None or self.rate <= 0:
            return None
        return max(self.total - self.done, 0) / self.rate

    @property
    def fraction(self) -> float | None:
        if not self.total:
            return None
        return min(self.done / self.total, 1.0)


class Tally:
    """Counts outcomes as they happen and calls ``on_progress`` at most every ``interval`` s."""

    __slots__ = ("_callback", "_failed_callback", "_interval", "_next", "counts", "done",
                 "started", "total")

    def __init__(
        self, total: int | None, on_progress: ProgressCallback | None, interval: float
    ) -> None:
        self.total = total
        self.counts: dict[OutcomeStatus, int] = dict.fromkeys(OutcomeStatus, 0)
        self.done = 0
        self.started = time.monotonic()
        self._callback = on_progress
        self._interval = interval
        self._next = self.started + interval
        self._failed_callback = False

    def add(self, outcome: Outcome) -> None:
        self.counts[outcome.status] += 1
        self.done += 1
        if self._callback is not None:
            now = time.monotonic()
            if now >= self._next:
                self._next = now + self._interval
                self._call(now)

    def snapshot(self, now: float | None = None) -> Progress:
        counts = self.counts
        return Progress(
            total=self.total,
            done=self.done,
            sent=counts[OutcomeStatus.SENT],
            failed=counts[OutcomeStatus.FAILED],
            unknown=counts[OutcomeStatus.UNKNOWN],
            skipped=counts[OutcomeStatus.SKIPPED],
            elapsed=(now or time.monotonic()) - self.started,
        )

    def finish(self) -> None:
        if self._callback is not None:
            self._call(time.monotonic())

    def _call(self, now: float) -> None:
        assert self._callback is not None
        try:
            self._callback(self.snapshot(now))
        except Exception:
            # A broken progress bar must not abort a half-sent job; say so once.
            if not self._failed_callback:
                self._failed_callback = True
                logger.warning("on_progress callback raised; the job continues", exc_info=True)


@attrs.frozen(slots=True)
class StopCause:
    """Why a job stopped before sending to everyone.

    ``scope`` is ``"account"`` (credentials refused, account suspended: nothing more can be
    sent) or ``"service"`` (every recent attempt failed the same way: the provider is down,
    unreachable or rate limiting without end). ``reason`` is the failure reason of the error
    (``auth``, ``connect_error``, ...), ``error`` its message. Recipients not yet attempted are
    SKIPPED with reason ``"job_stopped"``; with a journal they stay pending, so ``resume``
    sends them once the cause is fixed.
    """

    scope: str
    reason: str
    error: str
    exception: BaseException | None = attrs.field(default=None, eq=False, repr=False)

    def __str__(self) -> str:
        return f"{self.scope}-level failure ({self.reason}): {self.error}"


_EMPTY_BATCHES: Mapping[str, tuple[str, ...]] = MappingProxyType({})


@attrs.frozen(slots=True)
class BulkReport:
    """What happened to every recipient of one job run: exactly one :class:`Outcome` each.

    ``outcomes`` are in input order for ``Dispatcher.send``. ``batches`` maps each accepted batch
    id to the numbers it carried (batch mode only; in a dry run, the planned batches). In a dry
    run nothing was sent and every recipient that would have been sent is ``SKIPPED`` with reason
    ``"dry_run"`` and its rendered ``Outcome.message``. ``stopped`` says why the job stopped
    early (see :class:`StopCause`), None when it ran to its end.
    """

    outcomes: tuple[Outcome, ...]
    elapsed: float
    job_id: str
    journal_path: str | None = None
    batches: Mapping[str, tuple[str, ...]] = _EMPTY_BATCHES
    dry_run: bool = False
    stopped: StopCause | None = None
    # Segments, estimated cost, look-alikes replaced, quiet hours held/skipped.
    compliance: ComplianceReport | None = None
    counts: Mapping[OutcomeStatus, int] = attrs.field(init=False)

    @counts.default
    def _count(self) -> Mapping[OutcomeStatus, int]:
        counts = dict.fromkeys(OutcomeStatus, 0)
        for outcome in self.outcomes:
            counts[outcome.status] += 1
        return MappingProxyType(counts)

    @property
    def total(self) -> int:
        return len(self.outcomes)

    @property
    def sent(self) -> int:
        return self.counts[OutcomeStatus.SENT]

    @property
    def failed(self) -> int:
        return self.counts[OutcomeStatus.FAILED]

    @property
    def unknown(self) -> int:
        return self.counts[OutcomeStatus.UNKNOWN]

    @property
    def skipped(self) -> int:
        return self.counts[OutcomeStatus.SKIPPED]

    @property
    def would_send(self) -> int:
        """Dry run: how many messages a real run would send."""
        return sum(1 for o in self.outcomes if o.reason == "dry_run")

    @property
    def rate(self) -> float:
        """Achieved send rate: messages accepted per second of the run."""
        return self.sent / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def ok(self) -> bool:
        """True when nothing failed, nothing is in doubt and the job was not stopped early."""
        return self.failed == 0 and self.unknown == 0 and self.stopped is None

    def by_status(self, status: OutcomeStatus | str) -> tuple[Outcome, ...]:
        wanted = OutcomeStatus.parse(status)
        return tuple(o for o in self.outcomes if o.status is wanted)

    def reasons(self) -> Counter[str]:
        """How many outcomes carry each reason (``duplicate``, ``opted_out``, ...)."""
        return Counter(o.reason for o in self.outcomes if o.reason)

    def __len__(self) -> int:
        return len(self.outcomes)

    def __iter__(self) -> Iterator[Outcome]:
        return iter(self.outcomes)

    def summary(self) -> str:
        head = "dry run: " if self.dry_run else ""
        parts = [f"{status.value} {self.counts[status]}" for status in OutcomeStatus]
        stopped = f"; stopped early: {self.stopped}" if self.stopped is not None else ""
        return (f"{head}job {self.job_id}: {self.total} recipients, " + ", ".join(parts)
                + f" in {self.elapsed:.2f}s ({self.rate:.1f} sent/s)" + stopped)

    def __str__(self) -> str:
        return self.summary()
