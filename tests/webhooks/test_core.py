"""The framework-agnostic webhook core: keywords, de-duplication and the event router."""

from __future__ import annotations

from typing import Any

import pytest

from smsbridge.errors import ConfigurationError
from smsbridge.models import DeliveryEvent, DeliveryStatus, InboundMessage, OptOutEvent
from smsbridge.webhooks.core import (
    EventRouter,
    MemoryDeduplicator,
    WebhookEvent,
    e164_or_raw,
    keyword_opt_out,
)


def inbound(body: str, sender: str | None = "+13035551234") -> InboundMessage:
    return InboundMessage(
        provider="textus", message_id="/messages/in1", sender=sender, body=body, event_id="d-in1"
    )


def delivered(event_id: str = "d1", message_id: str = "/messages/a1") -> DeliveryEvent:
    return DeliveryEvent(
        provider="textus",
        message_id=message_id,
        status=DeliveryStatus.DELIVERED,
        event_id=event_id,
    )


@pytest.mark.parametrize(
    "body", ["STOP", "stop", " Stop! ", "STOPALL", "unsubscribe", "Cancel.", "END", "quit"]
)
def test_stop_style_keywords_opt_out(body: str) -> None:
    event = keyword_opt_out(inbound(body))
    assert event is not None
    assert event.opted_out and event.source == "keyword"
    assert event.phone == "+13035551234"
    assert event.keyword == body.strip().strip(".!").upper()
    assert event.event_id == "d-in1#keyword"


@pytest.mark.parametrize(("body", "keyword"), [
    ("Revoke", "REVOKE"), ("opt out", "OPT OUT"), ("STOP ALL", "STOP ALL"), ("OptOut", "OPTOUT"),
    ("Opt-Out!", "OPT OUT"), ("  stop   all. ", "STOP ALL"), ("\uff33\uff34\uff2f\uff30", "STOP"),
])
def test_the_fcc_revocation_words_and_phrases_opt_out(body: str, keyword: str) -> None:
    # Before the switch to compliance.keywords these returned None: the number kept getting texts.
    event = keyword_opt_out(inbound(body))
    assert event is not None and event.opted_out
    assert event.keyword == keyword


@pytest.mark.parametrize("body", ["HELP", "info?", "Yes please", "stop please"])
def test_help_info_and_sentences_neither_opt_out_nor_in(body: str) -> None:
    assert keyword_opt_out(inbound(body)) is None


@pytest.mark.parametrize("body", ["START", "unstop", "Start!", "Yes", "YES!"])
def test_start_and_unstop_opt_back_in(body: str) -> None:
    event = keyword_opt_out(inbound(body))
    assert event is not None and event.opted_in


@pytest.mark.parametrize(
    "body", ["please stop texting me", "Don't stop", "", "STOP STOP", "stopping", "x" * 50]
)
def test_messages_that_merely_contain_a_keyword_do_not_opt_out(body: str) -> None:
    assert keyword_opt_out(inbound(body)) is None


def test_keyword_from_an_unknown_sender_is_ignored() -> None:
    assert keyword_opt_out(inbound("STOP", sender=None)) is None


def test_e164_or_raw_normalises_what_parses_and_keeps_the_rest() -> None:
    assert e164_or_raw("(303) 555-1234") == "+13035551234"
    assert e164_or_raw(" 12345 ") == "12345"
    assert e164_or_raw("") is None and e164_or_raw(None) is None and e164_or_raw(5) is None


async def test_memory_deduplicator_is_a_bounded_lru() -> None:
    dedup = MemoryDeduplicator(maxsize=2)
    assert await dedup.claim("a") and await dedup.claim("b")
    assert not await dedup.claim("a")  # refreshes "a"
    assert await dedup.claim("c")  # evicts "b", the least recently seen
    assert len(dedup) == 2
    assert not await dedup.claim("a")
    assert await dedup.claim("b")
    await dedup.release("b")
    assert await dedup.claim("b")


def test_memory_deduplicator_needs_room() -> None:
    with pytest.raises(ConfigurationError):
        MemoryDeduplicator(maxsize=0)


async def test_replayed_events_are_applied_once() -> None:
    seen: list[DeliveryEvent] = []
    router = EventRouter(on_delivery=seen.append)
    assert await router.dispatch([delivered()]) == 1
    assert await router.dispatch([delivered(), delivered()]) == 0
    assert await router.dispatch([delivered("d2")]) == 1
    assert [e.event_id for e in seen] == ["d1", "d2"]


async def test_events_without_an_id_are_always_applied() -> None:
    seen: list[Any] = []
    router = EventRouter(on_event=seen.append)
    event = WebhookEvent(provider="textus", action="contact.created")
    await router.dispatch([event, event])
    assert seen == [event, event]


