"""Group commit for the send journal: one thread writes, workers await only their own marks.

A worker's "in flight" mark must be committed before its request goes out, but a commit per
row on the event loop would cap a job at the disk's commit rate. Instead every mark is queued
to one writer thread that applies everything queued in a single transaction (WAL,
``synchronous=NORMAL``: durable across a process crash) and then resolves the waiting futures
in one event-loop callback. Final states are queued without waiting: a crash before they commit
leaves the row "in flight", which a resumed job reports as UNKNOWN and never resends.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from . import _constants as C
from ._logging import logger
from .errors import JournalError

# A write applies a list of rows and returns one result per row (or None). Consecutive writes
# with the same function are merged into one call, so a thousand workers' marks become one
# ``executemany`` in one transaction.
Write = Callable[[sqlite3.Connection, float, list[Any]], list[Any] | None]
_Op = tuple[Write, list[Any], "asyncio.Future[Any] | None"]
_Done = list[tuple["asyncio.Future[Any]", Any, BaseException | None]]


class GroupWriter:
    """Applies queued writes in batches on a private thread; one transaction per batch."""

    def __init__(
        self,
        connection: sqlite3.Connection,
        lock: threading.RLock,
        loop: asyncio.AbstractEventLoop,
        *,
        max_group: int = C.JOURNAL_MAX_GROUP,
    ) -> None:
        self._conn = connection
        self._lock = lock
        self._loop = loop
        self._max_group = max_group
        self._queue: queue.SimpleQueue[list[_Op] | None] = queue.SimpleQueue()
        self._pending: list[_Op] = []  # queued on the loop, handed over once per loop turn
        self._thread = threading.Thread(target=self._run, name="smsbridge-journal", daemon=True)
        self.error: JournalError | None = None
        self.transactions = 0
        self._thread.start()

    def submit(self, write: Write, rows: list[Any], *, wait: bool) -> asyncio.Future[Any] | None:
        """Queue ``write(connection, now, rows)``; with ``wait`` a future resolves, once it
        committed, to the results for these rows. Call from the event loop's thread."""
        if self.error is not None:
            raise self.error
        future = self._loop.create_future() if wait else None
        if not self._pending:
            self._loop.call_soon(self._hand_over)
        self._pending.append((write, rows, future))
        return future

    def _hand_over(self) -> None:
        # One queue put per loop turn, not per mark: waking the thread costs more than a row.
        if self._pending:
            self._queue.put(self._pending)
            self._pending = []

    async def close(self) -> None:
        """Commit everything queued, then stop the thread. Raises the first write error."""
        done = self._loop.create_future()
        self._pending.append((_noop, [None], done))
        self._hand_over()
        self._queue.put(None)
        try:
            await asyncio.shield(done)
        finally:
            if done.done() and not done.cancelled() and done.exception() is None:
                self._thread.join(timeout=1.0)
        if self.error is not None:
            raise self.error

    def _run(self) -> None:
        stop = False
        while not stop:
            first = self._queue.get()
            batch: list[_Op] = []
            if first is None:
                stop = True
            else:
                batch.extend(first)
            while not stop and len(batch) < self._max_group:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stop = True
                else:
                    batch.extend(nxt)
            if batch:
                self._hand_back(self._apply(batch))

    def _apply(self, batch: Sequence[_Op]) -> _Done:
        done: _Done = []
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                now = time.time()
                start = 0
                while start < len(batch):
                    write = batch[start][0]
                    end = start + 1
                    while end < len(batch) and batch[end][0] is write:
                        end += 1
                    group = batch[start:end]
                    rows = [row for _w, op_rows, _f in group for row in op_rows]
                    results = write(self._conn, now, rows)
                    offset = 0
                    for _write, op_rows, future in group:
                        if future is not None:
                            part = results[offset:offset + len(op_rows)] if results else None
                            done.append((future, part, None))
                        offset += len(op_rows)
                    start = end
                self._conn.execute("COMMIT")
                self.transactions += 1
            except sqlite3.Error as exc:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                if self.error is None:
                    self.error = JournalError(
                        f"the journal could not be written ({exc}); the job stops so that no "
                        "message is sent without a record — free disk space or close the other "
                        "process using the journal, then re-run the job to resume it"
                    )
                    logger.error("journal write failed: %s", exc)
                done = [(future, None, self.error) for _w, _r, future in batch if future]
        return done

    def _hand_back(self, done: _Done) -> None:
        if not done:
            return
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody is waiting any more
            self._loop.call_soon_threadsafe(_resolve, done)


def _noop(_connection: sqlite3.Connection, _now: float, rows: list[Any]) -> list[Any]:
    return rows


def each(connection: sqlite3.Connection, now: float, rows: list[Any]) -> list[Any]:
    """The write for one-off operations: each row is a ``(connection, now) -> result``."""
    return [write(connection, now) for write in rows]


def _resolve(done: Iterable[tuple[asyncio.Future[Any], Any, BaseException | None]]) -> None:
    for future, result, error in done:
        if future.done():
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)
