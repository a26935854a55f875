"""Read models of the send journal: a job's spec, one recipient's row, a job's summary."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

import attrs

from ..dispatch.spec import JobSpec
from ..models import DeliveryStatus, OutcomeStatus
from ..phone import masked_repr

_EMPTY: Mapping[str, Any] = MappingProxyType({})
_OUTCOME_STATES = frozenset(s.value for s in OutcomeStatus)


def _utc(timestamp: float | None) -> datetime | None:
    return datetime.fromtimestamp(timestamp, UTC) if timestamp is not None else None


@attrs.frozen(slots=True)
class JobInfo:
    """A job as stored: what it sends (``spec``), which provider, and how far it got.

    ``status`` is ``running`` (also after a crash), ``cancelled``, ``interrupted`` (an error
    stopped it), ``stopped`` (it stopped itself early, see ``BulkReport.stopped``; what it did
    not attempt is pending) or ``finished``. ``total`` counts the entries of the source read
    so far (or
    its length when known). ``source_complete`` is False while (or when a crash stopped) a
    streamed source was still being read: the journal alone then cannot finish the job (see
    ``Dispatcher.resume``). ``duplicates`` counts duplicate entries recorded without a row of
    their own, in journals written before schema 2 (newer ones give each a ``skipped`` row).
    """

    job_id: str
    provider: str | None
    spec: JobSpec
    status: str
    total: int | None
    source_complete: bool
    duplicates: int
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    settings: Mapping[str, Any] = _EMPTY

    @property
    def body(self) -> str:
        return self.spec.body


def job_from_row(row: tuple[Any, ...]) -> JobInfo:
    (job_id, _fingerprint, provider, spec, settings, status, total, source_complete,
     duplicates, created_at, updated_at, finished_at) = row
    created = _utc(created_at)
    updated = _utc(updated_at)
    assert created is not None and updated is not None
    return JobInfo(
        job_id=job_id, provider=provider, spec=JobSpec.from_json(json.loads(spec)),
        status=status, total=total, source_complete=bool(source_complete),
        duplicates=duplicates, created_at=created, updated_at=updated,
        finished_at=_utc(finished_at), settings=MappingProxyType(json.loads(settings)),
    )


@attrs.frozen(slots=True)
class JournalEntry:
    """One recipient's row. ``state`` is ``pending``, ``in_flight`` or a final outcome.

    ``phone`` is the number in E.164, or the entry as given when it was invalid. ``key`` is
    the row's key in the job: the E.164 number, or ``#<position in the source>`` for an entry
    with no number of its own (an invalid entry, a duplicate). ``attempted_at``: when the last
    send attempt was marked in flight.
    """

    phone: str = attrs.field(repr=masked_repr)
    state: str
    reason: str | None
    error: str | None
    provider: str | None
    message_id: str | None
    attempts: int
    batch_id: str | None
    variables: Mapping[str, Any] = attrs.field(repr=lambda v: repr(sorted(v or ())))  # names only
    created_at: datetime | None
    updated_at: datetime | None
    delivery_status: DeliveryStatus | None = None
    delivery_raw_status: str | None = None
    delivery_error_code: str | None = None
    delivery_at: datetime | None = None
    key: str = ""
    attempted_at: datetime | None = None

    @property
    def outcome(self) -> OutcomeStatus | None:
        """The final outcome, or None while the recipient is pending or in flight."""
        return OutcomeStatus(self.state) if self.state in _OUTCOME_STATES else None

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> JournalEntry:
        (_job, key, _seq, variables, state, reason, error, provider, message_id, attempts,
         batch_id, _run, created_at, updated_at, delivery_status, delivery_raw,
         delivery_error, delivery_at, given, attempted_at) = row
        return cls(
            phone=given if given is not None else key, key=key, state=state, reason=reason,
            error=error, provider=provider,
            message_id=message_id, attempts=attempts, batch_id=batch_id,
            variables=MappingProxyType(json.loads(variables)) if variables else _EMPTY,
            created_at=_utc(created_at), updated_at=_utc(updated_at),
            delivery_status=DeliveryStatus.parse(delivery_status) if delivery_status else None,
            delivery_raw_status=delivery_raw, delivery_error_code=delivery_error,
            delivery_at=_utc(delivery_at), attempted_at=_utc(attempted_at),
        )


@attrs.frozen(slots=True)
class JournalReport:
    """A job's summary, read without sending anything (``Journal.report()``).

    Every entry of the job's source is counted once: ``sent + failed + unknown + skipped +
    in_flight + pending == total`` (invalid entries and duplicates are ``skipped``).
    ``states`` counts rows per state; ``pending`` adds the entries not handled yet.
    ``delivered`` / ``delivery_failed`` / ``awaiting`` come from delivery webhooks: awaiting
    counts sent messages without a final delivery status yet. ``reconciled`` counts sends that
    were UNKNOWN until the provider's delivery report proved them accepted (now ``sent``).
    """

    job: JobInfo
    states: Mapping[str, int]
    reasons: Mapping[str, int]
    delivered: int
    delivery_failed: int
    awaiting: int
    entries: Callable[..., Iterator[JournalEntry]] = attrs.field(repr=False, eq=False)

    def _state(self, state: str) -> int:
        return int(self.states.get(state, 0))

    @property
    def sent(self) -> int:
        return self._state("sent")

    @property
    def failed(self) -> int:
        return self._state("failed")

    @property
    def unknown(self) -> int:
        return self._state("unknown")

    @property
    def skipped(self) -> int:
        return self._state("skipped") + self.job.duplicates

    @property
    def reconciled(self) -> int:
        """UNKNOWN sends a delivery report proved accepted (counted in ``sent``)."""
        return int(self.reasons.get("reconciled", 0))

    @property
    def total(self) -> int:
        """Entries of the job's source read so far (its length when known)."""
        return self.job.total or 0

    @property
    def in_flight(self) -> int:
        """Rows marked in flight: a running job's current sends, or a crashed run's (which a
        resume turns into ``unknown``)."""
        return self._state("in_flight")

    @property
    def recorded(self) -> int:
        return sum(self.states.values())

    @property
    def pending(self) -> int:
        """Recipients known to the job that no run has finished (and that are not duplicates)."""
        unrecorded = (self.job.total or 0) - self.job.duplicates - self.recorded
        return max(unrecorded, 0) + self._state("pending")

    @property
    def counts(self) -> Mapping[str, int]:
        """Every state with its count, ``pending`` included."""
        out = {"sent": self.sent, "failed": self.failed, "unknown": self.unknown,
               "skipped": self.skipped, "in_flight": self.in_flight, "pending": self.pending}
        return MappingProxyType(out)

    @property
    def complete(self) -> bool:
        """True when every recipient has a final outcome and the source was fully read."""
        return self.job.source_complete and self.pending == 0 and self.in_flight == 0

    def summary(self) -> str:
        counts = ", ".join(f"{k} {v}" for k, v in self.counts.items())
        return (f"job {self.job.job_id} ({self.job.status}): {counts}; delivery: delivered "
                f"{self.delivered}, failed {self.delivery_failed}, awaiting {self.awaiting}, "
                f"reconciled {self.reconciled}")

    def __str__(self) -> str:
        return self.summary()
