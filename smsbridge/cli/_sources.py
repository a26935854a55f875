"""Where a CLI job's recipients came from, kept in the journal file next to the journal's tables.

A bulk job streams its CSV: the journal stores recipients as they are read, so after a crash or
Ctrl-C it may hold only part of the file. ``smsbridge resume`` then needs the CSV again; this
module remembers it (absolute path, phone column, region, size and mtime) in a table of its own,
written before the first send, so ``resume JOURNAL`` needs nothing but the credentials.

The CLI also names its jobs from the message *and* the CSV file, so running the same ``bulk``
command again resumes that job, while the same body sent to another file is another job.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Collection
from contextlib import closing
from pathlib import Path
from typing import Any

import attrs

from ..errors import JournalError
from ..journal.store import Journal
from ._csv import STDIN, CsvRecipients

_TABLE = "smsbridge_cli_sources"
_SCHEMA = (
    f"CREATE TABLE IF NOT EXISTS {_TABLE} (job_id TEXT PRIMARY KEY, path TEXT NOT NULL, "
    "phone_column TEXT NOT NULL, region TEXT, size INTEGER, mtime REAL, encoding TEXT)"
)
# Tables written by 0.1.0 have no encoding column (those files were read as UTF-8).
_ADD_ENCODING = f"ALTER TABLE {_TABLE} ADD COLUMN encoding TEXT"
_BUSY_TIMEOUT = 5.0


@attrs.frozen(slots=True)
class CsvSource:
    path: str
    phone_column: str
    region: str | None
    size: int | None
    mtime: float | None
    encoding: str | None = None

    def changed(self) -> bool:
        """True when the file is not the one the job started with (size or mtime differ)."""
        stat = Path(self.path).stat()
        return (stat.st_size, stat.st_mtime) != (self.size, self.mtime)

    def open(self, variables: Collection[str] | None = None) -> CsvRecipients:
        return CsvRecipients(self.path, phone_column=self.phone_column, variables=variables,
                             encoding=self.encoding or "utf-8-sig", region=self.region)


def cli_job_id(message: dict[str, Any], source: CsvRecipients) -> str:
    """``job-<hash>`` of the message content and the CSV's absolute path and phone column."""
    where = source.path if source.path == STDIN else str(Path(source.path).resolve())
    content = {
        "body": message["body"],
        "sender": message.get("sender"),
        "attachments": [[a.url, a.content_type] for a in message.get("attachments", ())],
        "options": message.get("options") or {},
        "csv": where,
        "phone_column": source.phone_column,
    }
    # Only when set: the id of a job without them is what it always was.
    for key in ("max_segments", "smart_encoding"):
        if message.get(key):
            content[key] = message[key]
    digest = hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode())
    return f"job-{digest.hexdigest()[:16]}"


def remember(journal: str, job_id: str, source: CsvRecipients, region: str | None) -> None:
    """Record the CSV of ``job_id`` (not for stdin: it cannot be read twice)."""
    if source.path == STDIN:
        return
    path = Path(source.path).resolve()
    stat = path.stat()
    _execute(
        journal,
        f"INSERT OR REPLACE INTO {_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?)",
        (job_id, str(path), source.phone_column, region, stat.st_size, stat.st_mtime,
         source.encoding),
    )


def recall(journal: str, job_id: str) -> CsvSource | None:
    rows = _execute(
        journal,
        f"SELECT path, phone_column, region, size, mtime, encoding FROM {_TABLE} "
        "WHERE job_id = ?",
        (job_id,),
    )
    return CsvSource(*rows[0]) if rows else None


def _execute(journal: str, sql: str, args: tuple[Any, ...]) -> list[Any]:
    # Open it as a Journal first: after a crash its -wal file is checked, and the gone run's
    # marker cleared, before this plain connection (closing last) folds the log into the file.
    Journal(journal).close()
    try:
        with closing(sqlite3.connect(journal, timeout=_BUSY_TIMEOUT)) as conn, conn:
            conn.execute(_SCHEMA)
            columns = {row[1] for row in conn.execute(f"PRAGMA table_info({_TABLE})")}
            if "encoding" not in columns:
                conn.execute(_ADD_ENCODING)
            return conn.execute(sql, args).fetchall()
    except sqlite3.Error as exc:
        raise JournalError(f"the journal {journal} cannot be used ({exc})") from None
