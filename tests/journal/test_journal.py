"""The SQLite journal: recorded states, reports, deliveries, event ids and suppression."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from smsbridge import (
    ConfigurationError,
    DeliveryStatus,
    Dispatcher,
    InvalidPhoneNumber,
    Message,
    Recipient,
)
from smsbridge import _constants as C
from smsbridge.errors import JournalError
from smsbridge.journal.store import Journal
from smsbridge.testing import FakeProvider


async def test_every_recipient_state_is_recorded_with_ids_attempts_and_reasons(
    journal_path: Path,
) -> None:
    fake = FakeProvider(per_number={"+13035550101": ["reject"],
                                    "+13035550102": ["accepted_then_timeout"]})
    to = ["+13035550100", Recipient("+13035550101", {"name": "Bo"}),
          Recipient("+13035550102", {"name": "Cy"}), "bad", "+13035550100",
          Recipient("+13035550103", {"name": "Ann"})]
    report = await Dispatcher(fake, journal=journal_path).send(
        Message(to=to, body="Hi {name}", sender="+17205550000"))

    assert report.journal_path == str(journal_path)
    with Journal(journal_path) as journal:
        rows = {e.key: e for e in journal.recipients()}
        assert set(rows) == {"+13035550100", "+13035550101", "+13035550102", "#3", "#4",
                             "+13035550103"}  # one row per entry: the number, or the position
        assert (rows["+13035550100"].state, rows["+13035550100"].reason) == (
            "failed", "missing_variable")
        assert (rows["+13035550101"].state, rows["+13035550101"].reason) == ("failed", "rejected")
        assert rows["+13035550102"].state == "unknown"
        assert rows["+13035550102"].reason == "delivery_unknown"
        assert (rows["#3"].phone, rows["#3"].state, rows["#3"].reason) == (
            "bad", "skipped", "invalid_number")
        assert (rows["#4"].phone, rows["#4"].state, rows["#4"].reason) == (
            "+13035550100", "skipped", "duplicate")
        ann = rows["+13035550103"]
        assert (ann.state, ann.provider, ann.attempts) == ("sent", "fake", 1)
        assert ann.message_id is not None and ann.message_id.startswith("fake-")
        assert ann.variables == {"name": "Ann"} and ann.updated_at is not None

        summary = journal.report()
        assert dict(summary.counts) == {"sent": 1, "failed": 2, "unknown": 1, "skipped": 2,
                                        "in_flight": 0, "pending": 0}
        assert summary.job.total == summary.total == 6 == sum(summary.counts.values())
        assert (summary.job.status, summary.job.provider) == ("finished", "fake")
        assert summary.job.spec.sender == "+17205550000" and summary.job.body == "Hi {name}"
        assert summary.complete and summary.reasons["missing_variable"] == 1
        assert [e.phone for e in summary.entries(state="unknown")] == ["+13035550102"]


async def test_the_journal_stores_the_job_spec_and_recipients_but_never_credentials(
    journal_path: Path,
) -> None:
    await Dispatcher(FakeProvider(), journal=journal_path, default_region="US").send(Message(
        to=["+13035550100", Recipient("+13035550101", {"n": 2})], body="Hi",
        options={"lead_id": 7}))
    with Journal(journal_path) as journal:
        job = journal.job()
        assert job.spec.options == {"lead_id": 7} and job.settings["default_region"] == "US"
        assert list(journal.source()) == ["+13035550100", Recipient("+13035550101", {"n": 2})]
    raw = await asyncio.to_thread(journal_path.read_bytes)
    assert b"token" not in raw.lower() and b"secret" not in raw.lower()


async def test_a_job_id_reused_with_another_message_is_refused(journal_path: Path) -> None:
    fake = FakeProvider()
    await Dispatcher(fake, journal=journal_path, job_id="july").send(
        Message(to=["+13035550100"], body="Hi"))
    with pytest.raises(ConfigurationError, match="different message"):
        await Dispatcher(fake, journal=journal_path, job_id="july").send(
            Message(to=["+13035550100"], body="Bye"))
    # Without a job id, another message is simply another job in the same journal.
    await Dispatcher(fake, journal=journal_path).send(Message(to=["+13035550100"], body="Bye"))
    assert fake.accepted_count() == 2
    with Journal(journal_path) as journal:
        assert len(journal.jobs()) == 2


async def test_dry_run_reads_the_journal_but_writes_nothing(journal_path: Path) -> None:
    message = Message(to=["+13035550100", "+13035550101"], body="Hi")
    await Dispatcher(FakeProvider(), journal=journal_path).send(
        Message(to=["+13035550100"], body="Hi"))
    with Journal(journal_path) as journal:
        jobs_before = len(journal.jobs())

    report = await Dispatcher(FakeProvider(), journal=journal_path, dry_run=True).send(message)

    assert [o.reason for o in report] == ["already_sent", "dry_run"]
    with Journal(journal_path) as journal:
        assert journal.report().counts["sent"] == 1 and len(journal.jobs()) == jobs_before


def test_a_file_that_is_not_a_journal_gives_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.sqlite"
    path.write_bytes(b"this is not a database, just text " * 100)
    with pytest.raises(JournalError, match="cannot be used as an smsbridge journal"):
        Journal(path)


def test_a_journal_written_by_a_newer_version_is_refused(journal_path: Path) -> None:
    Journal(journal_path).close()
    with sqlite3.connect(journal_path) as conn:
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema'")
    with pytest.raises(JournalError, match="newer smsbridge"):
        Journal(journal_path)


def test_report_of_an_empty_journal_says_there_is_no_job(journal_path: Path) -> None:
    with Journal(journal_path) as journal, pytest.raises(ConfigurationError, match="no job"):
        journal.report()


# --- webhook-facing API ---------------------------------------------------------------------


async def test_delivery_statuses_update_the_sent_row_and_the_report(
    journal_path: Path, numbers: Callable[..., list[str]],
) -> None:
    await Dispatcher(FakeProvider(), journal=journal_path).send(
        Message(to=numbers(4), body="Hi"))
    journal = Journal(journal_path)
    ids = {e.phone: e.message_id for e in journal.recipients()}
    first, second, third, _fourth = (ids[n] for n in numbers(4))
    assert first and second and third
    now = datetime.now(UTC)

    assert journal.record_delivery("fake", first, DeliveryStatus.DELIVERED, raw_status="dlvd",
                                   occurred_at=now)
    assert journal.record_delivery("fake", second, DeliveryStatus.FAILED, error_code="30007")
    assert journal.record_delivery("fake", third, DeliveryStatus.SENT, occurred_at=now)
    assert not journal.record_delivery("fake", "no-such-id", DeliveryStatus.DELIVERED)
    assert not journal.record_delivery("other", first, DeliveryStatus.DELIVERED)
    # Out of order: a late intermediate status never replaces a final one, nor an older event
    # a newer one.
    journal.record_delivery("fake", first, DeliveryStatus.SENT, occurred_at=now + timedelta(1))
    journal.record_delivery("fake", third, DeliveryStatus.QUEUED,
                            occurred_at=now - timedelta(seconds=5))

    rows = {e.message_id: e for e in journal.recipients()}
    assert rows[first].delivery_status is DeliveryStatus.DELIVERED
    assert rows[first].delivery_raw_status == "dlvd"
    assert rows[second].delivery_error_code == "30007"
    assert rows[third].delivery_status is DeliveryStatus.SENT
    summary = journal.report()
    assert (summary.delivered, summary.delivery_failed, summary.awaiting) == (1, 1, 2)
    assert "delivered 1" in summary.summary()
    journal.close()


def test_event_ids_are_seen_once_and_can_be_forgotten(journal_path: Path) -> None:
    with Journal(journal_path) as journal:
        assert journal.mark_event_seen("evt-1") is True
        assert journal.mark_event_seen("evt-1") is False
        journal.forget_event("evt-1")
        assert journal.mark_event_seen("evt-1") is True
    with Journal(journal_path) as reopened:  # survives a restart
        assert reopened.mark_event_seen("evt-1") is False


def test_the_suppression_list_normalises_numbers(journal_path: Path) -> None:
    with Journal(journal_path) as journal:
        journal.suppress("(303) 555-0100", source="textus:keyword")
        assert journal.is_suppressed("+13035550100")
        assert journal.suppressed() == {"+13035550100"}
        journal.unsuppress("+1 303 555 0100")
        assert not journal.is_suppressed("+13035550100") and journal.suppressed() == set()
        with pytest.raises(InvalidPhoneNumber):
            journal.suppress("not a number")


async def test_a_job_skips_numbers_suppressed_in_the_journal_even_by_another_process(
    journal_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(C, "JOURNAL_SUPPRESSION_REFRESH", 0.0)
    journal = Journal(journal_path)
    journal.suppress("+13035550100")
    fake = FakeProvider()
    dispatcher = Dispatcher(fake, journal=journal)
    report = await dispatcher.send(Message(to=["+13035550100", "+13035550101"], body="Hi"))
    assert [(o.status.value, o.reason) for o in report] == [
        ("skipped", "opted_out"), ("sent", None)]

    with Journal(journal_path) as other_process:  # its own connection, like a webhook server
        other_process.suppress("+13035550102")
    report = await dispatcher.send(Message(to=["+13035550102"], body="Hello"))
    assert report.outcomes[0].reason == "opted_out"
    assert list(fake.accepted_numbers()) == ["+13035550101"]
    journal.close()


async def test_a_journal_that_cannot_be_written_stops_the_job_before_unrecorded_sends(
    journal_path: Path, numbers: Callable[..., list[str]],
) -> None:
    blocker = sqlite3.connect(journal_path, isolation_level=None)

    def lock_the_journal(_message: Message, call: int) -> None:
        if call == 5:  # another process takes the database for good
            blocker.execute("BEGIN EXCLUSIVE")

    fake = FakeProvider(latency=0.001, rule=lock_the_journal)
    journal = Journal(journal_path, busy_timeout=0.05)
    with pytest.raises(JournalError, match="could not be written"):
        await Dispatcher(fake, concurrency=2, journal=journal).send(
            Message(to=numbers(100), body="Hi"))
    blocker.execute("ROLLBACK")
    blocker.close()
    assert fake.calls <= 8  # it stopped at once: no message sent without its in-flight mark
    report = await Dispatcher(FakeProvider(), journal=journal).send(
        Message(to=numbers(100), body="Hi"))
    assert report.sent + report.unknown + report.skipped == 100
    journal.close()


async def test_recipients_are_read_back_in_pages_without_loading_the_job(
    journal_path: Path, numbers: Callable[..., list[str]],
) -> None:
    fake = FakeProvider(per_number={n: ["reject"] for n in numbers(5, start=100)})
    await Dispatcher(fake, journal=journal_path, concurrency=64).send(
        Message(to=numbers(2500), body="Hi"))
    with Journal(journal_path) as journal:
        phones = [entry.phone for entry in journal.recipients()]
        failed = [entry.phone for entry in journal.recipients(state="failed")]
    assert phones == sorted(numbers(2500))
    assert failed == sorted(numbers(5, start=100))


@pytest.mark.parametrize("interval", [0.0, 3600.0])
async def test_the_wal_is_checkpointed_off_the_loop_while_a_job_writes(
    tmp_path: Path, numbers: Callable[..., list[str]], monkeypatch: pytest.MonkeyPatch,
    interval: float,
) -> None:
    monkeypatch.setattr(C, "JOURNAL_CHECKPOINT_INTERVAL", interval)
    path = tmp_path / f"every-{interval:g}s.sqlite"
    journal = Journal(path)
    await Dispatcher(FakeProvider(latency=0.0005), journal=journal, concurrency=16).send(
        Message(to=numbers(3000), body="Hi"))
    wal_pages = (await asyncio.to_thread(Path(f"{path}-wal").stat)).st_size // 4096
    assert journal._query("PRAGMA wal_autocheckpoint")[0][0] == 1000  # restored after the job
    journal.close()
    if interval == 0.0:
        assert wal_pages < 200  # checkpointed as it went: the WAL never grew with the job
    else:
        assert wal_pages > 200  # no checkpoint during the job: the WAL holds all of it
