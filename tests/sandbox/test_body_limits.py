"""Every provider declares a maximum body length and refuses a longer body before any request."""

from __future__ import annotations

import pytest

import smsbridge
from smsbridge import Dispatcher, InvalidMessage, Message, OutcomeStatus, Recipient
from smsbridge.dispatch.failover import FailoverProvider
from smsbridge.protocol import Capabilities
from smsbridge.providers.textus import TextUsProvider
from smsbridge.providers.trackdrive import TrackDriveProvider
from smsbridge.sandbox import Sandbox
from smsbridge.testing import FakeProvider

NUMBER = "+13035551234"
OTHER = "+13035555678"


def test_every_provider_declares_a_maximum_body_length() -> None:
    assert TextUsProvider.capabilities.max_body_length == 1600
    assert TrackDriveProvider.capabilities.max_body_length == 1600
    assert FakeProvider().capabilities.max_body_length == 1600
    short = FakeProvider(capabilities=Capabilities(max_body_length=160))
    assert FailoverProvider([FakeProvider(), short]).capabilities.max_body_length == 160


@pytest.mark.parametrize("api", ["textus", "trackdrive"])
async def test_a_single_send_over_the_limit_is_refused_before_any_request(
    sb: Sandbox, api: str
) -> None:
    url = sb.textus_connection_url if api == "textus" else sb.trackdrive_connection_url
    async with smsbridge.connect(url) as provider:
        with pytest.raises(InvalidMessage, match=r"1,601 characters.*at most 1,600"):
            await provider.send(Message(to=NUMBER, body="x" * 1601))
        assert sb.records == []  # nothing reached the server
        await provider.send(Message(to=NUMBER, body="x" * 1600))  # the limit itself is fine
    assert sb.accepted_numbers(api) == [NUMBER]


async def test_a_textus_multi_recipient_send_over_the_limit_is_refused_before_any_request(
    sb: Sandbox,
) -> None:
    async with smsbridge.connect(sb.textus_connection_url) as textus:
        assert isinstance(textus, TextUsProvider)
        with pytest.raises(InvalidMessage, match="at most 1,600"):
            await textus.send_many([NUMBER, OTHER], body="x" * 2000)
    assert sb.records == []


async def test_the_dispatcher_fails_an_over_long_rendered_body_as_body_too_long(
    sb: Sandbox,
) -> None:
    to = [Recipient(NUMBER, {"note": "short"}), Recipient(OTHER, {"note": "y" * 1600})]
    async with smsbridge.connect(sb.textus_connection_url) as textus:
        report = await Dispatcher(textus).send(Message(to=to, body="Hi {note}"))
    outcomes = {o.phone: o for o in report}
    assert outcomes[NUMBER].status is OutcomeStatus.SENT
    assert outcomes[OTHER].status is OutcomeStatus.FAILED
    assert outcomes[OTHER].reason == "body_too_long"
    assert sb.accepted_numbers("textus") == [NUMBER]


async def test_a_failover_chain_refuses_a_body_over_its_smallest_limit_before_trying_any() -> None:
    primary = FakeProvider(capabilities=Capabilities(max_body_length=160))
    secondary = FakeProvider()
    chain = FailoverProvider([primary, secondary])
    with pytest.raises(InvalidMessage, match="at most 160"):
        await chain.send(Message(to=NUMBER, body="x" * 161))
    assert primary.calls == secondary.calls == 0
