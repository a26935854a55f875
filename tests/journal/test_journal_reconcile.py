"""UNKNOWN sends reconciled by the provider's own delivery report (Journal.record_delivery)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from smsbridge import DeliveryStatus, Dispatcher, Message, OutcomeStatus
from smsbridge.journal.store import Journal
from smsbridge.testing import FakeProvider

NUMBER = "+13035550100"
OTHER = "+13035550101"


async def unknown_send(journal: Journal, number: str = NUMBER, *, job_id: str = "job-1",
                       provider: str = "fake") -> str:
    """Run a job whose one send the provider stores but never answers: UNKNOWN in the journal.
    Returns the id the provider gave the stored message (which the journal never saw)."""
    fake = FakeProvider(name=provider, script=["accepted_then_timeout"])
    report = await Dispatcher(fake, journal=journal, job_id=job_id).send(
        Message(to=[number], body="Hi"))
    assert report.outcomes[0].status is OutcomeStatus.UNKNOWN
    (accepted,) = fake.accepted
    assert accepted.message_id is not None
    return accepted.message_id


def now() -> datetime:
    return datetime.now(UTC)


async def test_a_delivery_report_turns_the_unknown_send_it_proves_into_sent_reconciled(
    journal_path: Path,
) -> None:
    with Journal(journal_path) as journal:
        message_id = await unknown_send(journal)
        assert journal.record_delivery("fake", message_id, DeliveryStatus.DELIVERED,
                                       raw_status="delivered", occurred_at=now(), to=NUMBER)
        (entry,) = journal.recipients("job-1")
        assert (entry.state, entry.reason, entry.message_id) == ("sent", "reconciled", message_id)
        assert entry.delivery_status is DeliveryStatus.DELIVERED
        assert entry.error is not None and "delivery_unknown" in entry.error
        summary = journal.report("job-1")
        assert (summary.sent, summary.unknown, summary.reconciled, summary.delivered) == (
            1, 0, 1, 1)
        assert "reconciled 1" in summary.summary()
        # Later events for that message match its id directly.
        assert journal.record_delivery("fake", message_id, DeliveryStatus.FAILED)
        assert next(journal.recipients("job-1")).delivery_status is DeliveryStatus.FAILED

    again = FakeProvider()
    report = await Dispatcher(again, journal=journal_path, job_id="job-1",
                              resend_unknown=True).send(Message(to=[NUMBER], body="Hi"))
    assert again.calls == 0 and report.outcomes[0].reason == "already_sent"


async def test_two_unknown_sends_to_the_same_number_are_ambiguous_and_stay_unknown(
    journal_path: Path,
) -> None:
    with Journal(journal_path) as journal:
        first = await unknown_send(journal, job_id="job-1")
        await unknown_send(journal, job_id="job-2")
        assert not journal.record_delivery("fake", first, DeliveryStatus.DELIVERED,
                                           occurred_at=now(), to=NUMBER)
        assert journal.report("job-1").unknown == journal.report("job-2").unknown == 1


async def test_a_batch_send_without_ids_to_the_same_number_makes_it_ambiguous(
    journal_path: Path,
) -> None:
    with Journal(journal_path) as journal:
        message_id = await unknown_send(journal, job_id="job-1")
        batch = Dispatcher(FakeProvider(), journal=journal, job_id="job-2", batch_size=2)
        await batch.send(Message(to=[NUMBER, OTHER], body="Hi all"))  # sent, no message ids
        assert not journal.record_delivery("fake", message_id, DeliveryStatus.DELIVERED,
                                           occurred_at=now(), to=NUMBER)
        assert journal.report("job-1").unknown == 1


async def test_an_event_older_than_the_attempt_another_provider_or_no_number_reconciles_nothing(
    journal_path: Path,
) -> None:
    with Journal(journal_path) as journal:
        message_id = await unknown_send(journal)
        before = now() - timedelta(minutes=5)  # the send was attempted after this event
        assert not journal.record_delivery("fake", message_id, DeliveryStatus.DELIVERED,
                                           occurred_at=before, to=NUMBER)
        assert not journal.record_delivery("other", message_id, DeliveryStatus.DELIVERED,
                                           occurred_at=now(), to=NUMBER)
        assert not journal.record_delivery("fake", message_id, DeliveryStatus.DELIVERED,
                                           occurred_at=now(), to=OTHER)
        assert not journal.record_delivery("fake", message_id, DeliveryStatus.DELIVERED,
                                           occurred_at=now(), to="not a number")
        assert not journal.record_delivery("fake", message_id, DeliveryStatus.DELIVERED)
        assert journal.report().unknown == 1
        # An event without a time still proves the message was accepted.
        assert journal.record_delivery("fake", message_id, DeliveryStatus.DELIVERED,
                                       to="(303) 555-0100")
        assert journal.report().reconciled == 1
