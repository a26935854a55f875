"""Sending through TextUs: the exact requests, and receipts from 201 / 202 / empty bodies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from smsbridge import (
    Attachment,
    BatchReceipt,
    BatchSendingProvider,
    DeliveryStatus,
    Message,
    MessagingProvider,
    Recipient,
)
from smsbridge.providers.textus import TextUsMessage, TextUsProvider


async def test_send_posts_one_recipient_to_the_account_and_returns_the_message_iri(api, textus):
    api.add("POST", "/acct/messages", status=201, payload=api.message_json(),
            headers={"X-Request-Id": "req-1"})

    receipt = await textus.send(Message(to="+13035551234", body="New phone who dis?"))

    call = api.only_call("POST", "/acct/messages")
    api.assert_textus_headers(call)
    assert api.json_sent(call) == {"to": "+13035551234", "body": "New phone who dis?"}
    assert receipt.provider == "textus"
    assert receipt.message_id == "/messages/QNDkpL"
    assert receipt.status is DeliveryStatus.QUEUED
    assert receipt.raw_status == "queued"
    assert receipt.to == "+13035551234"
    assert receipt.request_id == "req-1"
    assert receipt.raw["friendlyStateDescription"] == "Message Queued"


async def test_send_normalises_a_national_number_with_the_default_region(api):
    api.add("POST", "/acct/messages", status=201, payload=api.message_json())
    async with TextUsProvider(api.TOKEN, "acct", base_url=api.BASE, rate_limiter=None,
                              default_region="us") as textus:
        receipt = await textus.send(Message(to="(303) 555-1234", body="hi"))
    assert api.json_sent(api.only_call("POST", "/acct/messages"))["to"] == "+13035551234"
    assert receipt.to == "+13035551234"


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("created", DeliveryStatus.CREATED),
        ("queued", DeliveryStatus.QUEUED),
        ("scheduled", DeliveryStatus.SCHEDULED),
        ("dispatched", DeliveryStatus.SENT),
        ("delivered", DeliveryStatus.DELIVERED),
        ("failed", DeliveryStatus.FAILED),
        ("failed_transient", DeliveryStatus.FAILED),
        ("unknown", DeliveryStatus.UNKNOWN),
        ("received", DeliveryStatus.RECEIVED),
        ("something_new", DeliveryStatus.UNKNOWN),
    ],
)
async def test_receipt_status_maps_every_delivery_state(api, textus, state, expected):
    api.add("POST", "/acct/messages", status=201, payload=api.message_json(deliveryState=state))
    receipt = await textus.send(Message(to="+13035551234", body="hi"))
    assert receipt.status is expected
    assert receipt.raw_status == state


async def test_receipt_falls_back_to_the_newer_status_field(api, textus):
    body = api.message_json(status="dispatched")
    del body["deliveryState"]
    api.add("POST", "/acct/messages", status=201, payload=body)
    receipt = await textus.send(Message(to="+13035551234", body="hi"))
    assert receipt.status is DeliveryStatus.SENT
    assert receipt.raw_status == "dispatched"


async def test_saved_reply_201_with_empty_body_gives_an_accepted_receipt_without_id(api, textus):
    api.add("POST", "/acct/messages", status=201, body=b"")

    receipt = await textus.send(
        Message(to="+13035551234", body="", options={"saved_reply": "/saved_replies/QxvonQv"})
    )

    sent = api.json_sent(api.only_call("POST", "/acct/messages"))
    assert sent == {"to": ["+13035551234"], "saved_reply": "/saved_replies/QxvonQv"}
    assert receipt.message_id is None
    assert receipt.status is DeliveryStatus.ACCEPTED
    assert receipt.to == "+13035551234"


async def test_saved_reply_send_is_the_documented_body_with_to_as_a_list(api, textus):
    api.add("POST", "/acct/messages", status=201, body=b"")
    await textus.send(Message(to="+13035551234", body="New phone who dis?",
                              options={"saved_reply": "QxvonQv"}))
    # Byte for byte the docs' "Sending a Message from a SavedReply" example.
    assert api.only_call("POST", "/acct/messages").kwargs["data"] == (
        b'{"to":["+13035551234"],"body":"New phone who dis?",'
        b'"saved_reply":"/saved_replies/QxvonQv"}'
    )


async def test_saved_reply_through_messages_send_also_puts_to_in_a_list(api, textus):
    api.add("POST", "/acct/messages", status=201, body=b"")
    assert await textus.messages.send("+13035551234", saved_reply="QxvonQv") is None
    sent = api.json_sent(api.only_call("POST", "/acct/messages"))
    assert sent == {"to": ["+13035551234"], "saved_reply": "/saved_replies/QxvonQv"}


async def test_a_202_or_non_json_2xx_on_a_single_send_is_accepted_without_id(api, textus):
    api.add("POST", "/acct/messages", status=202)
    api.add("POST", "/acct/messages", status=201, body=b'{"@type":"Message","id":"/mess')
    first = await textus.send(Message(to="+13035551234", body="hi"))
    second = await textus.send(Message(to="+13035551234", body="hi"))
    assert (first.message_id, first.status) == (None, DeliveryStatus.ACCEPTED)
    assert (second.message_id, second.status) == (None, DeliveryStatus.ACCEPTED)


@pytest.mark.parametrize(
    "when",
    [
        datetime(2058, 10, 25, 12, 9, 13, tzinfo=timezone(timedelta(hours=-6))),
        "2058-10-25T18:09:13Z",
        "2058-10-25T18:09:13.250+00:00",
    ],
)
async def test_scheduled_at_posts_to_the_schedule_endpoint_in_utc(api, textus, when):
    api.add("POST", "/acct/messages/schedule", status=201,
            payload=api.message_json(deliveryState="scheduled", flags=["scheduled"]))

    receipt = await textus.send(
        Message(to="+13035551234", body="later", sender="+17205550123",
                options={"scheduled_at": when})
    )

    sent = api.json_sent(api.only_call("POST", "/acct/messages/schedule"))
    assert sent == {
        "to": "+13035551234",
        "body": "later",
        "from": "+17205550123",
        "scheduled_at": "2058-10-25T18:09:13Z",
    }
    assert receipt.status is DeliveryStatus.SCHEDULED


async def test_schedule_answer_without_a_state_is_reported_scheduled(api, textus):
    api.add("POST", "/acct/messages/schedule", status=201, body=b"")
    when = datetime.now(UTC) + timedelta(days=1)
    receipt = await textus.send(Message(to="+13035551234", body="x",
                                        options={"scheduled_at": when}))
    assert receipt.status is DeliveryStatus.SCHEDULED


async def test_without_an_account_a_sender_or_email_sends_through_post_messages(api):
    api.add("POST", "/messages", status=201, payload=api.message_json())
    api.add("POST", "/messages", status=201, payload=api.message_json())
    async with TextUsProvider(api.TOKEN, base_url=api.BASE, rate_limiter=None) as textus:
        await textus.send(Message(to="+13035551234", body="a", sender="+17205550123"))
        await textus.send(Message(to="+13035551234", body="b",
                                  options={"email": "agent@example.com"}))
    first, second = api.calls("POST", "/messages")
    api.assert_textus_headers(first)
    assert api.json_sent(first) == {"to": "+13035551234", "body": "a", "from": "+17205550123"}
    assert api.json_sent(second) == {"to": "+13035551234", "body": "b",
                                     "email": "agent@example.com"}


async def test_options_account_overrides_the_default_account(api, textus):
    api.add("POST", "/child-account/messages", status=201, payload=api.message_json())
    await textus.send(Message(to="+13035551234", body="hi", options={"account": "child-account"}))
    assert api.json_sent(api.only_call("POST", "/child-account/messages"))["body"] == "hi"


async def test_attachment_is_sent_as_media_url_and_content_type(api, textus):
    api.add("POST", "/acct/messages", status=201, payload=api.message_json())
    photo = Attachment(url="https://cdn.example.com/a.PNG", content_type="Image/PNG", size=2697)
    receipt = await textus.send(Message(to="+13035551234", body="look", attachments=[photo]))
    sent = api.json_sent(api.only_call("POST", "/acct/messages"))
    # The documented attachment example: ``to`` as a one-element list.
    assert sent == {
        "to": ["+13035551234"],
        "body": "look",
        "attachments": [
            {"media_url": "https://cdn.example.com/a.PNG", "content_type": "image/png"}
        ],
    }
    assert receipt.to == "+13035551234" and receipt.message_id is not None


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://x.example/card.vcard", "text/vcard"),
        ("https://x.example/invite.ics?sig=abc", "text/calendar"),
        ("https://x.example/photo.jpeg", "image/jpeg"),
        ("https://x.example/doc.rtf", "application/rtf"),
    ],
)
async def test_missing_attachment_content_type_is_inferred_from_the_extension(
    api, textus, url, expected
):
    api.add("POST", "/acct/messages", status=201, payload=api.message_json())
    await textus.send(Message(to="+13035551234", body="f",
                              attachments=[Attachment(url=url, content_type="")]))
    sent = api.json_sent(api.only_call("POST", "/acct/messages"))
    assert sent["attachments"] == [{"media_url": url, "content_type": expected}]


async def test_extra_option_adds_undocumented_body_fields(api, textus):
    api.add("POST", "/acct/messages", status=201, payload=api.message_json())
    await textus.send(Message(to="+13035551234", body="hi", options={"extra": {"tag": "x"}}))
    assert api.json_sent(api.only_call("POST", "/acct/messages"))["tag"] == "x"


async def test_send_batch_posts_a_list_and_returns_a_batch_receipt_from_the_202(api, textus):
    api.add("POST", "/acct/messages", status=202, headers={"X-Request-Id": "req-b"})

    receipt = await textus.send_batch(
        Message(to=["+13035551234", Recipient("+17205550123"), "303-555-1234"], body="All")
    )

    sent = api.json_sent(api.only_call("POST", "/acct/messages"))
    assert sent == {"to": ["+13035551234", "+17205550123"], "body": "All"}  # deduplicated
    assert isinstance(receipt, BatchReceipt)
    assert receipt.to == ("+13035551234", "+17205550123")
    assert receipt.http_status == 202
    assert receipt.request_id == "req-b"
    assert receipt.message_ids is None


async def test_send_many_takes_numbers_body_and_options(api, textus):
    api.add("POST", "/acct/messages", status=202)
    receipt = await textus.send_many(
        ["+13035551234", "+17205550123"], "Hi all", saved_reply="/saved_replies/QxvonQv"
    )
    sent = api.json_sent(api.only_call("POST", "/acct/messages"))
    assert sent == {
        "to": ["+13035551234", "+17205550123"],
        "body": "Hi all",
        "saved_reply": "/saved_replies/QxvonQv",
    }
    assert receipt.to == ("+13035551234", "+17205550123")


async def test_provider_satisfies_the_messaging_and_batch_protocols(textus):
    assert isinstance(textus, MessagingProvider)
    assert isinstance(textus, BatchSendingProvider)
    caps = textus.capabilities
    assert caps.native_multi_recipient and caps.delivery_webhooks and not caps.idempotent_send
    assert (caps.rate_limit.requests, caps.rate_limit.period) == (1000, 300.0)
    assert caps.max_attachments_per_request == 1
    assert caps.max_attachment_bytes == 524_999  # "under 525KB" read as under 525,000 bytes
    assert {"image/png", "image/jpeg", "application/pdf", "text/vcard"} <= caps.attachment_types


# --- provider.messages -------------------------------------------------------------------------


async def test_messages_send_returns_the_typed_message(api, textus):
    api.add("POST", "/acct/messages", status=201, payload=api.message_json())
    message = await textus.messages.send("+13035551234", "hi")
    assert isinstance(message, TextUsMessage)
    assert message.slug == "QNDkpL"
    assert message.display_timestamp == datetime(2018, 7, 24, 20, 59, 32, 156000, tzinfo=UTC)
    assert message.attachments == ()


async def test_messages_send_with_a_list_returns_none_for_the_202(api, textus):
    api.add("POST", "/acct/messages", status=202)
    assert await textus.messages.send(["+13035551234"], "hi") is None
    assert api.json_sent(api.only_call("POST", "/acct/messages"))["to"] == ["+13035551234"]


async def test_messages_send_without_account_posts_to_messages_even_with_an_account(api, textus):
    api.add("POST", "/messages", status=201, payload=api.message_json())
    await textus.messages.send_without_account("+13035551234", "hi", email="me@example.com")
    sent = api.json_sent(api.only_call("POST", "/messages"))
    assert sent == {"to": "+13035551234", "body": "hi", "email": "me@example.com"}


async def test_messages_schedule_posts_scheduled_at(api, textus):
    api.add("POST", "/acct/messages/schedule", status=201,
            payload=api.message_json(deliveryState="scheduled"))
    message = await textus.messages.schedule(
        "+13035551234", "later", "2058-10-25T18:09:13Z", sender="+17205550123"
    )
    assert message is not None and message.delivery_status is DeliveryStatus.SCHEDULED
    sent = api.json_sent(api.only_call("POST", "/acct/messages/schedule"))
    assert sent["scheduled_at"] == "2058-10-25T18:09:13Z"


@pytest.mark.parametrize(
    "ref", ["QNDkpL", "/messages/QNDkpL", "https://api.test/textus/messages/QNDkpL"]
)
async def test_messages_get_accepts_slug_iri_or_url(api, textus, ref):
    api.add("GET", "/messages/QNDkpL", payload=api.message_json(deliveryState="delivered"))
    message = await textus.messages.get(ref)
    call = api.only_call("GET", "/messages/QNDkpL")
    api.assert_textus_headers(call, body=False)
    assert message.id == "/messages/QNDkpL"
    assert message.delivery_status is DeliveryStatus.DELIVERED


async def test_messages_retry_posts_to_the_retry_link_and_accepts_202(api, textus):
    api.add("POST", "/messages/QNDkpL/retry", status=202)
    assert await textus.messages.retry("/messages/QNDkpL") is None
    call = api.only_call("POST", "/messages/QNDkpL/retry")
    api.assert_textus_headers(call, body=False)
    assert call.kwargs["data"] is None
