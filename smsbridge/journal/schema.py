"""The journal's SQLite schema, and the migrations that bring an older journal up to date."""

from __future__ import annotations

import sqlite3

from ..errors import JournalError

SCHEMA_VERSION = 3
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (
    job_id TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, provider TEXT, spec TEXT NOT NULL,
    settings TEXT NOT NULL DEFAULT '{}', status TEXT NOT NULL, total INTEGER,
    source_complete INTEGER NOT NULL DEFAULT 0, duplicates INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL, updated_at REAL NOT NULL, finished_at REAL);
CREATE TABLE IF NOT EXISTS job_sources (
    job_id TEXT NOT NULL, chunk INTEGER NOT NULL, items TEXT NOT NULL,
    PRIMARY KEY (job_id, chunk)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS recipients (
    job_id TEXT NOT NULL, phone TEXT NOT NULL, seq INTEGER, variables TEXT,
    state TEXT NOT NULL, reason TEXT, error TEXT, provider TEXT, message_id TEXT,
    attempts INTEGER NOT NULL DEFAULT 0, batch_id TEXT, run_id TEXT,
    created_at REAL NOT NULL, updated_at REAL NOT NULL,
    delivery_status TEXT, delivery_raw_status TEXT, delivery_error_code TEXT, delivery_at REAL,
    input TEXT, attempted_at REAL,
    PRIMARY KEY (job_id, phone));
CREATE INDEX IF NOT EXISTS recipients_message ON recipients (provider, message_id)
    WHERE message_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS seen_events (event_id TEXT PRIMARY KEY, seen_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS suppressions (
    phone TEXT PRIMARY KEY, reason TEXT, source TEXT, created_at REAL NOT NULL,
    occurred_at REAL);
CREATE TABLE IF NOT EXISTS opt_ins (phone TEXT PRIMARY KEY, occurred_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    job_id TEXT PRIMARY KEY, run_id TEXT NOT NULL, host TEXT NOT NULL, pid INTEGER NOT NULL,
    started_at REAL NOT NULL, heartbeat_at REAL NOT NULL);
"""
# Schema 2: an entry with no number of its own (invalid, duplicate) is a row keyed by its
# position that keeps the entry as given (``input``); ``attempted_at`` is when the last send
# attempt was marked in flight (delivery reconciliation matches on it).
# Schema 3: opt-outs and opt-ins are ordered by the events' own times, not by arrival, so a
# suppression keeps the time its opt-out happened (``occurred_at``; before, only when it was
# stored) and ``opt_ins`` keeps the latest opt-in per number (before, an opt-in left no trace),
# which an older, redelivered opt-out must not override. ``runs`` holds each job's live run
# (see ``journal.runs``); a schema-2 smsbridge would ignore it, so the version bump keeps it out.
_MIGRATIONS = {
    1: ("ALTER TABLE recipients ADD COLUMN input TEXT",
        "ALTER TABLE recipients ADD COLUMN attempted_at REAL"),
    2: ("ALTER TABLE suppressions ADD COLUMN occurred_at REAL",
        "UPDATE suppressions SET occurred_at = created_at"),
}


def prepare_schema(conn: sqlite3.Connection, path: str) -> None:
    """Create the tables of a new journal, or migrate an older one (once, under a write lock).
    Raises JournalError for a journal written by a newer smsbridge."""
    conn.executescript(_SCHEMA)
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
    if row is None:
        conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
        return
    version = int(row[0])
    if version > SCHEMA_VERSION:
        raise JournalError(
            f"{path} was written by a newer smsbridge (journal schema {row[0]}); "
            "upgrade smsbridge to read it"
        )
    if version < SCHEMA_VERSION:
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Re-read under the write lock: another process may have migrated meanwhile.
            now = int(conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()[0])
            for step in range(now, SCHEMA_VERSION):
                for statement in _MIGRATIONS[step]:
                    if not _has_column_added_by(conn, statement):
                        conn.execute(statement)
            conn.execute("UPDATE meta SET value = ? WHERE key = 'schema'",
                         (str(SCHEMA_VERSION),))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise


def _has_column_added_by(conn: sqlite3.Connection, statement: str) -> bool:
    """True when ``statement`` adds a column the table already has: a table an older journal
    lacked is created above in its current form, so a later step must not add to it again."""
    words = statement.split()
    if words[:2] != ["ALTER", "TABLE"] or words[3:5] != ["ADD", "COLUMN"]:
        return False
    columns = {row[1] for row in conn.execute(f"PRAGMA table_info({words[2]})")}
    return words[5] in columns
