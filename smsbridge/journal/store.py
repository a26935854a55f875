"""The SQLite send journal: resumable bulk jobs, one recorded outcome per recipient.

``Dispatcher(provider, journal="job.sqlite")`` records every recipient's state
(``pending`` -> ``in_flight`` -> ``sent`` / ``failed`` / ``unknown`` / ``skipped``) with the
provider, its message id, attempts, error, reason, batch id and timestamps, committed (WAL)
before each request goes out, so a job killed at any moment can be resumed without texting
anyone twice. The job's spec (body template, sender, attachments, options, provider name —
never credentials) and its recipients are stored too, so ``Dispatcher.resume()`` (and
``smsbridge resume job.sqlite``) can finish a job with nothing but the provider's credentials.

Every entry of a job's source gets one row: a valid number is keyed by its E.164 form, an
entry with no number of its own (invalid, or a duplicate) by its position in the source.

The same database holds what webhooks feed back: delivery statuses per message id
(:meth:`Journal.record_delivery`, which also reconciles an UNKNOWN send that the provider's
report proves accepted), seen event ids, and the suppression (opt-out) list every job
honours. Opt-outs and opt-ins are applied in the order they happened (their events' times),
not the order they arrive: a later opt-out always wins, and a tie keeps the number suppressed.
Methods are synchronous and cheap; a ``Journal`` may be shared by a dispatcher and a
webhook receiver in one process.

A job has one live run at a time: a second run (another process, another host, or another
dispatcher in this process) is refused with :class:`JobBusyError` naming the first, and takes
over only once the first is provably gone (see ``journal.runs``).

A journal is three files that travel together: ``x.sqlite``, ``x.sqlite-wal`` and
``x.sqlite-shm``. While a run is live (or after it crashed) the latest states are in the
``-wal`` file; a journal opened without it while its main file says a run was live is refused
with :class:`JournalWalMissingError` (``accept_lost_wal=True`` takes it as it is).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from os import PathLike
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

from .. import _constants as C
from .._logging import logger
from ..dispatch.spec import JobSpec, dumps
from ..errors import (
    ConfigurationError,
    InvalidPhoneNumber,
    JobBusyError,
    JournalError,
    JournalWalMissingError,
)
from ..models import DeliveryStatus
from ..phone import normalize
from .protocol import Prior
from .reconcile import reconcile
from .report import JobInfo, JournalEntry, JournalReport, job_from_row
from .runs import begin_run, end_run, forget_local, is_gone, live_runs
from .schema import prepare_schema
from .session import JobSession, lookup_rows
from .writer import GroupWriter

__all__ = ["JobInfo", "Journal", "JournalEntry", "JournalReport"]

_T = TypeVar("_T")

_FINAL_DELIVERY = tuple(s.value for s in DeliveryStatus if s.is_final)


class Journal:
    """A send journal in one SQLite file (created on first use). Close it, or use ``with``."""

    def __init__(
        self, path: str | PathLike[str], *, busy_timeout: float = C.JOURNAL_BUSY_TIMEOUT,
        accept_lost_wal: bool = False,
    ) -> None:
        """``accept_lost_wal``: open a journal whose ``-wal`` file is missing although a run
        was live (see :class:`JournalWalMissingError`), accepting that recipients that run
        marked in flight may be texted again; the journal is then taken as it is."""
        self.path = Path(path)
        self._busy_timeout = busy_timeout
        self._lock = threading.RLock()
        self._suppressed: set[str] | None = None
        self._data_version: int | None = None
        self._refresh_at = 0.0
        # Looked at before connecting: the connection itself creates an empty log.
        wal_present = Path(f"{self.path}-wal").exists()
        try:
            self._conn = sqlite3.connect(
                str(self.path), timeout=busy_timeout, isolation_level=None,
                check_same_thread=False,
            )
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            prepare_schema(self._conn, str(self.path))
            self._check_runs(wal_present=wal_present, accept_lost_wal=accept_lost_wal)
        except sqlite3.Error as exc:
            self._close_quietly()
            raise JournalError(
                f"{self.path} cannot be used as an smsbridge journal ({exc}); pass the path of "
                "a journal file or of a new file to create"
            ) from None
        except JournalError:
            self._close_quietly()
            raise

    def _close_quietly(self) -> None:
        conn: sqlite3.Connection | None = getattr(self, "_conn", None)
        if conn is not None:
            with contextlib.suppress(sqlite3.Error):
                conn.close()

    def _check_runs(self, *, wal_present: bool, accept_lost_wal: bool) -> None:
        """Refuse a journal whose main file holds a live run but whose log is missing; clear
        the rows of runs that are provably gone when the log is there (their data is whole)."""
        runs = live_runs(self._conn)
        if not runs:
            return
        if not wal_present and not accept_lost_wal:
            run = runs[0]
            name = self.path.name
            raise JournalWalMissingError(
                f"{self.path} is missing its write-ahead log {name}-wal, and a run of job "
                f"{run.job_id!r} ({run.describe()}) did not finish cleanly: the recipients it "
                f"marked in flight since its last checkpoint are lost, and resuming could text "
                f"them twice. A journal is three files that travel together: {name}, "
                f"{name}-wal and {name}-shm — copy or restore all three. If the -wal file is "
                "gone for good (or another SQLite program opened the journal since the crash, "
                "which folds the log into the file), open it with accept_lost_wal=True (CLI: "
                "smsbridge resume --accept-lost-wal) to take the journal as it is"
            )
        now = time.time()
        gone = [run for run in runs if not wal_present or is_gone(run, now)]
        if not wal_present:
            logger.warning("%s: opened without its -wal file (accept_lost_wal); recipients the "
                           "unfinished run marked in flight may be texted again", self.path)
        with self._lock:
            for run in gone:
                end_run(self._conn, run.job_id, run.run_id)

    def __repr__(self) -> str:
        return f"Journal({str(self.path)!r})"

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _query(self, sql: str, args: tuple[Any, ...] = ()) -> list[Any]:
        with self._lock:
            try:
                return self._conn.execute(sql, args).fetchall()
            except sqlite3.Error as exc:
                raise JournalError(f"reading the journal {self.path} failed ({exc})") from None

    def _write(self, sql: str, args: tuple[Any, ...] = ()) -> int:
        return self._call("writing", lambda conn: conn.execute(sql, args).rowcount)

    def _call(self, doing: str, work: Callable[[sqlite3.Connection], _T]) -> _T:
        with self._lock:
            try:
                return work(self._conn)
            except sqlite3.Error as exc:
                raise JournalError(f"{doing} the journal {self.path} failed ({exc})") from None

    # --- jobs ---------------------------------------------------------------------------

    def jobs(self) -> list[JobInfo]:
        """Every job in the journal, most recently updated first."""
        rows = self._query("SELECT * FROM jobs ORDER BY updated_at DESC, rowid DESC")
        return [job_from_row(row) for row in rows]

    def job(self, job_id: str | None = None) -> JobInfo:
        """One job (default: the most recently updated). Raises ConfigurationError if absent."""
        if job_id is None:
            rows = self._query("SELECT * FROM jobs ORDER BY updated_at DESC, rowid DESC LIMIT 1")
        else:
            rows = self._query("SELECT * FROM jobs WHERE job_id = ?", (job_id,))
        if not rows:
            what = f"no job {job_id!r}" if job_id else "no job"
            raise ConfigurationError(f"the journal {self.path} has {what}; run a job with it first")
        return job_from_row(rows[0])

    def recipients(
        self, job_id: str | None = None, *, state: str | None = None
    ) -> Iterator[JournalEntry]:
        """The recipients of a job recorded so far (optionally one state), ordered by key:
        entries with no number of their own (invalid, duplicates; keyed ``#<position>``)
        first, then by number."""
        job = self.job(job_id)
        where = " AND state = ?" if state is not None else ""
        first = f"SELECT * FROM recipients WHERE job_id = ? AND phone >= ?{where}"
        after = f"SELECT * FROM recipients WHERE job_id = ? AND phone > ?{where}"
        sql, last = first, ""  # the first page includes a key of "" (older journals)
        while True:  # keyset pages along the primary key: never a million rows in memory
            args: tuple[Any, ...] = (job.job_id, last) + ((str(state),) if state else ())
            rows = self._query(sql + " ORDER BY phone LIMIT 1000", args)
            sql = after
            if not rows:
                return
            for row in rows:
                yield JournalEntry.from_row(row)
            last = rows[-1][1]

    def source(self, job_id: str | None = None) -> Iterator[Any]:
        """The job's recipients as stored (``"+1..."`` or ``Recipient``), in source order."""
        from ..models import Recipient

        job = self.job(job_id)
        chunk = -1
        while True:
            rows = self._query(
                "SELECT chunk, items FROM job_sources WHERE job_id = ? AND chunk > ? "
                "ORDER BY chunk LIMIT 16", (job.job_id, chunk))
            if not rows:
                return
            for _chunk, items in rows:
                for phone, variables in json.loads(items):
                    yield Recipient(phone, variables) if variables else phone
            chunk = rows[-1][0]

    @property
    def location(self) -> str:
        """The journal's file, for reports."""
        return str(self.path)

    async def find_job(self, job_id: str | None = None) -> JobInfo:
        return self.job(job_id)

    def job_source(self, job_id: str) -> Iterator[Any]:
        return self.source(job_id)

    async def stored_count(self, job_id: str) -> int:
        """How many entries of the job's source are stored."""
        try:
            rows = self._query("SELECT coalesce(sum(json_array_length(items)), 0) "
                               "FROM job_sources WHERE job_id = ?", (job_id,))
            return int(rows[0][0])
        except JournalError:  # an SQLite built without JSON functions
            return sum(1 for _ in self.source(job_id))

    def report(self, job_id: str | None = None) -> JournalReport:
        """Summarise a job without sending anything: states, reasons and delivery counts."""
        job = self.job(job_id)
        jid = (job.job_id,)
        states = dict(self._query(
            "SELECT state, count(*) FROM recipients WHERE job_id = ? GROUP BY state", jid))
        reasons = dict(self._query(
            "SELECT reason, count(*) FROM recipients WHERE job_id = ? AND reason IS NOT NULL "
            "GROUP BY reason", jid))
        if job.duplicates:  # a journal before schema 2: duplicates were counted, not rows
            reasons["duplicate"] = reasons.get("duplicate", 0) + job.duplicates
        finals = ", ".join("?" * len(_FINAL_DELIVERY))
        delivered, delivery_failed, awaiting = self._query(
            "SELECT coalesce(sum(delivery_status = 'delivered'), 0), "
            "coalesce(sum(delivery_status = 'failed'), 0), "
            f"coalesce(sum(state = 'sent' AND (delivery_status IS NULL OR delivery_status "
            f"NOT IN ({finals}))), 0) FROM recipients WHERE job_id = ?",
            (*_FINAL_DELIVERY, job.job_id))[0]
        return JournalReport(
            job=job, states=states, reasons=reasons, delivered=delivered,
            delivery_failed=delivery_failed, awaiting=awaiting,
            entries=lambda state=None: self.recipients(job.job_id, state=state),
        )

    # --- the job store the dispatcher uses (see journal.protocol.JobStore) -----------------

    async def resolve_job(self, spec: JobSpec, job_id: str | None) -> tuple[str, bool]:
        """(job_id, has recorded recipients). Same content and no job_id => the same job."""
        return self._resolve_job(spec, job_id)

    def _resolve_job(self, spec: JobSpec, job_id: str | None) -> tuple[str, bool]:
        """(job_id, has recorded recipients). Same content and no job_id => the same job."""
        fingerprint = spec.fingerprint()
        job_id = job_id or f"job-{fingerprint[:16]}"
        rows = self._query("SELECT fingerprint FROM jobs WHERE job_id = ?", (job_id,))
        if rows and rows[0][0] != fingerprint:
            raise ConfigurationError(
                f"job {job_id!r} in {self.path} was started with a different message "
                "(body, sender, attachments, options, segment limit or smart encoding); pass a "
                "new job_id to start another "
                "job, or resend the original message to resume this one"
            )
        recorded = bool(rows) and bool(self._query(
            "SELECT 1 FROM recipients WHERE job_id = ? LIMIT 1", (job_id,)))
        return job_id, recorded

    async def lookup(self, job_id: str, keys: Sequence[str]) -> dict[str, Prior]:
        return self._call("reading", lambda conn: lookup_rows(conn, job_id, keys))

    async def begin_job(
        self, spec: JobSpec, *, job_id: str | None, provider: str, settings: Mapping[str, Any],
        total: int | None, replace_source: bool, run_id: str,
    ) -> tuple[str, bool]:
        """Create or reopen a job (status ``running``) and register ``run_id`` as its one live
        run; returns (job_id, resumed). Raises JobBusyError while another run is live."""
        fingerprint = spec.fingerprint()
        now = time.time()
        with self._lock:
            job_id, resumed = self._resolve_job(spec, job_id)
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                taken_over = begin_run(self._conn, job_id, run_id, now, str(self.path))
                self._conn.execute(
                    "INSERT INTO jobs (job_id, fingerprint, provider, spec, settings, status, "
                    "total, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'running', ?, ?, ?) "
                    "ON CONFLICT (job_id) DO UPDATE SET provider = excluded.provider, "
                    "settings = excluded.settings, status = 'running', duplicates = 0, "
                    "total = coalesce(excluded.total, jobs.total), "
                    "updated_at = excluded.updated_at",
                    (job_id, fingerprint, provider, dumps(spec.to_json()), dumps(dict(settings)),
                     total, now, now))
                if replace_source:
                    self._conn.execute("DELETE FROM job_sources WHERE job_id = ?", (job_id,))
                    self._conn.execute(
                        "UPDATE jobs SET source_complete = 0 WHERE job_id = ?", (job_id,))
                self._conn.execute("COMMIT")
            except JobBusyError:
                self._conn.execute("ROLLBACK")
                raise
            except sqlite3.Error as exc:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                forget_local(run_id)
                raise JournalError(f"starting job {job_id!r} in {self.path} failed ({exc})") \
                    from None
            # The run's row is the lost-WAL marker: it must reach the main file, not only the log.
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        if taken_over is not None:
            logger.warning("job %s: took over from a run that is gone (%s)", job_id,
                           taken_over.describe())
        return job_id, resumed

    def open_session(
        self, job_id: str, run_id: str, *, resend_unknown: bool, retry_failed: bool = False
    ) -> JobSession:
        """A run's write session: group commit once per turn of the running loop."""
        writer = GroupWriter(self._conn, self._lock, asyncio.get_running_loop(), str(self.path),
                             busy_timeout=self._busy_timeout)
        return JobSession(writer, job_id, run_id, resend_unknown=resend_unknown,
                          retry_failed=retry_failed)

    # --- webhooks: deliveries and event ids ---------------------------------------------

    def record_delivery(
        self,
        provider: str,
        message_id: str,
        status: DeliveryStatus,
        *,
        raw_status: str | None = None,
        occurred_at: datetime | None = None,
        error_code: str | None = None,
        to: str | None = None,
    ) -> bool:
        """Store a delivery status on the recipient sent as ``message_id``; False if none.

        A final status (delivered / failed) is never replaced by a late intermediate one, and
        an older event never replaces a newer one.

        ``to`` (the event's recipient number) reconciles an UNKNOWN send: when no row has
        this message id, the one row of this provider and number whose send is UNKNOWN, has
        no message id and was attempted before ``occurred_at`` gets the id and becomes SENT
        with reason ``"reconciled"`` — the provider's own report proves it accepted the
        message, so it is never resent. Ambiguous matches are left alone (see
        ``journal.reconcile``); ``report().reconciled`` counts the reconciled rows.
        """
        status = DeliveryStatus.parse(status)
        when = occurred_at.timestamp() if occurred_at is not None else time.time()
        is_final = status.is_final
        finals = ", ".join("?" * len(_FINAL_DELIVERY))
        with self._lock:
            matched = self._query(
                "SELECT count(*) FROM recipients WHERE provider = ? AND message_id = ?",
                (provider, message_id))[0][0]
            if not matched and not (to and self._reconcile(provider, message_id, to,
                                                           occurred_at)):
                return False
            self._write(
                "UPDATE recipients SET delivery_status = ?, delivery_raw_status = ?, "
                "delivery_error_code = ?, delivery_at = ? WHERE provider = ? AND message_id = ? "
                "AND (delivery_status IS NULL OR (? AND delivery_status NOT IN "
                f"({finals})) OR ((? OR delivery_status NOT IN ({finals})) "
                "AND coalesce(delivery_at, 0) <= ?))",
                (status.value, raw_status, error_code, when, provider, message_id, is_final,
                 *_FINAL_DELIVERY, is_final, *_FINAL_DELIVERY, when))
        return True

    def _reconcile(
        self, provider: str, message_id: str, to: str, occurred_at: datetime | None
    ) -> bool:
        try:
            phone = normalize(to)
        except InvalidPhoneNumber:
            return False
        when = occurred_at.timestamp() if occurred_at is not None else None
        return self._call("writing", lambda conn: reconcile(
            conn, provider, message_id, phone, when, skew=C.JOURNAL_RECONCILE_CLOCK_SKEW))

    def mark_event_seen(self, event_id: str) -> bool:
        """True the first time ``event_id`` is seen, False for every replay."""
        return self._write("INSERT OR IGNORE INTO seen_events VALUES (?, ?)",
                           (event_id, time.time())) == 1

    def forget_event(self, event_id: str) -> None:
        """Undo :meth:`mark_event_seen` (the handler failed; the provider's retry must apply)."""
        self._write("DELETE FROM seen_events WHERE event_id = ?", (event_id,))

    # --- suppression (opt-outs) ---------------------------------------------------------

    def suppress(
        self, phone: str, *, reason: str = "opted_out", source: str | None = None,
        occurred_at: datetime | None = None,
    ) -> bool:
        """Add a number to the suppression list; every later job skips it (``opted_out``).

        ``occurred_at`` is when the opt-out happened (default: now). Opt-outs and opt-ins are
        applied in the order they happened, not the order they arrive: an opt-out older than
        the number's latest opt-in is ignored (returns False); one at the same time or later
        always applies (returns True) — a tie keeps the number suppressed.
        """
        number = normalize(phone)
        when = _event_time(occurred_at)

        def write(conn: sqlite3.Connection) -> bool:
            row = conn.execute("SELECT occurred_at FROM opt_ins WHERE phone = ?",
                               (number,)).fetchone()
            applied = row is None or when >= row[0]
            if applied:
                conn.execute(
                    "INSERT INTO suppressions (phone, reason, source, created_at, "
                    "occurred_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (phone) DO UPDATE "
                    "SET reason = excluded.reason, source = excluded.source, "
                    "occurred_at = max(coalesce(suppressions.occurred_at, "
                    "suppressions.created_at), excluded.occurred_at)",
                    (number, reason, source, time.time(), when))
                conn.execute("DELETE FROM opt_ins WHERE phone = ?", (number,))
            return applied

        with self._lock:
            applied = self._call("writing", _in_transaction(write))
            if applied and self._suppressed is not None:
                self._suppressed.add(number)
        return applied

    def unsuppress(self, phone: str, *, occurred_at: datetime | None = None) -> bool:
        """Remove a number from the suppression list (an opt-in at ``occurred_at``, default
        now). Ignored, returning False, when the number's opt-out on record happened at the
        same time or later: a later opt-out always wins over an earlier opt-in."""
        number = normalize(phone)
        when = _event_time(occurred_at)

        def write(conn: sqlite3.Connection) -> bool:
            row = conn.execute(
                "SELECT coalesce(occurred_at, created_at) FROM suppressions "
                "WHERE phone = ?", (number,)).fetchone()
            applied = row is None or when > row[0]
            if applied:
                conn.execute("DELETE FROM suppressions WHERE phone = ?", (number,))
                conn.execute(
                    "INSERT INTO opt_ins VALUES (?, ?) ON CONFLICT (phone) DO UPDATE "
                    "SET occurred_at = max(opt_ins.occurred_at, excluded.occurred_at)",
                    (number, when))
            return applied

        with self._lock:
            applied = self._call("writing", _in_transaction(write))
            if applied and self._suppressed is not None:
                self._suppressed.discard(number)
        return applied

    def is_suppressed(self, phone: str) -> bool:
        return bool(self._query("SELECT 1 FROM suppressions WHERE phone = ?",
                                (normalize(phone),)))

    def suppressed(self) -> set[str]:
        return {row[0] for row in self._query("SELECT phone FROM suppressions")}

    def opted_out(self, phone: str) -> bool:
        """The dispatcher's per-recipient check: an in-memory set, re-read at most once a
        second, and only when another connection (another process) changed the database."""
        now = time.monotonic()
        if self._suppressed is None or now >= self._refresh_at:
            self._refresh_at = now + C.JOURNAL_SUPPRESSION_REFRESH
            version = self._query("PRAGMA data_version")[0][0]
            if self._suppressed is None or version != self._data_version:
                self._data_version = version
                fresh = self.suppressed()
                with self._lock:
                    self._suppressed = fresh
        return phone in self._suppressed


def _event_time(occurred_at: datetime | None) -> float:
    """An event's time as a timestamp; a naive datetime is taken as UTC (providers send UTC)."""
    if occurred_at is None:
        return time.time()
    if occurred_at.tzinfo is None:
        occurred_at = occurred_at.replace(tzinfo=UTC)
    return occurred_at.timestamp()


def _in_transaction(body: Callable[[sqlite3.Connection], _T]) -> Callable[[sqlite3.Connection], _T]:
    """``body`` run in one write transaction: its reads and writes see no other writer between
    them (an opt-out and an opt-in compared and applied atomically)."""

    def run(conn: sqlite3.Connection) -> _T:
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = body(conn)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return result

    return run
