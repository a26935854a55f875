"""Every entry of a job's source has its own journal row: invalid ones and duplicates too."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from smsbridge import Dispatcher, Message, OutcomeStatus, Recipient
from smsbridge.journal.store import Journal
from smsbridge.testing import FakeProvider

# Two blank phone cells (as a CSV row ",b" gives), the same typo twice, a number and its
# duplicate written another way, and a second valid number.
ENTRIES = [Recipient("", {"name": "b"}), Recipient("", {"name": "c"}),
           Recipient("oops", {"name": "d"}), Recipient("oops", {"name": "e"}),
           Recipient("+13035550100", {"name": "f"}), Recipient("(303) 555-0100", {"name": "g"}),
           Recipient("+13035550101", {"name": "h"})]


async def test_blank_and_repeated_invalid_entries_do_not_make_a_finished_job_look_unfinished(
    journal_path: Path,
) -> None:
    fake = FakeProvider()
    report = await Dispatcher(fake, journal=journal_path).send(
        Message(to=ENTRIES, body="Hi {name}"))

    assert [o.reason for o in report] == ["invalid_number"] * 4 + [None, "duplicate", None]
    with Journal(journal_path) as journal:
        summary = journal.report()
        entries = list(journal.recipients())
    assert summary.complete and summary.pending == 0
    assert (summary.sent, summary.failed, summary.unknown, summary.skipped) == (2, 0, 0, 5)
    assert summary.sent + summary.failed + summary.unknown + summary.skipped == summary.total == 7
    assert summary.reasons == {"invalid_number": 4, "duplicate": 1}
    assert len(entries) == 7  # one row per entry, none merged
    positional = sorted((e.key, e.phone, e.reason) for e in entries if e.key.startswith("#"))
    assert positional == [("#0", "", "invalid_number"), ("#1", "", "invalid_number"),
                          ("#2", "oops", "invalid_number"), ("#3", "oops", "invalid_number"),
                          ("#5", "+13035550100", "duplicate")]


async def test_rerunning_a_finished_job_adds_no_rows_and_reports_the_entries_as_before(
    journal_path: Path,
) -> None:
    message = Message(to=ENTRIES, body="Hi {name}")
    await Dispatcher(FakeProvider(), journal=journal_path).send(message)
    again = FakeProvider()
    report = await Dispatcher(again, journal=journal_path).send(message)

    assert again.calls == 0
    assert report.reasons() == {"invalid_number": 4, "duplicate": 1, "already_sent": 2}
    with Journal(journal_path) as journal:
        summary = journal.report()
        assert len(list(journal.recipients())) == 7
    assert summary.complete and dict(summary.counts) == {
        "sent": 2, "failed": 0, "unknown": 0, "skipped": 5, "in_flight": 0, "pending": 0}


async def test_a_cancelled_stream_counts_the_duplicates_it_read_and_resumes_to_a_full_count(
    journal_path: Path, numbers: Callable[..., list[str]],
) -> None:
    # every number twice in a row: half the entries are duplicates
    source = [n for n in numbers(30) for _ in range(2)]
    fake = FakeProvider(latency=0.02)
    async with Dispatcher(fake, concurrency=2, journal=journal_path).stream(
            iter(source), body="Hi") as outcomes:
        async for _ in outcomes:
            if fake.accepted_count() >= 5:
                break
    with Journal(journal_path) as journal:
        cut = journal.report()
    assert not cut.complete
    assert (cut.sent + cut.failed + cut.unknown + cut.skipped + cut.in_flight + cut.pending
            == cut.total)

    rest = Dispatcher(FakeProvider(), journal=journal_path, job_id=cut.job.job_id)
    assert len([o async for o in rest.stream(iter(source), body="Hi")]) == 60
    with Journal(journal_path) as journal:
        done = journal.report()
    assert done.complete and (done.sent, done.skipped, done.total) == (30, 30, 60)


def _v1_journal(path: Path) -> None:
    """A journal as schema 1 wrote it: duplicates counted on the job, invalid rows keyed by
    their raw text (a blank cell as "")."""
    now = time.time()
    with sqlite3.connect(path) as conn:
        conn.executescript("""
            CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            INSERT INTO meta VALUES ('schema', '1');
            CREATE TABLE jobs (
                job_id TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, provider TEXT,
                spec TEXT NOT NULL, settings TEXT NOT NULL DEFAULT '{}', status TEXT NOT NULL,
                total INTEGER, source_complete INTEGER NOT NULL DEFAULT 0,
                duplicates INTEGER NOT NULL DEFAULT 0, created_at REAL NOT NULL,
                updated_at REAL NOT NULL, finished_at REAL);
            CREATE TABLE recipients (
                job_id TEXT NOT NULL, phone TEXT NOT NULL, seq INTEGER, variables TEXT,
                state TEXT NOT NULL, reason TEXT, error TEXT, provider TEXT, message_id TEXT,
                attempts INTEGER NOT NULL DEFAULT 0, batch_id TEXT, run_id TEXT,
                created_at REAL NOT NULL, updated_at REAL NOT NULL,
                delivery_status TEXT, delivery_raw_status TEXT, delivery_error_code TEXT,
                delivery_at REAL, PRIMARY KEY (job_id, phone));
        """)
        conn.execute("INSERT INTO jobs VALUES ('old', 'f', 'fake', '{\"body\": \"Hi\"}', '{}', "
                     "'finished', 3, 1, 1, ?, ?, ?)", (now, now, now))
        for phone, state, reason in (("", "skipped", "invalid_number"),
                                     ("+13035550100", "sent", None)):
            conn.execute("INSERT INTO recipients (job_id, phone, state, reason, provider, "
                         "created_at, updated_at) VALUES ('old', ?, ?, ?, 'fake', ?, ?)",
                         (phone, state, reason, now, now))


def test_a_schema_1_journal_is_migrated_and_still_adds_up(journal_path: Path) -> None:
    _v1_journal(journal_path)
    with Journal(journal_path) as journal:
        summary = journal.report("old")
        entries = list(journal.recipients("old"))
    assert [e.phone for e in entries] == ["", "+13035550100"]  # the blank key is listed too
    assert summary.complete and (summary.sent, summary.skipped, summary.total) == (1, 2, 3)
    assert summary.reasons == {"invalid_number": 1, "duplicate": 1}
    with sqlite3.connect(journal_path) as conn:
        assert conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone() == ("3",)


async def test_the_api_and_the_journal_agree_on_every_outcome_of_a_streamed_job(
    journal_path: Path,
) -> None:
    async def source():  # type: ignore[no-untyped-def]
        for entry in ENTRIES:
            await asyncio.sleep(0)
            yield entry

    outcomes = [o async for o in Dispatcher(FakeProvider(), journal=journal_path).stream(
        source(), body="Hi {name}")]
    with Journal(journal_path) as journal:
        summary = journal.report()
    by_status = {s: sum(o.status is s for o in outcomes) for s in OutcomeStatus}
    assert summary.complete and summary.total == len(outcomes) == 7
    assert (summary.sent, summary.skipped) == (by_status[OutcomeStatus.SENT],
                                               by_status[OutcomeStatus.SKIPPED])
