"""Opt-outs and opt-ins in the journal are ordered by when they happened, not when they arrive."""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from smsbridge import Dispatcher, Message
from smsbridge.journal.store import Journal
from smsbridge.testing import FakeProvider

NUMBER = "+13035550100"
T1 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
T2 = T1 + timedelta(minutes=5)


def test_an_older_opt_in_arriving_after_a_newer_opt_out_is_ignored(journal_path: Path) -> None:
    with Journal(journal_path) as journal:
        assert journal.suppress(NUMBER, occurred_at=T2) is True
        assert journal.unsuppress(NUMBER, occurred_at=T1) is False
        assert journal.is_suppressed(NUMBER)
    with Journal(journal_path) as reopened:  # the order is kept in the file, not in memory
        assert reopened.unsuppress(NUMBER, occurred_at=T1) is False
        assert reopened.suppressed() == {NUMBER}


def test_an_older_opt_out_arriving_after_a_newer_opt_in_is_ignored(journal_path: Path) -> None:
    with Journal(journal_path) as journal:
        assert journal.suppress(NUMBER, occurred_at=T1) is True
        assert journal.unsuppress(NUMBER, occurred_at=T2) is True
        assert journal.suppress(NUMBER, occurred_at=T1) is False  # the STOP redelivered
        assert not journal.is_suppressed(NUMBER)
        assert journal.suppress(NUMBER, occurred_at=T2 + timedelta(seconds=1)) is True
        assert journal.is_suppressed(NUMBER)


def test_an_opt_out_and_an_opt_in_at_the_same_time_keep_the_number_suppressed(
    journal_path: Path,
) -> None:
    with Journal(journal_path) as journal:
        assert journal.suppress(NUMBER, occurred_at=T1) is True
        assert journal.unsuppress(NUMBER, occurred_at=T1) is False
        assert journal.is_suppressed(NUMBER)
    other = Path(str(journal_path) + ".2")
    with Journal(other) as journal:  # the other arrival order
        assert journal.unsuppress(NUMBER, occurred_at=T1) is True
        assert journal.suppress(NUMBER, occurred_at=T1) is True
        assert journal.is_suppressed(NUMBER)


def test_a_redelivered_older_opt_out_does_not_move_the_opt_out_time_back(
    journal_path: Path,
) -> None:
    with Journal(journal_path) as journal:
        journal.suppress(NUMBER, occurred_at=T2)
        journal.suppress(NUMBER, occurred_at=T1)
        # An opt-in between T1 and T2 is still older than the opt-out on record (T2).
        assert journal.unsuppress(NUMBER, occurred_at=T1 + timedelta(minutes=1)) is False
        assert journal.is_suppressed(NUMBER)


async def test_a_job_skips_a_number_whose_older_opt_in_arrived_last(journal_path: Path) -> None:
    journal = Journal(journal_path)
    journal.suppress(NUMBER, occurred_at=T2)
    journal.unsuppress(NUMBER, occurred_at=T1)
    fake = FakeProvider()
    report = await Dispatcher(fake, journal=journal).send(
        Message(to=[NUMBER, "+13035550101"], body="Hi"))
    journal.close()
    assert [(o.phone, o.status.value, o.reason) for o in report] == [
        (NUMBER, "skipped", "opted_out"), ("+13035550101", "sent", None)]
    assert list(fake.accepted_numbers()) == ["+13035550101"]


def _v2_journal(path: Path, opted_out_at: float) -> None:
    """The suppression list as schema 2 wrote it: no event time, only when it was stored."""
    with sqlite3.connect(path) as conn:
        conn.executescript("""
            CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            INSERT INTO meta VALUES ('schema', '2');
            CREATE TABLE suppressions (
                phone TEXT PRIMARY KEY, reason TEXT, source TEXT, created_at REAL NOT NULL);
        """)
        conn.execute("INSERT INTO suppressions VALUES (?, 'opted_out', 'textus:keyword', ?)",
                     (NUMBER, opted_out_at))


def test_a_schema_2_journal_is_migrated_in_place_and_keeps_its_opt_outs_in_order(
    journal_path: Path,
) -> None:
    stored = T2.timestamp()
    _v2_journal(journal_path, stored)
    with Journal(journal_path) as journal:
        assert journal.suppressed() == {NUMBER}
        # The old row's storage time stands in for its event time: an opt-in older than
        # that is ignored, a newer one applies.
        assert journal.unsuppress(NUMBER, occurred_at=T1) is False
        assert journal.is_suppressed(NUMBER)
        assert journal.unsuppress(NUMBER, occurred_at=T2 + timedelta(seconds=1)) is True
        assert not journal.is_suppressed(NUMBER)
    with sqlite3.connect(journal_path) as conn:
        assert conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone() == ("3",)


def test_without_an_event_time_the_arrival_time_orders_the_events(journal_path: Path) -> None:
    with Journal(journal_path) as journal:
        assert journal.suppress(NUMBER) is True
        time.sleep(0.01)
        assert journal.unsuppress(NUMBER) is True
        assert not journal.is_suppressed(NUMBER)