async def test_sync_and_async_handlers_are_both_called() -> None:
    calls: list[str] = []

    async def on_inbound(event: InboundMessage) -> None:
        calls.append(f"inbound:{event.body}")

    def on_opt_out(event: OptOutEvent) -> None:
        calls.append(f"opt_out:{event.keyword}")

    router = EventRouter(on_inbound=on_inbound, on_opt_out=on_opt_out)
    await router.dispatch([inbound("Stop")])
    assert calls == ["inbound:Stop", "opt_out:STOP"]


async def test_a_failed_handler_releases_the_event_so_the_retry_applies_it() -> None:
    attempts: list[str | None] = []

    def flaky(event: DeliveryEvent) -> None:
        attempts.append(event.event_id)
        if len(attempts) == 1:
            raise RuntimeError("database down")

    router = EventRouter(on_delivery=flaky)
    with pytest.raises(RuntimeError, match="database down"):
        await router.dispatch([delivered()])
    assert await router.dispatch([delivered()]) == 1
    assert await router.dispatch([delivered()]) == 0
    assert attempts == ["d1", "d1"]


async def test_delivery_events_feed_the_tracker() -> None:
    router = EventRouter()
    await router.dispatch([delivered()])
    latest = router.tracker.latest("textus", "/messages/a1")
    assert latest is not None and latest.status is DeliveryStatus.DELIVERED


async def test_opt_out_events_reach_the_opt_out_handler() -> None:
    seen: list[OptOutEvent] = []
    router = EventRouter(on_opt_out=seen.append)
    event = OptOutEvent(provider="textus", phone="+13035551234", event_id="o1")
    await router.dispatch([event, event])
    assert seen == [event]


# --- with the real SQLite journal ------------------------------------------------------------


async def test_replays_after_a_restart_are_ignored_through_the_journal(tmp_path: Any) -> None:
    from smsbridge.journal.store import Journal

    seen: list[DeliveryEvent] = []
    with Journal(tmp_path / "j.sqlite") as journal:
        assert await EventRouter(on_delivery=seen.append, journal=journal).dispatch([delivered()])
    with Journal(tmp_path / "j.sqlite") as journal:  # a new process, empty memory
        router = EventRouter(on_delivery=seen.append, journal=journal)
        assert await router.dispatch([delivered(), delivered("d2")]) == 1
        await router.aclose()
    assert [e.event_id for e in seen] == ["d1", "d2"]


async def test_failed_handler_is_forgotten_by_the_journal_so_the_retry_applies(
    tmp_path: Any,
) -> None:
    from smsbridge.journal.store import Journal

    calls: list[str | None] = []

    def flaky(event: DeliveryEvent) -> None:
        calls.append(event.event_id)
        if len(calls) == 1:
            raise RuntimeError("boom")

    with Journal(tmp_path / "j.sqlite") as journal:
        router = EventRouter(on_delivery=flaky, journal=journal)
        with pytest.raises(RuntimeError):
            await router.dispatch([delivered()])
        assert journal.mark_event_seen("d1")  # the id was released in the journal too
        journal.forget_event("d1")
        assert await router.dispatch([delivered()]) == 1
        await router.aclose()
    assert calls == ["d1", "d1"]


async def test_stop_and_start_keywords_update_the_journal_suppression_list(
    tmp_path: Any,
) -> None:
    from smsbridge.journal.store import Journal

    with Journal(tmp_path / "j.sqlite") as journal:
        router = EventRouter(journal=journal)
        await router.dispatch([inbound("stop")])
        assert journal.is_suppressed("+13035551234")
        assert await router.dispatch([inbound("STOP")]) == 0  # same delivery id: a replay
        start = InboundMessage(
            provider="textus",
            message_id="/m/2",
            sender="+13035551234",
            body="START",
            event_id="d-in2",
        )
        await router.dispatch([start])
        assert not journal.is_suppressed("+13035551234")
        opt = OptOutEvent(provider="textus", phone="+13035551234", event_id="o1")
        await router.dispatch([opt])
        assert journal.suppressed() == {"+13035551234"}


def test_event_reprs_mask_phone_numbers_and_hide_bodies() -> None:
    from smsbridge.providers.trackdrive.webhooks import TrackDriveDeliveryEvent

    number = "+13035551234"
    events: list[object] = [
        DeliveryEvent(provider="textus", message_id="m", status=DeliveryStatus.SENT, to=number),
        InboundMessage(
            provider="textus", message_id="m", sender=number, body="my secret", to=number
        ),
        OptOutEvent(provider="textus", phone=number),
        TrackDriveDeliveryEvent(
            provider="trackdrive", message_id="1", status=DeliveryStatus.SENT, sender=number
        ),
    ]
    for event in events:
        text = repr(event)
        assert number not in text and "+1303*****34" in text
        assert "my secret" not in text
