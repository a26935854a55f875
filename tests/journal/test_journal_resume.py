"""Resuming journaled jobs: nothing sent twice, nothing left unaccounted."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from smsbridge import DeliveryStatus, Dispatcher, Message, Outcome, OutcomeStatus, Receipt
from smsbridge.dispatch.dispatcher import _store_source
from smsbridge.dispatch.spec import JobSpec
from smsbridge.errors import ConfigurationError, IncompleteSourceError
from smsbridge.journal.protocol import ClaimEntry
from smsbridge.journal.store import Journal
from smsbridge.testing import FakeProvider, Fault


async def leave_as_crashed(path: Path, message: Message, *, sent: int, in_flight: int) -> None:
    """Leave the journal as a process killed mid-job leaves it: the recipients stored, the first
    ``sent`` finished, the next ``in_flight`` marked in flight, the rest never reached."""
    journal = Journal(path)
    job_id, _ = await journal.begin_job(JobSpec.from_message(message), job_id=None, provider="fake",
                                   settings={}, total=len(message.to), replace_source=True,
                                   run_id="the-crashed-run")
    session = journal.open_session(job_id, "the-crashed-run", resend_unknown=False)
    _store_source(session, message.to)
    touched = message.to[:sent + in_flight]
    await session.claim([ClaimEntry(r.phone, i, r.variables) for i, r in enumerate(touched)])
    for i, recipient in enumerate(touched[:sent]):
        receipt = Receipt("fake", f"old-{i}", DeliveryStatus.ACCEPTED, recipient.phone)
        session.final(recipient.phone, i, Outcome(recipient, OutcomeStatus.SENT, receipt=receipt,
                                                  provider="fake"), 1)
    await session.close()  # no "finished" status: the process died
    journal.close()


async def test_rerunning_a_crashed_job_sends_the_rest_and_reports_in_flight_as_unknown(
    journal_path: Path, numbers: Callable[..., list[str]],
) -> None:
    message = Message(to=numbers(20), body="Hi")
    await leave_as_crashed(journal_path, message, sent=5, in_flight=3)
    with Journal(journal_path) as journal:
        before = journal.report()
        assert (before.sent, before.in_flight, before.pending, before.job.status) == (
            5, 3, 12, "running")

    fake = FakeProvider()
    report = await Dispatcher(fake, journal=journal_path).send(message)

    assert [o.reason for o in report.outcomes[:8]] == ["already_sent"] * 5 + ["interrupted"] * 3
    assert report.counts[OutcomeStatus.UNKNOWN] == 3 and report.sent == 12
    assert sorted(fake.accepted_numbers()) == sorted(numbers(12, start=8))
    with Journal(journal_path) as journal:
        after = journal.report()
        assert dict(after.counts) == {"sent": 17, "failed": 0, "unknown": 3, "skipped": 0,
                                      "in_flight": 0, "pending": 0}
        assert after.job.status == "finished" and after.complete

    again = FakeProvider()
    report = await Dispatcher(again, journal=journal_path).send(message)
    assert again.calls == 0  # a finished job re-run touches nobody
    assert report.counts[OutcomeStatus.SKIPPED] == 17 and report.unknown == 3


async def test_resend_unknown_resends_only_the_recipients_in_doubt(
    journal_path: Path, numbers: Callable[..., list[str]],
) -> None:
    message = Message(to=numbers(10), body="Hi")
    await leave_as_crashed(journal_path, message, sent=4, in_flight=2)
    fake = FakeProvider()
    report = await Dispatcher(fake, journal=journal_path, resend_unknown=True).send(message)

    assert report.sent == 6 and sorted(fake.accepted_numbers()) == sorted(numbers(6, start=4))


async def test_resume_finishes_a_job_from_the_journal_alone(
    journal_path: Path, numbers: Callable[..., list[str]],
) -> None:
    message = Message(to=numbers(30), body="Reminder", sender="+17205550000")
    await leave_as_crashed(journal_path, message, sent=10, in_flight=2)

    fake = FakeProvider()
    async with Dispatcher(fake, journal=journal_path) as dispatcher:
        report = await dispatcher.resume()  # no message, no recipients: all from the file

    assert report.total == 30 and report.sent == 18 and report.unknown == 2
    assert {a.body for a in fake.accepted} == {"Reminder"}
    assert {a.message.sender for a in fake.accepted} == {"+17205550000"}
    with Journal(journal_path) as journal:
        assert journal.report().complete


async def test_resume_without_a_journal_is_a_configuration_error() -> None:
    from smsbridge import ConfigurationError

    with pytest.raises(ConfigurationError, match="needs a journal"):
        await Dispatcher(FakeProvider()).resume()


async def test_a_cancelled_job_leaves_a_consistent_journal_and_resumes(
    journal_path: Path, numbers: Callable[..., list[str]],
) -> None:
    message = Message(to=numbers(40), body="Hi")
    fake = FakeProvider(latency=0.2)
    job = asyncio.create_task(
        Dispatcher(fake, concurrency=4, journal=journal_path).send(message))
    await asyncio.sleep(0.05)
    job.cancel()
    with pytest.raises(asyncio.CancelledError):
        await job

    with Journal(journal_path) as journal:
        summary = journal.report()
        assert (summary.sent, summary.in_flight, summary.pending) == (4, 0, 36)
        assert summary.job.status == "cancelled"

    rest = FakeProvider()
    report = await Dispatcher(rest, concurrency=8, journal=journal_path).send(message)
    assert report.sent == 36 and rest.accepted_count() == 36
    assert set(rest.accepted_numbers()).isdisjoint(fake.accepted_numbers())


async def test_sends_outliving_the_grace_period_are_journaled_unknown_not_in_flight(
    journal_path: Path, numbers: Callable[..., list[str]],
) -> None:
    message = Message(to=numbers(10), body="Hi")
    fake = FakeProvider(latency=10.0)
    job = asyncio.create_task(Dispatcher(fake, concurrency=3, journal=journal_path,
                                         cancel_grace=0.05).send(message))
    await asyncio.sleep(0.1)
    job.cancel()
    with pytest.raises(asyncio.CancelledError):
        await job

    with Journal(journal_path) as journal:
        summary = journal.report()
        assert (summary.unknown, summary.in_flight, summary.pending) == (3, 0, 7)
        assert summary.reasons == {"cancelled": 3}
    rest = FakeProvider()
    report = await Dispatcher(rest, journal=journal_path).send(message)
    assert rest.accepted_count() == 7 and report.unknown == 3  # in doubt: never resent


async def test_a_streamed_job_resumes_from_its_stored_source(
    journal_path: Path, numbers: Callable[..., list[str]],
) -> None:
    fake = FakeProvider(latency=0.05)
    dispatcher = Dispatcher(fake, concurrency=2, journal=journal_path)
    async with dispatcher.stream(numbers(50), body="Hi") as outcomes:  # a list: total known
        async for _ in outcomes:
            if fake.accepted_count() >= 6:
                break
    with Journal(journal_path) as journal:
        job = journal.job()
        assert job.status == "cancelled" and not job.source_complete

    rest = FakeProvider()
    # Only what the stream had read is stored: the journal alone cannot finish the job.
    with pytest.raises(IncompleteSourceError, match="resume\\(recipients=") as refused:
        await Dispatcher(rest, journal=journal_path).resume()
    assert rest.calls == 0 and 0 < refused.value.stored < 50
    with Journal(journal_path) as journal:
        assert journal.job().status == "cancelled" and not journal.report().complete
    outcomes = [o async for o in Dispatcher(rest, journal=journal_path).stream(
        numbers(50), body="Hi")]
    assert len(outcomes) == 50
    accepted = fake.accepted_numbers() + rest.accepted_numbers()
    assert sorted(accepted) == sorted(numbers(50)) and max(accepted.values()) == 1
    with Journal(journal_path) as journal:
        assert journal.report().complete and journal.job().source_complete


async def test_resume_with_the_source_again_finishes_a_stream_that_was_cut_short(
    journal_path: Path, numbers: Callable[..., list[str]],
) -> None:
    fake = FakeProvider(latency=0.02)
    generator = (n for n in numbers(40))  # no length: the journal cannot know the total
    async with Dispatcher(fake, concurrency=2, journal=journal_path).stream(
            generator, body="Hi") as outcomes:
        async for _ in outcomes:
            if fake.accepted_count() >= 4:
                break
    with Journal(journal_path) as journal:
        cut = journal.report()
    assert not cut.complete and not cut.job.source_complete

    rest = FakeProvider()
    report = await Dispatcher(rest, journal=journal_path).resume(
        recipients=(n for n in numbers(40)))
    assert [o.phone for o in report] == numbers(40)  # source order
    assert report.sent == rest.accepted_count() == 40 - fake.accepted_count() - report.unknown
    accepted = fake.accepted_numbers() + rest.accepted_numbers()
    assert max(accepted.values()) == 1  # nobody twice
    with Journal(journal_path) as journal:
        done = journal.report()
    assert done.complete and done.job.status == "finished" and done.total == 40
    again = await Dispatcher(rest, journal=journal_path).resume()  # now the journal suffices
    assert again.total == 40 and again.reasons()["already_sent"] == 40 - report.unknown


async def test_resume_refuses_a_single_number_as_its_source(journal_path: Path) -> None:
    await Dispatcher(FakeProvider(), journal=journal_path).send(
        Message(to=["+13035550100"], body="Hi"))
    with pytest.raises(ConfigurationError, match="single number is not a list"):
        await Dispatcher(FakeProvider(), journal=journal_path).resume(recipients="+13035550100")


async def test_a_recipient_waiting_to_retry_a_429_is_pending_not_in_flight(
    journal_path: Path,
) -> None:
    fake = FakeProvider(script=[Fault("rate_limit", retry_after=0.6)])
    job = asyncio.create_task(Dispatcher(fake, journal=journal_path).send(
        Message(to=["+13035550100"], body="Hi")))
    await asyncio.sleep(0.3)  # the 429 came back; the retry waits for Retry-After
    with Journal(journal_path) as journal:
        waiting = journal.report()
    # A crash now must not leave it UNKNOWN: the 429 proves it was not sent.
    assert (waiting.in_flight, waiting.pending, waiting.unknown) == (0, 1, 0)
    report = await job
    assert report.sent == 1 and report.outcomes[0].attempts == 2
    with Journal(journal_path) as journal:
        (entry,) = journal.recipients()
    assert (entry.state, entry.attempts) == ("sent", 2)  # each attempt counted once


async def test_a_second_cancel_of_send_still_waits_for_every_worker_and_closes_the_journal(
    journal_path: Path, numbers: Callable[..., list[str]], caplog: pytest.LogCaptureFixture,
) -> None:
    message = Message(to=numbers(40), body="Hi")
    fake = FakeProvider(latency=0.3)
    job = asyncio.create_task(Dispatcher(fake, concurrency=4, journal=journal_path,
                                         cancel_grace=5.0).send(message))
    await asyncio.sleep(0.1)
    job.cancel()
    await asyncio.sleep(0)
    job.cancel()  # the second Ctrl-C: no more grace, but no worker left behind either
    with pytest.raises(asyncio.CancelledError):
        await job

    assert not [t for t in asyncio.all_tasks() if t.get_name().startswith("smsbridge-")]
    assert "closed database" not in caplog.text
    with Journal(journal_path) as journal:
        summary = journal.report()
        assert summary.in_flight == 0 and summary.job.status == "cancelled"
        assert summary.sent + summary.unknown == 4 and summary.pending == 36
    rest = FakeProvider()
    report = await Dispatcher(rest, concurrency=8, journal=journal_path).send(message)
    assert rest.accepted_count() == 36 and report.sent == 36
