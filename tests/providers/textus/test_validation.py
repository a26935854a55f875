"""Bad input is rejected with a typed error before any request goes out."""

from __future__ import annotations

from datetime import datetime

import pytest

from smsbridge import (
    Attachment,
    AttachmentError,
    ConfigurationError,
    InvalidMessage,
    InvalidPhoneNumber,
    Message,
    Recipient,
    ValidationError,
)
from smsbridge.providers.textus import TextUsProvider


@pytest.mark.parametrize("number", ["12", "not a number", "+1303555", "", "   ", "+99912345678"])
async def test_invalid_phone_numbers_are_rejected_with_no_request(api, textus, number):
    with pytest.raises(InvalidPhoneNumber):
        await textus.send(Message(to=number, body="hi"))
    assert api.total_calls == 0


async def test_one_bad_number_in_a_batch_rejects_the_whole_batch_with_no_request(api, textus):
    with pytest.raises(InvalidPhoneNumber) as caught:
        await textus.send_many(["+13035551234", "555"], "hi")
    assert "'***'" in str(caught.value)  # the bad number is masked, not echoed
    assert api.total_calls == 0


async def test_invalid_sender_number_is_rejected_with_no_request(api, textus):
    with pytest.raises(InvalidPhoneNumber):
        await textus.send(Message(to="+13035551234", body="hi", sender="123"))
    assert api.total_calls == 0


@pytest.mark.parametrize("body", ["", "   \n\t"])
async def test_empty_body_without_saved_reply_is_invalid(api, textus, body):
    with pytest.raises(InvalidMessage, match="body is empty"):
        await textus.send(Message(to="+13035551234", body=body))
    assert api.total_calls == 0


async def test_send_needs_exactly_one_recipient(api, textus):
    with pytest.raises(InvalidMessage, match="exactly one recipient"):
        await textus.send(Message(to=["+13035551234", "+17205550123"], body="hi"))
    with pytest.raises(InvalidMessage, match="no recipients"):
        await textus.send_batch(Message(to=[], body="hi"))
    assert api.total_calls == 0


async def test_batch_with_recipient_variables_is_refused(api, textus):
    message = Message(to=[Recipient("+13035551234", variables={"name": "Ann"})], body="Hi {name}")
    with pytest.raises(InvalidMessage, match="Dispatcher"):
        await textus.send_batch(message)
    assert api.total_calls == 0


async def test_unknown_options_are_refused_naming_the_known_ones(api, textus):
    with pytest.raises(InvalidMessage, match="saved_reply"):
        await textus.send(Message(to="+13035551234", body="hi", options={"savedreply": "x"}))
    with pytest.raises(InvalidMessage, match="may not override"):
        await textus.send(Message(to="+13035551234", body="hi", options={"extra": {"to": "x"}}))
    with pytest.raises(InvalidMessage, match="email"):
        await textus.send(Message(to="+13035551234", body="hi", options={"email": "nobody"}))
    assert api.total_calls == 0


@pytest.mark.parametrize(
    ("when", "match"),
    [
        (datetime(2058, 10, 25, 18, 9, 13), "no timezone"),
        ("2058-10-25T18:09:13", "no timezone"),
        ("next tuesday", "not a date-time"),
    ],
)
async def test_bad_scheduled_at_is_rejected(api, textus, when, match):
    with pytest.raises(InvalidMessage, match=match):
        await textus.send(Message(to="+13035551234", body="x", options={"scheduled_at": when}))
    assert api.total_calls == 0


async def test_without_account_or_sender_the_send_is_a_configuration_error(api):
    async with TextUsProvider(api.TOKEN, base_url=api.BASE, rate_limiter=None) as textus:
        with pytest.raises(ConfigurationError, match="account"):
            await textus.send(Message(to="+13035551234", body="hi"))
        with pytest.raises(InvalidMessage, match="sender"):
            await textus.messages.send_without_account("+13035551234", "hi")
        with pytest.raises(ConfigurationError, match="account slug"):
            await textus.opt_outs.check("+13035551234")
        with pytest.raises(ConfigurationError, match="account slug"):
            textus.contacts.list()
    assert api.total_calls == 0


@pytest.mark.parametrize(
    ("attachments", "match"),
    [
        (
            [Attachment("https://x.example/a.png", "image/png")] * 2,
            "1 attachment per request",
        ),
        ([Attachment("https://x.example/a.exe", "application/x-msdownload")], "does not accept"),
        ([Attachment("https://x.example/a.mp4", "video/mp4")], "does not accept"),
        ([Attachment("https://x.example/download", "")], "cannot be inferred"),
        ([Attachment("ftp://x.example/a.png", "image/png")], "public http"),
        ([Attachment("/local/file.png", "image/png")], "public http"),
        ([Attachment("https://x.example/a.png", "image/png", size=525_000)],
         "at most 524999 bytes"),
        ([Attachment("https://x.example/a.png", "image/png", size=525 * 1024 - 1)],
         "under 525 KB"),
        ([Attachment("https://x.example/a.png", "image/png", size=-1)], "under 525 KB"),
    ],
)
async def test_bad_attachments_are_rejected_with_no_request(api, textus, attachments, match):
    with pytest.raises(AttachmentError, match=match):
        await textus.send(Message(to="+13035551234", body="hi", attachments=attachments))
    assert api.total_calls == 0


