"""Read-side namespaces: exact requests, typed results and hydra pagination."""

from __future__ import annotations

import pytest

from smsbridge import APIError, ValidationError
from smsbridge.providers.textus import (
    Account,
    Contact,
    Conversation,
    Integration,
    OptOut,
    TextUsMessage,
)

ACCOUNT = {
    "@type": "Account", "id": "/accounts/acct", "name": "Acme", "slug": "acct",
    "phoneNumbers": ["(303) 555-1111"], "effectiveRole": "admin", "type": "standard",
    "messagingRestricted": False, "brandNewField": {"x": 1},
}
CONTACT = {
    "@type": "Contact", "id": "/contacts/DQeeO69", "name": "Ann Lee", "firstName": "Ann",
    "lastName": "Lee", "data": {"businessName": "Acme"}, "createdAt": "2020-01-02T03:04:05Z",
    "phones": {"@type": "hydra:Collection", "totalItems": 1, "members": [
        {"id": "/contact_phones/p1", "phoneNumber": "+13035551234", "type": "Mobile",
         "deliverabilityStatus": "unknown"}]},
}


async def test_accounts_list_sends_documented_query_params_and_pages(api, textus):
    api.add("GET", "/accounts?descendants=true&q=acme&type=standard",
            payload=api.collection([ACCOUNT], next_link="/accounts?cursor=p2"))
    api.add("GET", "/accounts?cursor=p2", payload=api.collection([{**ACCOUNT, "slug": "child"}]))

    accounts = await textus.accounts.list(q="acme", type="standard", descendants=True).to_list()

    assert [a.slug for a in accounts] == ["acct", "child"]
    first = accounts[0]
    assert isinstance(first, Account)
    assert first.phone_numbers == ("(303) 555-1111",)
    assert first.messaging_restricted is False
    assert first.raw["brandNewField"] == {"x": 1}
    call = api.calls("GET", "/accounts?descendants=true&q=acme&type=standard")[0]
    api.assert_textus_headers(call, body=False)


async def test_accounts_get_defaults_to_the_provider_account(api, textus):
    api.add("GET", "/accounts/acct", payload=ACCOUNT)
    account = await textus.accounts.get()
    assert account.name == "Acme"
    api.only_call("GET", "/accounts/acct")
    api.add("GET", "/accounts/child", payload={**ACCOUNT, "slug": "child"})
    assert (await textus.accounts.get("child")).slug == "child"


async def test_collections_follow_view_next_across_several_pages(api, textus):
    api.add("GET", "/acct/contacts",
            payload=api.collection([CONTACT], next_link="/acct/contacts?cursor=abc", total=3))
    api.add("GET", "/acct/contacts?cursor=abc",
            payload=api.collection([{**CONTACT, "id": "/contacts/B"}],
                                   next_link="/acct/contacts?cursor=d%3D%3D"))
    api.add("GET", "/acct/contacts?cursor=d%3D%3D",
            payload=api.collection([{**CONTACT, "id": "/contacts/C"}], next_link=None))

    pager = textus.contacts.list()
    assert api.total_calls == 0  # nothing is fetched until iteration
    ids = [contact.id async for contact in pager]

    assert ids == ["/contacts/DQeeO69", "/contacts/B", "/contacts/C"]
    assert api.total_calls == 3


async def test_pages_expose_totals_and_stop_when_view_is_absent(api, textus):
    api.add("GET", "/acct/contacts", payload={"members": [CONTACT], "totalItems": 1})
    pages = [page async for page in textus.contacts.list().pages()]
    assert len(pages) == 1
    assert pages[0].total == 1 and pages[0].next is None


async def test_a_next_link_that_repeats_an_earlier_page_ends_the_iteration(api, textus):
    api.add("GET", "/acct/contacts",
            payload=api.collection([CONTACT], next_link="/acct/contacts?cursor=a"))
    api.add("GET", "/acct/contacts?cursor=a",
            payload=api.collection([CONTACT], next_link="/acct/contacts?cursor=a"))
    contacts = await textus.contacts.list().to_list()
    assert len(contacts) == 2
    assert api.total_calls == 2


async def test_a_next_link_to_another_host_is_refused(api, textus):
    api.add("GET", "/acct/contacts",
            payload=api.collection([CONTACT], next_link="https://evil.example/steal?cursor=1"))
    with pytest.raises(APIError, match="outside"):
        await textus.contacts.list().to_list()
    assert api.total_calls == 1


