"""One job run's writes to the journal: the per-recipient state machine, in SQL.

``pending`` (in the stored source, or released by a cancelled run) -> ``in_flight`` (committed
before the request goes out) -> ``sent`` / ``failed`` / ``unknown`` / ``skipped``. A claim is
conditional, so two runs of one job can never both send to the same recipient; each run has its
own ``run_id`` so a row left ``in_flight`` by a crashed run is told apart from this run's own.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .. import _constants as C
from .._logging import logger
from ..dispatch.spec import dumps
from ..errors import JournalError
from ..models import Outcome
from .protocol import ClaimEntry, Prior
from .runs import end_run, forget_local, heartbeat
from .writer import GroupWriter, each

CLAIMABLE = ("pending",)
CLAIMABLE_WITH_UNKNOWN = ("pending", "in_flight", "unknown")

_SELECT_PRIOR = (
    "SELECT phone, state, reason, error, provider, message_id, batch_id, attempts, run_id "
    "FROM recipients WHERE job_id = ? AND phone "
)

_FINAL = (
    "INSERT INTO recipients (job_id, phone, seq, variables, state, reason, error, provider, "
    "message_id, attempts, batch_id, run_id, created_at, updated_at, input) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (job_id, phone) DO UPDATE SET state = excluded.state, "
    "reason = excluded.reason, error = excluded.error, provider = excluded.provider, "
    "message_id = excluded.message_id, attempts = recipients.attempts + excluded.attempts, "
    "batch_id = excluded.batch_id, run_id = excluded.run_id, updated_at = excluded.updated_at "
    "WHERE recipients.run_id IS excluded.run_id OR recipients.state = 'pending'"
)


def lookup_rows(conn: sqlite3.Connection, job_id: str, keys: Sequence[str]) -> dict[str, Prior]:
    """The existing rows of ``keys`` in one job."""
    found: dict[str, Prior] = {}
    for start in range(0, len(keys), 500):  # well under SQLite's bound-parameter limit
        part = keys[start:start + 500]
        marks = ", ".join("?" * len(part))
        rows = conn.execute(_SELECT_PRIOR + f"IN ({marks})", (job_id, *part)).fetchall()
        found.update((row[0], Prior(*row[1:])) for row in rows)
    return found


def _message_id(outcome: Outcome) -> str | None:
    return outcome.receipt.message_id if outcome.receipt is not None else None


def _variables(variables: Mapping[str, Any]) -> str | None:
    return dumps(dict(variables)) if variables else None


# A recipient this run claimed: a plain update of its own row (cheaper than an upsert).
_DONE = (
    "UPDATE recipients SET state = ?, reason = ?, error = ?, provider = ?, message_id = ?, "
    "attempts = attempts + ?, batch_id = ?, updated_at = ? "
    "WHERE job_id = ? AND phone = ? AND run_id = ?"
)


# Rows arrive complete (timestamps included) so the writer thread runs no Python per row.
def _write_finals(conn: sqlite3.Connection, _now: float, rows: list[Any]) -> None:
    conn.executemany(_FINAL, rows)


def _write_done(conn: sqlite3.Connection, _now: float, rows: list[Any]) -> None:
    conn.executemany(_DONE, rows)


class JobSession:
    """Queues one run's writes on the journal's :class:`GroupWriter` (a
    :class:`~smsbridge.journal.protocol.RunSession`)."""

    def __init__(
        self, writer: GroupWriter, job_id: str, run_id: str, *, resend_unknown: bool,
        retry_failed: bool = False,
    ) -> None:
        self._writer = writer
        self.job_id = job_id
        self.run_id = run_id
        states = CLAIMABLE_WITH_UNKNOWN if resend_unknown else CLAIMABLE
        if retry_failed:  # FAILED means surely not sent: sending again cannot double-text
            states = (*states, "failed")
        self._claim_sql = (
            "INSERT INTO recipients (job_id, phone, seq, variables, state, attempts, run_id, "
            "created_at, updated_at, attempted_at) "
            "VALUES (?, ?, ?, ?, 'in_flight', 0, ?, ?, ?, ?) "
            "ON CONFLICT (job_id, phone) DO UPDATE SET state = 'in_flight', "
            "run_id = excluded.run_id, updated_at = excluded.updated_at, "
            "attempted_at = excluded.attempted_at "
            f"WHERE recipients.state IN ({', '.join(repr(s) for s in states)})"
        )
        # The run's row in ``runs`` (registered by ``Journal.begin_job``) stays fresh while the
        # run lives, so another process can tell a live run from a dead one.
        self._heartbeat = asyncio.get_running_loop().create_task(
            self._beat(), name="smsbridge-journal-heartbeat")

    # --- the hot path ---------------------------------------------------------------------

    def _write_claims(self, conn: sqlite3.Connection, now: float, rows: list[Any]) -> list[Any]:
        job_id, run_id = self.job_id, self.run_id
        before = conn.total_changes
        conn.executemany(self._claim_sql, rows)
        if conn.total_changes - before == len(rows):
            return [None] * len(rows)  # the usual case: every recipient was free
        keys = [row[1] for row in rows]
        found = lookup_rows(conn, job_id, keys)
        results: list[Prior | None] = []
        for key in keys:
            prior = found[key]
            mine = prior.state == "in_flight" and prior.run_id == run_id
            results.append(None if mine else prior)
        return results

    def claim(self, entries: Sequence[ClaimEntry]) -> asyncio.Future[list[Prior | None]]:
        """Mark recipients in flight; resolves after the commit with None for each claimed one
        and the existing row for each that another run already holds or finished."""
        job_id, run_id, now = self.job_id, self.run_id, time.time()
        rows = [(job_id, key, seq, _variables(variables), run_id, now, now, now)
                for key, seq, variables in entries]
        future = self._writer.submit(self._write_claims, rows, wait=True)
        assert future is not None
        return future

    def final(
        self, key: str, index: int, outcome: Outcome, attempts: int,
        variables: Mapping[str, Any] | None = None,
    ) -> None:
        """Record the outcome of a recipient that was never claimed (a skip, a failed render)."""
        now = time.time()
        phone = outcome.recipient.phone
        row = (
            self.job_id, key, index, _variables(variables) if variables else None,
            outcome.status.value, outcome.reason, outcome.error, outcome.provider,
            _message_id(outcome), attempts, outcome.batch_id, self.run_id, now, now,
            phone if phone != key else None,  # a positional row keeps the entry as given
        )
        self._writer.submit(_write_finals, [row], wait=False)

    def done(self, key: str, outcome: Outcome, attempts: int) -> None:
        """Record the outcome of a recipient this run claimed. Not awaited: a crash before it
        commits leaves the row in flight, which resumes as UNKNOWN — never as a resend."""
        row = (outcome.status.value, outcome.reason, outcome.error, outcome.provider,
               _message_id(outcome), attempts, outcome.batch_id, time.time(), self.job_id, key,
               self.run_id)
        # Independent: its claim committed turns ago, and no other write of this run touches
        # the row after its final state.
        self._writer.submit(_write_done, [row], wait=False, independent=True)

    def _submit(self, write: Callable[[sqlite3.Connection, float], Any]) -> None:
        self._writer.submit(each, [write], wait=False)

    def release(self, key: str, attempts: int) -> None:
        """Hand a claimed recipient back (cancelled before its request went out)."""
        args = (attempts, self.job_id, key, self.run_id)

        def write(conn: sqlite3.Connection, now: float) -> None:
            conn.execute(
                "UPDATE recipients SET state = 'pending', attempts = attempts + ?, "
                "updated_at = ? WHERE job_id = ? AND phone = ? AND state = 'in_flight' "
                "AND run_id = ?",
                (args[0], now, *args[1:]),
            )

        self._submit(write)

    def resolve_interrupted(self, key: str, error: str) -> None:
        """A row a crashed run left in flight becomes ``unknown``: it may have been sent."""
        args = (error, self.job_id, key, self.run_id)

        def write(conn: sqlite3.Connection, now: float) -> None:
            conn.execute(
                "UPDATE recipients SET state = 'unknown', reason = 'interrupted', error = ?, "
                "updated_at = ? WHERE job_id = ? AND phone = ? AND state = 'in_flight' "
                "AND run_id IS NOT ?",
                (args[0], now, *args[1:]),
            )

        self._submit(write)

    # --- resumed jobs and bookkeeping ---------------------------------------------------

    async def lookup(self, keys: Sequence[str]) -> dict[str, Prior]:
        """Existing rows for ``keys`` (read through the writer, so it sees every queued write)."""
        job_id = self.job_id

        def read(conn: sqlite3.Connection, _now: float) -> dict[str, Prior]:
            return lookup_rows(conn, job_id, keys)

        future = self._writer.submit(each, [read], wait=True)
        assert future is not None
        result: list[dict[str, Prior]] = await future
        return result[0]

    def store_source(self, chunk: int, items: list[Any], read_so_far: int) -> None:
        payload = dumps(items)
        job_id = self.job_id

        def write(conn: sqlite3.Connection, now: float) -> None:
            conn.execute(
                "INSERT OR REPLACE INTO job_sources (job_id, chunk, items) VALUES (?, ?, ?)",
                (job_id, chunk, payload),
            )
            conn.execute(
                "UPDATE jobs SET total = max(coalesce(total, 0), ?), updated_at = ? "
                "WHERE job_id = ?", (read_so_far, now, job_id),
            )

        self._submit(write)

    def set_status(
        self, status: str, *, total: int | None = None, source_complete: bool | None = None
    ) -> None:
        job_id = self.job_id

        def write(conn: sqlite3.Connection, now: float) -> None:
            conn.execute(
                "UPDATE jobs SET status = ?, total = coalesce(?, total), "
                "source_complete = coalesce(?, source_complete), updated_at = ?, "
                "finished_at = CASE WHEN ? = 'finished' THEN ? ELSE finished_at END "
                "WHERE job_id = ?",
                (status, total, source_complete, now, status, now, job_id),
            )

        # A broken journal: close() raises its error, and must still run to end the run.
        with contextlib.suppress(JournalError):
            self._submit(write)

    async def _beat(self) -> None:
        job_id, run_id = self.job_id, self.run_id

        def write(conn: sqlite3.Connection, now: float) -> None:
            if not heartbeat(conn, job_id, run_id, now):
                logger.warning("job %s: another run took this run's place in the journal "
                               "(this run's heartbeat was missed for too long)", job_id)

        while True:
            await asyncio.sleep(C.JOURNAL_RUN_HEARTBEAT)
            try:
                self._submit(write)
            except JournalError:  # the journal broke: the job reports it, the beat just stops
                return

    async def close(self) -> None:
        """Commit everything queued and end the run: its row goes, so the job is free."""
        self._heartbeat.cancel()
        await asyncio.wait([self._heartbeat])
        job_id, run_id = self.job_id, self.run_id
        try:
            with contextlib.suppress(JournalError):  # a broken journal: close() raises it
                self._submit(lambda conn, _now: end_run(conn, job_id, run_id))
            await self._writer.close()
            self._writer.checkpoint()  # the marker's removal reaches the main file too
        finally:
            forget_local(run_id)
