"""Every TextUs operation of the provider issue, through ``TextUsProvider`` against the sandbox.

Each test checks both ends: what the SDK returned, and what the sandbox stored (``sb.records``)
or how many requests went over the wire (the traced session), so a request that must not be
made — or must not be repeated — is proven absent.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from smsbridge import Attachment, Message
from smsbridge.errors import (
    AuthenticationError,
    ConfigurationError,
    InvalidMessage,
    NotFoundError,
    UnprocessableError,
    ValidationError,
)
from smsbridge.models import DeliveryStatus, Receipt
from smsbridge.providers.textus import TextUsProvider
from smsbridge.sandbox import Sandbox

NUMBER = "+13035551234"
OTHER = "+17205550123"
THIRD = "+13035559876"
PDF = "https://cdn.example.com/menu.pdf"


def message_id(receipt: Receipt) -> str:
    assert receipt.message_id is not None, "a 201 with a Message carries its id"
    return receipt.message_id


async def test_send_posts_to_the_account_and_the_receipt_is_the_stored_message(
    sb: Sandbox, textus: TextUsProvider
) -> None:
    receipt = await textus.send(Message(to="(303) 555-1234", body="Hi there"))
    sent = message_id(receipt)
    [record] = sb.records
    assert (record.route, record.method, record.path) == (
        "textus.send", "POST", "/textus/sandbox/messages")
    assert record.body == {"to": NUMBER, "body": "Hi there"}
    assert sent == record.message_id and sent.startswith("/messages/")
    assert (receipt.to, receipt.status, receipt.raw_status) == (
        NUMBER, DeliveryStatus.QUEUED, "queued")
    assert await sb.settle()
    fetched = await textus.messages.get(sent)
    assert fetched.id == sent and fetched.body == "Hi there"
    assert fetched.delivery_status is DeliveryStatus.DELIVERED and fetched.direction == "out"
    assert fetched.slug == sent.rsplit("/", 1)[1]


async def test_attachment_goes_out_as_media_url_and_comes_back_on_the_message(
    sb: Sandbox, textus: TextUsProvider
) -> None:
    receipt = await textus.send(Message(
        to=NUMBER, body="Menu attached",
        attachments=[Attachment(url=PDF, content_type="application/pdf")]))
    assert sb.records[0].body == {  # the documented attachment send: ``to`` as a list
        "to": [NUMBER], "body": "Menu attached",
        "attachments": [{"media_url": PDF, "content_type": "application/pdf"}]}
    assert receipt.message_id is not None  # a one-element list still answers 201 + Message
    [attachment] = (await textus.messages.get(message_id(receipt))).attachments
    assert (attachment.url, attachment.content_type) == (PDF, "application/pdf")


async def test_saved_reply_201_with_empty_body_is_a_receipt_without_an_id(
    sb: Sandbox, textus: TextUsProvider
) -> None:
    receipt = await textus.send(
        Message(to=NUMBER, body="", options={"saved_reply": "QxvonQv"}))
    assert receipt.message_id is None and receipt.status is DeliveryStatus.ACCEPTED
    assert receipt.raw == {} and receipt.to == NUMBER
    assert await textus.messages.send(OTHER, saved_reply="/saved_replies/QxvonQv") is None
    assert [r.body for r in sb.records] == [  # ``to`` a list, as the documented example
        {"to": [NUMBER], "saved_reply": "/saved_replies/QxvonQv"},
        {"to": [OTHER], "saved_reply": "/saved_replies/QxvonQv"},
    ]
    assert all(r.message_id for r in sb.records)  # stored, even though the SDK got no id


async def test_scheduled_send_goes_to_the_schedule_route_with_utc_scheduled_at(
    sb: Sandbox, textus: TextUsProvider, wire: Any
) -> None:
    when = datetime(2058, 10, 25, 12, 9, 13, tzinfo=timezone(timedelta(hours=-6)))
    receipt = await textus.send(Message(to=NUMBER, body="Later", options={"scheduled_at": when}))
    assert receipt.status is DeliveryStatus.SCHEDULED and receipt.raw_status == "scheduled"
    batch = await textus.messages.schedule([NUMBER, OTHER], "Later, all",
                                           "2058-10-25T18:09:13Z")
    assert batch is None  # a list of recipients: 202, no body
    assert [(r.route, r.path, r.body["scheduled_at"]) for r in sb.records] == [
        ("textus.schedule", "/textus/sandbox/messages/schedule", "2058-10-25T18:09:13Z")] * 3
    assert (await textus.messages.get(message_id(receipt))).delivery_status is (
        DeliveryStatus.SCHEDULED)
    wire.clear()
    with pytest.raises(InvalidMessage, match="timezone"):
        await textus.messages.schedule(NUMBER, "x", datetime(2058, 1, 1))  # naive: refused
    assert wire.exchanges == []


async def test_send_without_an_account_uses_from_or_email_on_the_bare_messages_path(
    sb: Sandbox, make_textus: Callable[..., TextUsProvider], wire: Any
) -> None:
    async with make_textus(sb, account=None) as textus:
        receipt = await textus.send(Message(to=NUMBER, body="Hi", sender=sb.textus.phone_number))
        by_email = await textus.messages.send_without_account(
            OTHER, "Hi", email=sb.textus.user_email)
        assert by_email is not None and by_email.id == sb.records[1].message_id
        requests = len(wire.exchanges)
        with pytest.raises(ConfigurationError, match="account"):
            await textus.send(Message(to=NUMBER, body="Hi"))
        with pytest.raises(InvalidMessage, match="sender"):
            await textus.messages.send_without_account(NUMBER, "Hi")
        assert len(wire.exchanges) == requests  # refused before any request
    assert receipt.message_id == sb.records[0].message_id
    assert [(r.path, r.body) for r in sb.records] == [
        ("/textus/messages", {"to": NUMBER, "body": "Hi", "from": sb.textus.phone_number}),
        ("/textus/messages", {"to": OTHER, "body": "Hi", "email": sb.textus.user_email}),
    ]


async def test_send_batch_is_one_202_request_with_every_number_stored_once(
    sb: Sandbox, textus: TextUsProvider, wire: Any
) -> None:
    batch = await textus.send_batch(Message(to=[NUMBER, OTHER, "(303) 555-1234"], body="All"))
    assert (batch.http_status, batch.to, batch.message_ids) == (202, (NUMBER, OTHER), None)
    assert await textus.messages.send([THIRD, OTHER], "Again") is None
    assert wire.statuses() == [202, 202]
    assert sb.accepted_numbers("textus") == [NUMBER, OTHER, THIRD, OTHER]
    assert sb.records[0].body == {"to": [NUMBER, OTHER], "body": "All"}


async def test_get_of_an_unknown_message_is_not_found_after_one_request(
    textus: TextUsProvider, wire: Any
) -> None:
    with pytest.raises(NotFoundError) as caught:
        await textus.messages.get("/messages/nope")
    assert caught.value.status == 404 and wire.statuses() == [404]


async def test_retry_resends_a_failed_message_and_refuses_a_queued_one(
    make_textus: Callable[..., TextUsProvider], wire: Any
) -> None:
    async with Sandbox(seed=3, delivery_delay=0.02, delivery_failure_ratio=1.0) as sb, \
            make_textus(sb) as textus:
        receipt = await textus.send(Message(to=NUMBER, body="Hi"))
        assert await sb.settle()
        failed = await textus.messages.get(message_id(receipt))
        assert failed.delivery_status is DeliveryStatus.FAILED and failed.retry_allowed
        await textus.messages.retry(failed)  # 202, no body
        assert sb.records[-1].route == "textus.retry"
        assert sb.accepted_numbers("textus") == [NUMBER, NUMBER]  # the retry is a second text
        queued = await textus.messages.get(message_id(receipt))
        assert queued.delivery_status is DeliveryStatus.QUEUED and not queued.retry_allowed
        wire.clear()
        with pytest.raises(UnprocessableError) as caught:
            await textus.messages.retry(queued.slug or "")
        assert "cannot be retried" in caught.value.field_errors["base"][0]
        assert wire.statuses() == [422]  # a POST 422 is final: no second attempt


async def test_accounts_list_and_get_show_the_sandbox_account(textus: TextUsProvider) -> None:
    accounts = [a async for a in textus.accounts.list()]
    assert [(a.slug, a.name, a.messaging_restricted) for a in accounts] == [
        ("sandbox", "Sandbox", False)]
    assert accounts[0].phone_numbers == ("(303) 555-0100",)
    assert await textus.accounts.list(q="no such account").to_list() == []
    assert (await textus.accounts.get()).id == "/accounts/sandbox"


async def test_conversation_and_its_timeline_page_newest_first(
    sb: Sandbox, textus: TextUsProvider, wire: Any
) -> None:
    sb.textus.page_size = 2
    for i in range(4):
        await textus.send(Message(to=NUMBER, body=f"out {i}"))
    sb.textus.receive(NUMBER, "a reply")
    conversation = await textus.conversations.get("303-555-1234")
    assert conversation.phone_number == NUMBER and conversation.unanswered
    assert conversation.latest_previewable_item is not None
    assert conversation.latest_previewable_item.body == "a reply"
    wire.clear()
    pages = [page async for page in textus.conversations.timeline(NUMBER).pages()]
    assert [len(p.items) for p in pages] == [2, 2, 1] and pages[0].total == 5
    bodies = [m.body for p in pages for m in p.items]
    assert bodies == ["a reply", "out 3", "out 2", "out 1", "out 0"]
    assert len(wire.exchanges) == 4  # the conversation lookup, then three pages
    by_object = await textus.conversations.timeline(conversation).to_list()
    assert conversation.id is not None
    by_iri = await textus.conversations.timeline(conversation.id).to_list()
    assert [m.id for m in by_object] == [m.id for m in by_iri] == [
        m.id for p in pages for m in p.items]
    assert (await textus.conversations.get_by_id(conversation.id)).slug == conversation.slug


async def test_contacts_create_get_update_and_search(
    sb: Sandbox, textus: TextUsProvider, wire: Any
) -> None:
    created = await textus.contacts.create(
        name="Ann Lee", phones=[NUMBER, ("720-555-0123", "Work")], data={"tier": "gold"})
    assert sb.records[0].body == {
        "name": "Ann Lee", "data": {"tier": "gold"},
        "phones": [{"number": NUMBER}, {"number": OTHER, "type": "Work"}]}
    assert [(p.phone_number, p.type) for p in created.phones] == [
        (NUMBER, "Mobile"), (OTHER, "Work")]
    assert created.slug is not None
    fetched = await textus.contacts.get(created.slug)
    assert (fetched.id, fetched.first_name, fetched.last_name) == (created.id, "Ann", "Lee")
    updated = await textus.contacts.update(created, name="Ann B. Lee", data={"tier": "platinum"})
    assert (updated.name, updated.data, len(updated.phones)) == (
        "Ann B. Lee", {"tier": "platinum"}, 2)
    assert (sb.records[1].route, sb.records[1].method, sb.records[1].body) == (
        "textus.contacts.update", "PUT", {"name": "Ann B. Lee", "data": {"tier": "platinum"}})
    await textus.contacts.create(name="Bob Stone", phones=[THIRD])
    assert [c.name async for c in textus.contacts.list(q="ann")] == ["Ann B. Lee"]
    assert [c.name async for c in textus.contacts.list(filter="all", q="9876")] == ["Bob Stone"]
    assert [c.name async for c in textus.contacts.list()] == ["Ann B. Lee", "Bob Stone"]
    requests = len(wire.exchanges)
    with pytest.raises(ValidationError, match="nothing to update"):
        await textus.contacts.update(created)
    assert len(wire.exchanges) == requests


async def test_opt_outs_list_search_exact_and_check(
    sb: Sandbox, textus: TextUsProvider, wire: Any
) -> None:
    sb.textus.receive(OTHER, "STOP")  # a keyword opt-out, as a person would send it
    created = await textus.opt_outs.create(THIRD)
    assert created.phone_number == THIRD and created.is_opted_out
    listed = [o.phone_number async for o in textus.opt_outs.list()]
    assert sorted(listed, key=str) == sorted([OTHER, THIRD])
    assert [o.phone_number async for o in textus.opt_outs.list(q="720555")] == [OTHER]
    assert [o.phone_number async for o in textus.opt_outs.list(exact=[THIRD])] == [THIRD]
    assert await textus.opt_outs.check("(720) 555-0123")
    assert not await textus.opt_outs.check(NUMBER)
    assert await textus.opt_outs.get(NUMBER) is None
    requests = len(wire.exchanges)
    with pytest.raises(ValidationError, match="3 characters"):
        textus.opt_outs.list(q="72")
    assert len(wire.exchanges) == requests


async def test_webhook_integration_is_created_listed_and_signs_deliveries(
    sb: Sandbox, textus: TextUsProvider, inbox: Any
) -> None:
    url = inbox.url + "/hooks/textus"
    integration = await textus.integrations.create_webhook(
        url, events=["message.delivered", "contact.opted_out"])
    body = sb.records[0].body
    assert (body["@type"], body["provider"], body["active"], body["config"]) == (
        "Integration", "webhook", True, {"baseUrl": url})  # the documented create body
    assert [a for a, on in body["settings"]["actions"].items() if on] == [
        "message.delivered", "contact.opted_out"]
    assert (integration.url, integration.actions, integration.active) == (
        url, ("message.delivered", "contact.opted_out"), True)
    assert integration.webhook_secret and integration.webhook_secret.startswith("textus-")
    assert [i.id async for i in textus.integrations.list()] == [integration.id]
    receipt = await textus.send(Message(to=NUMBER, body="Hi"))
    post = await inbox.next_post()
    expected = hmac.new(integration.webhook_secret.encode(), post.raw, hashlib.sha256)
    assert post.headers["X-TextUs-Signature"] == expected.hexdigest()
    assert post.json()["action"] == "message.delivered"
    assert post.json()["message"]["id"] == receipt.message_id


async def test_a_wrong_token_is_an_authentication_error_without_retry_or_leak(
    sb: Sandbox, make_textus: Callable[..., TextUsProvider], wire: Any
) -> None:
    async with make_textus(sb, token="not-the-sandbox-token") as textus:
        with pytest.raises(AuthenticationError) as caught:
            await textus.accounts.list().to_list()
        with pytest.raises(AuthenticationError):
            await textus.opt_outs.check(NUMBER)
    assert caught.value.status == 401 and wire.statuses() == [401, 401]
    assert "not-the-sandbox-token" not in str(caught.value) + repr(caught.value)
    assert sb.records == []