async def test_an_absolute_next_link_on_our_base_url_is_followed(api, textus):
    api.add("GET", "/acct/contacts",
            payload=api.collection([CONTACT], next_link=api.BASE + "/acct/contacts?cursor=z"))
    api.add("GET", "/acct/contacts?cursor=z", payload=api.collection([CONTACT]))
    assert len(await textus.contacts.list().to_list()) == 2


async def test_conversations_get_by_phone_percent_encodes_the_plus(api, textus):
    api.add("GET", "/acct/conversations/%2B13035551234", payload={
        "@type": "Conversation", "id": "/conversations/kY1QwY", "slug": "kY1QwY",
        "phoneNumber": "+13035551234", "currentState": "open", "closeConversation":
        "/conversations/kY1QwY/close", "latestPreviewableItem": api.message_json(),
    })
    conversation = await textus.conversations.get("303-555-1234")
    assert isinstance(conversation, Conversation)
    assert conversation.current_state == "open"
    assert isinstance(conversation.latest_previewable_item, TextUsMessage)
    assert "+13035551234" not in repr(conversation)  # numbers are masked in reprs
    api.only_call("GET", "/acct/conversations/%2B13035551234")


async def test_conversation_timeline_by_phone_looks_up_then_pages(api, textus):
    api.add("GET", "/acct/conversations/%2B13035551234",
            payload={"id": "/conversations/kY1QwY", "timeline": "/conversations/kY1QwY/timeline"})
    api.add("GET", "/conversations/kY1QwY/timeline", payload={
        "@type": "Timeline", "members": [api.message_json(id="/messages/b")],
        "view": {"next": "/conversations/kY1QwY/timeline?cursor=2"}})
    api.add("GET", "/conversations/kY1QwY/timeline?cursor=2",
            payload={"@type": "Timeline", "members": [api.message_json(id="/messages/a")]})

    pager = textus.conversations.timeline("+13035551234")
    assert api.total_calls == 0
    messages = await pager.to_list()

    assert [m.id for m in messages] == ["/messages/b", "/messages/a"]
    assert api.total_calls == 3


async def test_conversation_timeline_by_iri_skips_the_lookup(api, textus):
    api.add("GET", "/conversations/kY1QwY/timeline", payload=api.collection([]))
    assert await textus.conversations.timeline("/conversations/kY1QwY").to_list() == []
    api.only_call("GET", "/conversations/kY1QwY/timeline")


async def test_contacts_search_uses_the_contact_filter(api, textus):
    api.add("GET", "/acct/contact_filters/all/contacts?q=303", payload=api.collection([CONTACT]))
    contacts = await textus.contacts.list(q="303").to_list()
    contact = contacts[0]
    assert isinstance(contact, Contact)
    assert contact.phones[0].phone_number == "+13035551234"
    assert contact.data == {"businessName": "Acme"}
    assert contact.slug == "DQeeO69"


async def test_contacts_get_create_and_update(api, textus):
    api.add("GET", "/contacts/DQeeO69", payload=CONTACT)
    api.add("POST", "/acct/contacts", status=200, payload=CONTACT)
    api.add("PUT", "/contacts/DQeeO69", payload={**CONTACT, "name": "Ann B. Lee"})

    assert (await textus.contacts.get("DQeeO69")).name == "Ann Lee"
    created = await textus.contacts.create(
        name="Ann Lee",
        phones=["(303) 555-1234", ("720-555-0123", "Work"), {"number": "+13035550000",
                                                             "type": "Mobile"}],
        data={"businessName": "Acme", "tags": ["vip"]},
    )
    updated = await textus.contacts.update(created, name="Ann B. Lee")

    create_call = api.calls("POST", "/acct/contacts")[0]
    api.assert_textus_headers(create_call)
    assert api.json_sent(create_call) == {
        "name": "Ann Lee",
        "phones": [{"number": "+13035551234"}, {"number": "+17205550123", "type": "Work"},
                   {"number": "+13035550000", "type": "Mobile"}],
        "data": {"businessName": "Acme", "tags": ["vip"]},
    }
    assert api.json_sent(api.calls("PUT", "/contacts/DQeeO69")[0]) == {"name": "Ann B. Lee"}
    assert updated.name == "Ann B. Lee"


async def test_contact_create_needs_a_valid_phone(api, textus):
    with pytest.raises(ValidationError, match="at least one phone"):
        await textus.contacts.create(name="No phone")
    with pytest.raises(ValidationError, match="each contact phone"):
        await textus.contacts.create(phones=[42])
    assert api.total_calls == 0


