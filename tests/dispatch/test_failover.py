"""FailoverProvider: the next provider only when the previous one surely did not send."""

from __future__ import annotations

import pytest

from smsbridge import (
    AuthenticationError,
    ConfigurationError,
    DeliveryUnknownError,
    Dispatcher,
    FailoverProvider,
    Message,
    OutcomeStatus,
    RetryPolicy,
    UnprocessableError,
)
from smsbridge.protocol import BatchSendingProvider, Capabilities, MessagingProvider
from smsbridge.testing import FakeProvider, Fault

MSG = Message(to="+13035550100", body="Hi")


@pytest.mark.parametrize("fault", ["connect_error", "rate_limit", Fault("reject", status=401),
                                   Fault("reject", status=403)])
async def test_fails_over_when_the_first_provider_surely_did_not_send(fault: object) -> None:
    primary = FakeProvider(name="primary", script=[fault], retry_after=0.0)
    secondary = FakeProvider(name="secondary")
    receipt = await FailoverProvider([primary, secondary]).send(MSG)

    assert receipt.provider == "secondary"
    assert primary.accepted_count() == 0 and secondary.accepted_count() == 1


@pytest.mark.parametrize("fault", ["timeout", "accepted_then_timeout", "server_error"])
async def test_never_fails_over_after_an_unknown_outcome(fault: str) -> None:
    primary = FakeProvider(name="primary", script=[fault])
    secondary = FakeProvider(name="secondary")
    with pytest.raises(DeliveryUnknownError):
        await FailoverProvider([primary, secondary]).send(MSG)
    assert secondary.calls == 0


async def test_a_rejected_message_is_not_tried_elsewhere() -> None:
    primary = FakeProvider(name="primary", script=[Fault("reject", status=422)])
    secondary = FakeProvider(name="secondary")
    with pytest.raises(UnprocessableError):
        await FailoverProvider([primary, secondary]).send(MSG)
    assert secondary.calls == 0


async def test_when_every_provider_fails_the_last_error_names_what_was_tried() -> None:
    first = FakeProvider(name="first", script=["connect_error"])
    second = FakeProvider(name="second", script=[Fault("reject", status=401)])
    with pytest.raises(AuthenticationError) as caught:
        await FailoverProvider([first, second]).send(MSG)
    assert caught.value.provider == "second"
    assert "first (ConnectError)" in "\n".join(caught.value.__notes__)


async def test_through_the_dispatcher_outcomes_name_the_provider_that_sent() -> None:
    primary = FakeProvider(name="primary", per_number={
        "+13035550100": ["connect_error"], "+13035550101": ["accepted_then_timeout"]})
    secondary = FakeProvider(name="secondary")
    chain = FailoverProvider([primary, secondary])
    report = await Dispatcher(chain, retry=RetryPolicy(max_retries=0)).send(
        Message(to=["+13035550100", "+13035550101", "+13035550102"], body="Hi"))

    assert [(o.status, o.provider) for o in report] == [
        (OutcomeStatus.SENT, "secondary"), (OutcomeStatus.UNKNOWN, "primary"),
        (OutcomeStatus.SENT, "primary")]
    assert secondary.accepted_numbers() == {"+13035550100": 1}  # never the UNKNOWN one


async def test_capabilities_are_what_every_provider_in_the_chain_supports() -> None:
    a = FakeProvider(capabilities=Capabilities(max_body_length=160, attachments=True,
                                               attachment_types=frozenset({"image/png",
                                                                           "image/gif"}),
                                               max_attachments_per_request=3,
                                               native_multi_recipient=True))
    b = FakeProvider(capabilities=Capabilities(max_body_length=1600, attachments=True,
                                               attachment_types=frozenset({"image/png"}),
                                               max_attachments_per_request=1))
    chain = FailoverProvider([a, b])
    caps = chain.capabilities
    assert (caps.max_body_length, caps.attachment_types, caps.max_attachments_per_request) == (
        160, frozenset({"image/png"}), 1)
    assert not caps.native_multi_recipient and caps.rate_limit is None
    assert isinstance(chain, MessagingProvider) and not isinstance(chain, BatchSendingProvider)
    assert repr(chain) == "FailoverProvider([fake, fake])"


async def test_closing_the_chain_closes_every_provider() -> None:
    a, b = FakeProvider(), FakeProvider()
    async with FailoverProvider([a, b]):
        pass
    assert a.closed and b.closed


def test_a_chain_needs_real_providers() -> None:
    with pytest.raises(ConfigurationError):
        FailoverProvider([])
    with pytest.raises(ConfigurationError, match="not a MessagingProvider"):
        FailoverProvider([object()])  # type: ignore[list-item]
