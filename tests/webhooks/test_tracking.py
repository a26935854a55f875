"""DeliveryTracker (await a final status) and JournalSink (events into the send journal)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import pytest

from smsbridge.errors import DeliveryTimeoutError, InvalidMessage
from smsbridge.models import DeliveryEvent, DeliveryStatus, OptOutEvent, Receipt
from smsbridge.webhooks.tracking import DeliveryTracker, JournalSink


def receipt(message_id: str | None = "/messages/a1", provider: str = "textus") -> Receipt:
    return Receipt(
        provider=provider, message_id=message_id, status=DeliveryStatus.QUEUED, to="+13035551234"
    )


def event(status: DeliveryStatus, message_id: str = "/messages/a1", **kw: Any) -> DeliveryEvent:
    return DeliveryEvent(provider="textus", message_id=message_id, status=status, **kw)


async def test_wait_resolves_when_a_final_status_arrives() -> None:
    tracker = DeliveryTracker()
    waiter = asyncio.create_task(tracker.wait(receipt(), timeout=5))
    await asyncio.sleep(0)
    tracker.record(event(DeliveryStatus.SENT))
    await asyncio.sleep(0)
    assert not waiter.done()
    delivered = event(DeliveryStatus.DELIVERED)
    tracker.record(delivered)
    assert await waiter is delivered


async def test_wait_after_the_event_already_arrived_returns_at_once() -> None:
    tracker = DeliveryTracker()
    failed = event(DeliveryStatus.FAILED, error_code="30003")
    tracker(failed)
    assert await tracker.wait(receipt(), timeout=0.01) is failed


async def test_events_of_other_messages_and_providers_do_not_resolve_a_waiter() -> None:
    tracker = DeliveryTracker()
    waiter = asyncio.create_task(tracker.wait(receipt(), timeout=5))
    await asyncio.sleep(0)
    tracker.record(event(DeliveryStatus.DELIVERED, message_id="/messages/other"))
    tracker.record(
        DeliveryEvent(
            provider="trackdrive", message_id="/messages/a1", status=DeliveryStatus.FAILED
        )
    )
    await asyncio.sleep(0)
    assert not waiter.done()
    tracker.record(event(DeliveryStatus.DELIVERED))
    assert (await waiter).status is DeliveryStatus.DELIVERED


async def test_several_waiters_on_one_message_all_resolve() -> None:
    tracker = DeliveryTracker()
    waiters = [asyncio.create_task(tracker.wait(receipt(), timeout=5)) for _ in range(3)]
    await asyncio.sleep(0)
    tracker.record(event(DeliveryStatus.DELIVERED))
    assert {(await w).status for w in waiters} == {DeliveryStatus.DELIVERED}


async def test_timeout_raises_a_clear_error_naming_the_last_status() -> None:
    tracker = DeliveryTracker()
    tracker.record(event(DeliveryStatus.UNKNOWN, raw_status="unknown"))
    with pytest.raises(DeliveryTimeoutError, match="last status seen: unknown") as info:
        await tracker.wait(receipt(), timeout=0.01)
    assert isinstance(info.value, TimeoutError)  # `except TimeoutError` works too
    assert info.value.message_id == "/messages/a1"
    assert info.value.last_event is not None and info.value.last_event.raw_status == "unknown"
    assert "0.01s" in str(info.value)


async def test_timeout_leaves_no_waiter_behind() -> None:
    tracker = DeliveryTracker()
    with pytest.raises(DeliveryTimeoutError, match="no event"):
        await tracker.wait(receipt(), timeout=0.01)
    assert tracker._waiters == {}


async def test_until_can_include_unknown_to_stop_at_textus_message_unknown() -> None:
    tracker = DeliveryTracker()
    until = {DeliveryStatus.DELIVERED, DeliveryStatus.FAILED, DeliveryStatus.UNKNOWN}
    waiter = asyncio.create_task(tracker.wait(receipt(), timeout=5, until=until))
    await asyncio.sleep(0)
    tracker.record(event(DeliveryStatus.UNKNOWN))
    assert (await waiter).status is DeliveryStatus.UNKNOWN


async def test_a_late_intermediate_event_does_not_hide_the_final_one() -> None:
    tracker = DeliveryTracker()
    tracker.record(event(DeliveryStatus.DELIVERED, occurred_at=datetime(2024, 1, 1, 12)))
    tracker.record(event(DeliveryStatus.SENT, occurred_at=datetime(2024, 1, 1, 11)))
    latest = tracker.latest("textus", "/messages/a1")
    assert latest is not None and latest.status is DeliveryStatus.DELIVERED
    assert (await tracker.wait(receipt(), timeout=0.01)).status is DeliveryStatus.DELIVERED


async def test_a_receipt_without_message_id_cannot_be_tracked() -> None:
    with pytest.raises(InvalidMessage, match="has no message id"):
        await DeliveryTracker().wait(receipt(message_id=None), timeout=1)


async def test_memory_is_bounded_to_the_most_recent_messages() -> None:
    tracker = DeliveryTracker(memory=2)
    for n in range(3):
        tracker.record(event(DeliveryStatus.DELIVERED, message_id=f"/messages/{n}"))
    assert tracker.latest("textus", "/messages/0") is None
    assert tracker.latest("textus", "/messages/2") is not None


async def test_cancelled_wait_is_cleaned_up() -> None:
    tracker = DeliveryTracker()
    waiter = asyncio.create_task(tracker.wait(receipt(), timeout=5))
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert tracker._waiters == {}
    tracker.record(event(DeliveryStatus.DELIVERED))  # resolving nothing must not fail


# --- JournalSink ---------------------------------------------------------------------------


class SyncJournal:
    """The journal surface webhooks use, recording calls (sync methods like sqlite3)."""

    def __init__(self, known_ids: set[str]) -> None:
        self.known_ids = known_ids
        self.deliveries: list[tuple[Any, ...]] = []
        self.recipients: list[str | None] = []  # the ``to`` of each delivery (reconciliation)
        self.suppressed: dict[str, str | None] = {}
        self.seen: set[str] = set()

    def record_delivery(
        self,
        provider: str,
        message_id: str,
        status: DeliveryStatus,
        *,
        raw_status: str | None = None,
        occurred_at: datetime | None = None,
        error_code: str | None = None,
        to: str | None = None,
    ) -> bool:
        self.deliveries.append((provider, message_id, status, raw_status, error_code))
        self.recipients.append(to)
        return message_id in self.known_ids

    def mark_event_seen(self, event_id: str) -> bool:
        first = event_id not in self.seen
        self.seen.add(event_id)
        return first

    def suppress(
        self, phone: str, *, reason: str = "opted_out", source: str | None = None,
        occurred_at: datetime | None = None,
    ) -> None:
        self.suppressed[phone] = source

    def unsuppress(self, phone: str, *, occurred_at: datetime | None = None) -> None:
        self.suppressed.pop(phone, None)


class AsyncJournal(SyncJournal):
    async def record_delivery(self, *args: Any, **kwargs: Any) -> bool:  # type: ignore[override]
        return SyncJournal.record_delivery(self, *args, **kwargs)

    async def mark_event_seen(self, event_id: str) -> bool:  # type: ignore[override]
        return SyncJournal.mark_event_seen(self, event_id)


@pytest.mark.parametrize("journal_cls", [SyncJournal, AsyncJournal])
async def test_journal_sink_records_deliveries_with_sync_or_async_journals(
    journal_cls: type[SyncJournal],
) -> None:
    journal = journal_cls({"/messages/a1"})
    sink = JournalSink(journal)
    assert await sink.delivery(event(DeliveryStatus.FAILED, raw_status="failed", error_code="21",
                                     to="+13035551234"))
    assert not await sink.delivery(event(DeliveryStatus.DELIVERED, message_id="/messages/zz"))
    assert not await sink.delivery(
        DeliveryEvent(provider="textus", message_id=None, status=DeliveryStatus.DELIVERED)
    )
    assert journal.deliveries[0] == (
        "textus",
        "/messages/a1",
        DeliveryStatus.FAILED,
        "failed",
        "21",
    )
    assert len(journal.deliveries) == 2
    assert journal.recipients == ["+13035551234", None]  # passed on for reconciliation
    assert await sink.mark_event_seen("e1") and not await sink.mark_event_seen("e1")


async def test_journal_sink_suppresses_and_unsuppresses_on_opt_events() -> None:
    journal = SyncJournal(set())
    sink = JournalSink(journal)
    await sink.opt_out(OptOutEvent(provider="textus", phone="+13035551234", source="keyword"))
    assert journal.suppressed == {"+13035551234": "textus:keyword"}
    await sink.opt_out(OptOutEvent(provider="textus", phone="+13035551234", opted_out=False))
    assert journal.suppressed == {}


async def test_a_delivery_that_beats_its_journal_row_is_retried_until_it_matches() -> None:
    journal = SyncJournal(set())
    sink = JournalSink(journal, retry_delays=(0.01, 0.01, 0.01))
    assert not await sink.delivery(event(DeliveryStatus.DELIVERED))
    assert sink.pending == 1
    journal.known_ids.add("/messages/a1")  # the dispatcher's write lands
    await sink.settle()
    assert sink.pending == 0
    assert [d[1] for d in journal.deliveries] == ["/messages/a1", "/messages/a1"]


async def test_unmatched_retries_are_bounded_give_up_and_stop_on_close() -> None:
    journal = SyncJournal(set())
    sink = JournalSink(journal, retry_delays=(0.01,), max_pending=1)
    await sink.delivery(event(DeliveryStatus.DELIVERED, message_id="/messages/1"))
    await sink.delivery(event(DeliveryStatus.DELIVERED, message_id="/messages/2"))
    assert sink.pending == 1  # the second one was not queued: the bound holds
    await sink.settle()
    assert len(journal.deliveries) == 3  # 2 first tries + 1 retry, then it gave up
    slow = JournalSink(journal, retry_delays=(60.0,))
    await slow.delivery(event(DeliveryStatus.DELIVERED, message_id="/messages/3"))
    await slow.aclose()
    assert slow.pending == 0


async def test_opt_out_of_an_unparseable_number_is_ignored_not_fatal(tmp_path: Any) -> None:
    from smsbridge.journal.store import Journal

    with Journal(tmp_path / "j.sqlite") as journal:
        sink = JournalSink(journal)
        await sink.opt_out(OptOutEvent(provider="textus", phone="12345"))
        await sink.opt_out(OptOutEvent(provider="textus", phone="+13035551234"))
        assert journal.suppressed() == {"+13035551234"}
