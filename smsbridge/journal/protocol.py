"""What the engine needs from a job store, a suppression list and an event ledger.

The dispatcher and the webhook side call only these protocols, never a store's internals: the
SQLite :class:`~smsbridge.journal.Journal` implements all three, and a network store (e.g. the
Redis suppression list and event ledger in ``smsbridge.redis``) implements the ones it offers.

``SuppressionList`` and ``EventLedger`` methods may be sync or async (:data:`MaybeAwaitable`):
the SQLite journal answers at once, a network store is awaited. Callers go through
:func:`resolve`. The job-store methods a run calls per recipient are async or return
awaitables, so a network store never blocks the event loop.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterable, Awaitable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import (
    TYPE_CHECKING,
    Any,
    NamedTuple,
    Protocol,
    TypeAlias,
    TypeVar,
    cast,
    runtime_checkable,
)

from ..models import Outcome

if TYPE_CHECKING:
    from ..dispatch.spec import JobSpec
    from .store import JobInfo

_T = TypeVar("_T")
MaybeAwaitable: TypeAlias = _T | Awaitable[_T]


async def resolve(value: MaybeAwaitable[_T]) -> _T:
    """The value of a sync-or-async protocol method's result."""
    if inspect.isawaitable(value):
        return cast(_T, await value)
    return value


class Prior(NamedTuple):
    """A recipient's row as an earlier run (or another process) left it."""

    state: str
    reason: str | None
    error: str | None
    provider: str | None
    message_id: str | None
    batch_id: str | None
    attempts: int
    run_id: str | None


class ClaimEntry(NamedTuple):
    key: str
    seq: int
    variables: Mapping[str, Any]


@runtime_checkable
class SuppressionList(Protocol):
    """Numbers (E.164) never to text, ordered by event time: an opt-out and an opt-in for one
    number apply in the order they happened (``occurred_at``), not the order they arrived."""

    def suppress(self, phone: str, *, reason: str = ..., source: str | None = ...,
                 occurred_at: datetime | None = ...) -> MaybeAwaitable[bool]:
        """Suppress ``phone``; False when a later opt-in was already recorded."""
        ...

    def unsuppress(self, phone: str, *,
                   occurred_at: datetime | None = ...) -> MaybeAwaitable[bool]:
        """Lift a suppression; False when an opt-out at or after ``occurred_at`` stands."""
        ...

    def is_suppressed(self, phone: str) -> MaybeAwaitable[bool]: ...


@runtime_checkable
class EventLedger(Protocol):
    """Webhook event ids already applied (webhooks arrive at least once)."""

    def mark_event_seen(self, event_id: str) -> MaybeAwaitable[bool]:
        """Record ``event_id``; False when it was seen before (the event is a redelivery)."""
        ...

    def forget_event(self, event_id: str) -> MaybeAwaitable[None]:
        """Undo :meth:`mark_event_seen` (applying the event failed: a redelivery may retry)."""
        ...


class RunSession(Protocol):
    """One run's writes: the per-recipient state machine ``pending -> in_flight -> final``.

    ``claim`` is conditional (two runs never both send to one recipient) and resolves once the
    in-flight marks are durable; the other writes may be buffered until :meth:`close`.
    """

    def claim(self, entries: Sequence[ClaimEntry]) -> Awaitable[list[Prior | None]]:
        """None for each recipient claimed; the existing row for one held or finished."""
        ...

    def done(self, key: str, outcome: Outcome, attempts: int) -> None: ...

    def final(self, key: str, index: int, outcome: Outcome, attempts: int,
              variables: Mapping[str, Any] | None = None) -> None:
        """The outcome of a recipient never claimed (a skip, a failed render)."""
        ...

    def release(self, key: str, attempts: int) -> None:
        """Hand a claimed recipient back to ``pending`` (surely not sent)."""
        ...

    def resolve_interrupted(self, key: str, error: str) -> None:
        """An earlier run's in-flight recipient is now reported UNKNOWN."""
        ...

    async def lookup(self, keys: Sequence[str]) -> dict[str, Prior]: ...

    def store_source(self, chunk: int, items: list[Any], read_so_far: int) -> None: ...

    def set_status(self, status: str, *, total: int | None = None,
                   source_complete: bool | None = None) -> None: ...

    async def close(self) -> None:
        """Make every write durable and end the run (the job is free for another)."""
        ...


@runtime_checkable
class JobStore(Protocol):
    """Everything a :class:`~smsbridge.Dispatcher` needs from a journal."""

    @property
    def location(self) -> str:
        """Where the jobs live, for reports (a file path, a URL without its password)."""
        ...

    async def find_job(self, job_id: str | None = None) -> JobInfo:
        """A job (default: the most recent); JournalError when there is none."""
        ...

    def job_source(self, job_id: str) -> Iterable[Any] | AsyncIterable[Any]:
        """The job's stored recipients, in source order."""
        ...

    async def stored_count(self, job_id: str) -> int:
        """How many entries of the job's source are stored."""
        ...

    async def resolve_job(self, spec: JobSpec, job_id: str | None) -> tuple[str, bool]:
        """(job_id, has recorded recipients), without writing: a dry run's view."""
        ...

    async def begin_job(
        self, spec: JobSpec, *, job_id: str | None, provider: str,
        settings: Mapping[str, Any], total: int | None, replace_source: bool, run_id: str,
    ) -> tuple[str, bool]:
        """Create or reopen a job and register ``run_id`` as its one live run; returns
        (job_id, resumed). Raises JobBusyError while another run is live."""
        ...

    def open_session(self, job_id: str, run_id: str, *, resend_unknown: bool,
                     retry_failed: bool = False) -> RunSession:
        """The write session of the run registered by :meth:`begin_job`."""
        ...

    async def lookup(self, job_id: str, keys: Sequence[str]) -> dict[str, Prior]:
        """What earlier runs left for ``keys`` (read only)."""
        ...

    def opted_out(self, phone: str) -> bool:
        """The per-recipient suppression check while preparing: cheap, at most about a second
        stale (a STOP is honoured again at claim time through a ``SuppressionList``)."""
        ...

    def close(self) -> None: ...
