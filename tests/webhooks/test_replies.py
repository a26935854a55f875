"""HELP/INFO as their own inbound kind, and the one-time opt-out confirmation reply."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from smsbridge.errors import ConfigurationError
from smsbridge.journal.store import Journal
from smsbridge.models import InboundMessage, OptOutEvent
from smsbridge.testing import FakeProvider
from smsbridge.webhooks import EventRouter, OptOutReply

PHONE = "+13035550142"
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def text(body: str, n: int, sender: str = PHONE, provider: str = "fake") -> InboundMessage:
    return InboundMessage(provider=provider, message_id=f"/m/{n}", sender=sender, body=body,
                          event_id=f"in-{n}", received_at=T0 + timedelta(minutes=n))


async def test_an_opt_out_is_confirmed_once_through_its_own_provider_and_never_journaled(
    tmp_path: Path,
) -> None:
    fake = FakeProvider()
    with Journal(tmp_path / "j.sqlite") as journal:
        router = EventRouter(journal=journal,
                             opt_out_reply=OptOutReply(fake, "Unsubscribed. Reply START."))
        await router.dispatch([text("Revoke", 1)])
        await router.dispatch([text("Revoke", 1)])  # the provider redelivers it
        await router.dispatch([text("STOP", 2)])  # a second STOP: already opted out
        await router.dispatch([OptOutEvent(provider="fake", phone=PHONE, event_id="api-1",
                                           occurred_at=T0 + timedelta(minutes=3))])
        assert journal.is_suppressed(PHONE)
        assert journal.jobs() == []  # not a job, not a marketing send
    assert [(m.to, m.body) for m in fake.accepted] == [(PHONE, "Unsubscribed. Reply START.")]


async def test_a_number_that_had_opted_out_before_gets_no_confirmation(tmp_path: Path) -> None:
    fake = FakeProvider()
    with Journal(tmp_path / "j.sqlite") as journal:
        journal.suppress(PHONE, reason="opted_out", source="import")
        router = EventRouter(journal=journal, opt_out_reply=OptOutReply(fake))
        await router.dispatch([text("opt out", 1)])
    assert fake.accepted == []


async def test_an_opt_in_then_a_new_opt_out_is_confirmed_again(tmp_path: Path) -> None:
    fake = FakeProvider()
    with Journal(tmp_path / "j.sqlite") as journal:
        router = EventRouter(journal=journal, opt_out_reply=OptOutReply(fake))
        await router.dispatch([text("STOP ALL", 1), text("Yes", 2), text("quit", 3)])
        assert journal.is_suppressed(PHONE)
    assert [m.to for m in fake.accepted] == [PHONE, PHONE]


async def test_an_opt_out_from_another_provider_is_not_confirmed_through_this_one(
    tmp_path: Path,
) -> None:
    fake = FakeProvider()
    with Journal(tmp_path / "j.sqlite") as journal:
        router = EventRouter(journal=journal, opt_out_reply=OptOutReply(fake))
        await router.dispatch([text("STOP", 1, provider="textus")])
        assert journal.is_suppressed(PHONE)
    assert fake.accepted == []


def test_an_opt_out_reply_needs_a_suppression_list_and_a_text() -> None:
    with pytest.raises(ConfigurationError, match="journal or suppression"):
        EventRouter(opt_out_reply=OptOutReply(FakeProvider()))
    with pytest.raises(ConfigurationError, match="empty"):
        OptOutReply(FakeProvider(), "  ")


async def test_help_and_info_go_to_on_help_and_neither_opt_out_nor_in(tmp_path: Path) -> None:
    helped: list[InboundMessage] = []
    inbound: list[InboundMessage] = []
    with Journal(tmp_path / "j.sqlite") as journal:
        router = EventRouter(journal=journal, on_help=helped.append, on_inbound=inbound.append)
        await router.dispatch([text("HELP", 1), text("info?", 2), text("help me", 3),
                               text("STOP", 4, sender="+13035550143")])
        assert not journal.is_suppressed(PHONE)
    assert [m.body for m in helped] == ["HELP", "info?"]
    assert len(inbound) == 4