async def test_opt_outs_list_sends_q_and_exact_numbers(api, textus):
    api.add("GET", "/acct/opt_outs?q=303&exact[]=%2B13035551234&exact[]=%2B17205550123",
            payload=api.collection([{"@type": "OptOut", "id": "/acct/opt_outs/+13035551234",
                                     "phoneNumber": "+13035551234", "createdVia": "User",
                                     "createdAt": "2023-11-17T13:59:04.568354-05:00"}]))
    records = await textus.opt_outs.list(
        q="303", exact=["303-555-1234", "+17205550123"]
    ).to_list()
    assert isinstance(records[0], OptOut)
    assert records[0].created_at is not None and records[0].created_at.utcoffset() is not None
    with pytest.raises(ValidationError, match="3 characters"):
        textus.opt_outs.list(q="30")


async def test_opt_outs_check_is_true_for_an_opt_out_record(api, textus):
    api.add("GET", "/acct/opt_outs/%2B13035551234",
            payload={"@type": "OptOut", "phoneNumber": "+13035551234"})
    api.add("GET", "/acct/opt_outs/%2B17205550123",
            payload={"@type": "OptOut", "type": "opt-in", "phoneNumber": "+17205550123"})
    assert await textus.opt_outs.check("+13035551234") is True
    assert await textus.opt_outs.check("+17205550123") is False


async def test_opt_outs_create_puts_the_number(api, textus):
    api.add("PUT", "/acct/opt_outs/%2B13035551234", status=201,
            payload={"@type": "OptOut", "phoneNumber": "+13035551234"})
    record = await textus.opt_outs.create("+13035551234")
    assert record.is_opted_out
    api.only_call("PUT", "/acct/opt_outs/%2B13035551234")


async def test_create_webhook_posts_the_documented_integration_body_and_returns_the_secret(
    api, textus
):
    api.add("POST", "/acct/integrations", status=201, payload={
        "@type": "Integration", "id": "/integrations/0yX2VrJ", "provider": "webhook",
        "active": True,
        "config": {"baseUrl": "https://hooks.example/textus",
                   "webhookSecret": "textus-abcdef0123456789"},
        "settings": {"actions": {"message.delivered": True, "contact.opted_out": True,
                                 "message.failed": False}},
    })

    integration = await textus.integrations.create_webhook(
        "https://hooks.example/textus", events=["message.delivered", "contact.opted_out"]
    )

    call = api.only_call("POST", "/acct/integrations")
    api.assert_textus_headers(call)
    assert api.json_sent(call) == {
        "@type": "Integration",
        "@context": "/contexts/Integration.jsonld",
        "provider": "webhook",
        "active": True,
        "config": {"baseUrl": "https://hooks.example/textus"},
        "settings": {"actions": {
            "message.received": False,
            "message.delivered": True,
            "message.failed": False,
            "message.unknown": False,
            "phone_call.completed": False,
            "contact.opted_out": True,
            "contact.opted_in": False,
            "contact.created": False,
        }},
    }
    assert isinstance(integration, Integration)
    assert integration.url == "https://hooks.example/textus"
    assert integration.webhook_secret == "textus-abcdef0123456789"
    assert integration.actions == ("message.delivered", "contact.opted_out")
    assert "textus-abcdef" not in repr(integration)


async def test_integrations_list_reads_both_settings_layouts(api, textus):
    api.add("GET", "/acct/integrations", payload=api.collection([
        {"id": "/integrations/a", "provider": "webhook",
         "settings": {"url": "https://a.example", "actions": ["message.received"]}},
        {"id": "/integrations/b", "provider": "webhook",
         "config": {"baseUrl": "https://b.example", "webhookSecret": "textus-b"},
         "settings": {"actions": {"message.received": True, "message.failed": False}}},
    ]))
    first, second = await textus.integrations.list().to_list()
    assert (first.url, first.actions) == ("https://a.example", ("message.received",))
    assert (second.url, second.actions) == ("https://b.example", ("message.received",))
    assert second.webhook_secret == "textus-b"


async def test_create_webhook_rejects_bad_urls_and_unknown_events(api, textus):
    with pytest.raises(ValidationError, match="http"):
        await textus.integrations.create_webhook("hooks.example/textus")
    with pytest.raises(ValidationError, match=r"message\.delivred"):
        await textus.integrations.create_webhook("https://h.example", ["message.delivred"])
    with pytest.raises(ValidationError):
        await textus.integrations.create_webhook("https://h.example", [])
    assert api.total_calls == 0
