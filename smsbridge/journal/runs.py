"""One live run per job, and the marker that tells a lost ``-wal`` file from a clean journal.

Every run of a job that writes to the journal holds a row in ``runs``: its host, pid, start time
and a heartbeat refreshed every ``JOURNAL_RUN_HEARTBEAT`` seconds. A second run of the same job
is refused (:class:`JobBusyError`) while the first is live; it takes over only when the first is
provably gone: on this host with its process dead (or, in this very process, with its session
closed), or silent for ``JOURNAL_RUN_STALE_AFTER`` seconds on any host.

The same row is the lost-WAL marker. It is checkpointed into the main database file as the run
begins and deleted as the run ends cleanly, so a journal whose main file holds a run's row but
whose ``-wal`` file is missing was copied (or restored) without the log holding that run's latest
claims: a resume from it could text those recipients again (``JournalWalMissingError``).
A journal opened with its ``-wal`` present and a run provably gone loses that run's row: the log
is whole, and SQLite folds it into the main file when the last connection closes.
"""

from __future__ import annotations

import os
import socket
import sqlite3
from datetime import UTC, datetime
from typing import NamedTuple

from .. import _constants as C
from ..errors import JobBusyError

HOST = socket.gethostname()
# Runs of this process whose session has not closed: a row of this pid not in here is a leftover.
_LIVE_HERE: set[str] = set()


class LiveRun(NamedTuple):
    job_id: str
    run_id: str
    host: str
    pid: int
    started_at: float
    heartbeat_at: float

    def describe(self) -> str:
        started = datetime.fromtimestamp(self.started_at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        return f"pid {self.pid} on host {self.host}, started {started}"


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it exists, owned by someone else
        return True
    return True


def is_gone(run: LiveRun, now: float) -> bool:
    """True when the run can no longer be sending: never guessed, only proven."""
    if now - run.heartbeat_at > C.JOURNAL_RUN_STALE_AFTER:
        return True
    if run.host != HOST:
        return False
    if run.pid == os.getpid():
        return run.run_id not in _LIVE_HERE
    return not _pid_alive(run.pid)


def live_runs(conn: sqlite3.Connection, job_id: str | None = None) -> list[LiveRun]:
    sql = "SELECT job_id, run_id, host, pid, started_at, heartbeat_at FROM runs"
    rows = conn.execute(sql + " WHERE job_id = ?", (job_id,)) if job_id else conn.execute(sql)
    return [LiveRun(*row) for row in rows.fetchall()]


def begin_run(
    conn: sqlite3.Connection, job_id: str, run_id: str, now: float, path: str
) -> LiveRun | None:
    """Register this run of ``job_id`` (inside the caller's write transaction). Returns the run
    it took over, if any; raises JobBusyError while another run is live."""
    taken_over: LiveRun | None = None
    for run in live_runs(conn, job_id):
        if not is_gone(run, now):
            raise JobBusyError(
                f"job {job_id!r} in {path} is already running ({run.describe()}, last "
                f"heartbeat {max(0.0, now - run.heartbeat_at):.0f}s ago); wait for it to "
                "finish or stop it, then resume — a run whose process is gone is taken over "
                f"automatically (on another host after {C.JOURNAL_RUN_STALE_AFTER:.0f}s "
                "without a heartbeat)",
                job_id=job_id, host=run.host, pid=run.pid,
                started_at=datetime.fromtimestamp(run.started_at, UTC),
            )
        taken_over = run
    conn.execute(
        "INSERT OR REPLACE INTO runs (job_id, run_id, host, pid, started_at, heartbeat_at) "
        "VALUES (?, ?, ?, ?, ?, ?)", (job_id, run_id, HOST, os.getpid(), now, now))
    _LIVE_HERE.add(run_id)
    return taken_over


def heartbeat(conn: sqlite3.Connection, job_id: str, run_id: str, now: float) -> bool:
    """Refresh the run's heartbeat; False when its row is gone (another run took over)."""
    return conn.execute("UPDATE runs SET heartbeat_at = ? WHERE job_id = ? AND run_id = ?",
                        (now, job_id, run_id)).rowcount == 1


def end_run(conn: sqlite3.Connection, job_id: str, run_id: str) -> None:
    conn.execute("DELETE FROM runs WHERE job_id = ? AND run_id = ?", (job_id, run_id))


def forget_local(run_id: str) -> None:
    """This process no longer runs ``run_id`` (its session closed, or never opened)."""
    _LIVE_HERE.discard(run_id)