async def test_attachment_of_524999_bytes_is_the_largest_accepted(api, textus):
    api.add("POST", "/acct/messages", status=201, payload=api.message_json())
    ok = Attachment("https://x.example/a.pdf", "application/pdf", size=524_999)
    await textus.send(Message(to="+13035551234", body="hi", attachments=[ok]))
    assert api.total_calls == 1


async def test_head_size_of_525000_bytes_is_refused_before_the_send(api, verifying):
    api.add("HEAD", "https://files.example/edge.png", headers={"Content-Length": "525000"})
    with pytest.raises(AttachmentError, match=r"525000 bytes.*under 525 KB"):
        await verifying.send(Message(to="+13035551234", body="hi",
                                     attachments=[Attachment("https://files.example/edge.png",
                                                             "image/png")]))
    assert api.calls("POST", "/acct/messages") == []


# --- verify_attachment_size: a HEAD through the pipeline, without credentials --------------------


@pytest.fixture
async def verifying(api):
    async with TextUsProvider(api.TOKEN, "acct", base_url=api.BASE, rate_limiter=None,
                              retry=api.FAST_RETRY, verify_attachment_size=True) as provider:
        yield provider


async def test_head_size_over_the_limit_is_rejected_before_the_send(api, verifying):
    api.add("HEAD", "https://files.example/big.png", headers={"Content-Length": "600000"})
    with pytest.raises(AttachmentError, match="600000 bytes"):
        await verifying.send(Message(to="+13035551234", body="hi",
                                     attachments=[Attachment("https://files.example/big.png",
                                                             "image/png")]))
    head = api.only_call("HEAD", "https://files.example/big.png")
    assert "Authorization" not in head.kwargs["headers"]
    assert "Accept" not in head.kwargs["headers"]


async def test_head_size_is_checked_once_per_url(api, verifying):
    api.add("HEAD", "https://files.example/ok.png", headers={"Content-Length": "1000"})
    api.add("POST", "/acct/messages", status=201, payload=api.message_json(), repeat=True)
    photo = Attachment("https://files.example/ok.png", "image/png")
    for _ in range(3):
        await verifying.send(Message(to="+13035551234", body="hi", attachments=[photo]))
    assert len(api.calls("HEAD", "https://files.example/ok.png")) == 1
    assert len(api.calls("POST", "/acct/messages")) == 3


async def test_head_error_or_unknown_size(api, verifying):
    api.add("HEAD", "https://files.example/gone.png", status=404)
    api.add("HEAD", "https://files.example/nolength.png")
    api.add("POST", "/acct/messages", status=201, payload=api.message_json())
    with pytest.raises(AttachmentError, match="HTTP 404"):
        await verifying.send(Message(to="+13035551234", body="hi",
                                     attachments=[Attachment("https://files.example/gone.png",
                                                             "image/png")]))
    assert api.calls("POST", "/acct/messages") == []
    # A host that does not say the size is not blocked: the size is simply unknown.
    await verifying.send(Message(to="+13035551234", body="hi",
                                 attachments=[Attachment("https://files.example/nolength.png",
                                                         "image/png")]))
    assert len(api.calls("POST", "/acct/messages")) == 1


def test_constructor_rejects_bad_configuration():
    with pytest.raises(ConfigurationError, match="token"):
        TextUsProvider("")
    with pytest.raises(ConfigurationError, match="token"):
        TextUsProvider("abc\r\nX-Evil: 1")
    with pytest.raises(ConfigurationError, match="account slug"):
        TextUsProvider("t", "../admin")
    with pytest.raises(ConfigurationError, match="default_region"):
        TextUsProvider("t", "acct", default_region="XX")
    with pytest.raises(ConfigurationError, match="http"):
        TextUsProvider("t", "acct", base_url="ftp://x")
    with pytest.raises(TypeError, match="rate_limiter"):
        TextUsProvider("t", "acct", rate_limiter="fast")


async def test_bad_resource_ids_are_validation_errors(api, textus):
    with pytest.raises(ValidationError):
        await textus.messages.get("")
    with pytest.raises(ValidationError):
        await textus.messages.get("/messages/a b")
    with pytest.raises(ValidationError):
        await textus.contacts.update("DQeeO69")  # nothing to update
    assert api.total_calls == 0
