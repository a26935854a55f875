"""The emulated TextUs API over real sockets: auth, status codes, shapes, paging."""

from __future__ import annotations

from typing import Any

import pytest

from smsbridge.sandbox import Sandbox

NUMBER = "+13035551234"
OTHER = "+13035555678"


@pytest.mark.parametrize("auth", [None, "Bearer wrong-token", "Basic c2FuZGJveDp4"])
async def test_missing_or_wrong_token_is_401_hydra_error(textus: Any, auth: str | None) -> None:
    headers = {"Authorization": auth} if auth else {"Authorization": ""}
    reply = await textus("POST", "/sandbox/messages", json_body={"to": NUMBER, "body": "x"},
                         headers=headers)
    assert reply.status == 401
    assert reply.data == {"@type": "hydra:Error", "hydra:title": "Unauthorized",
                          "hydra:description": "Invalid or missing API token"}
    assert reply.headers["Content-Type"].startswith("application/vnd.textus+jsonld")


async def test_send_to_one_number_answers_201_message_and_records_it(
    sb: Sandbox, textus: Any
) -> None:
    reply = await textus("POST", "/sandbox/messages", json_body={"to": NUMBER, "body": "Hi"})
    assert reply.status == 201
    message = reply.data
    assert message["@type"] == "Message"
    assert message["id"].startswith("/messages/")
    assert message["direction"] == "out"
    assert message["body"] == "Hi"
    assert message["deliveryState"] == "queued"
    assert message["conversation"].startswith("/conversations/")
    assert message["attachments"]["@type"] == "hydra:Collection"
    [record] = sb.records
    assert (record.provider, record.route, record.method) == ("textus", "textus.send", "POST")
    assert (record.to, record.message_id) == (NUMBER, message["id"])
    assert record.body == {"to": NUMBER, "body": "Hi"}
    assert sb.accepted_numbers("textus") == [NUMBER]


async def test_send_to_a_list_answers_202_without_body_and_stores_each_number(
    sb: Sandbox, textus: Any
) -> None:
    reply = await textus("POST", "/sandbox/messages",
                         json_body={"to": [NUMBER, OTHER], "body": "Hi"})
    assert (reply.status, reply.raw) == (202, b"")
    assert sb.accepted_numbers() == [NUMBER, OTHER]
    ids = {r.message_id for r in sb.records}
    assert len(ids) == 2 and all(i in {m.iri for m in sb.textus.messages.values()} for i in ids)


async def test_saved_reply_send_answers_201_with_empty_body(sb: Sandbox, textus: Any) -> None:
    reply = await textus("POST", "/sandbox/messages", json_body={
        "to": [NUMBER], "body": "New phone who dis?", "saved_reply": "/saved_replies/QxvonQv"})
    assert (reply.status, reply.raw) == (201, b"")
    assert sb.accepted_numbers() == [NUMBER]


async def test_one_element_list_with_attachment_answers_201_with_the_attachment(
    textus: Any,
) -> None:
    reply = await textus("POST", "/sandbox/messages", json_body={
        "to": [NUMBER], "body": "see this", "attachments": [
            {"media_url": "https://example.com/example.png", "content_type": "image/png"}]})
    assert reply.status == 201
    attachments = reply.data["attachments"]
    assert attachments["totalItems"] == 1
    assert attachments["members"][0]["contentType"] == "image/png"
    assert attachments["members"][0]["url"] == "https://example.com/example.png"


@pytest.mark.parametrize(("payload", "field"), [
    ({"to": "+15555550100", "body": "x"}, "to"),
    ({"to": [NUMBER, "12"], "body": "x"}, "to"),
    ({"body": "x"}, "to"),
    ({"to": NUMBER, "body": "  "}, "body"),
    ({"to": NUMBER, "body": "x", "attachments": [
        {"media_url": "https://e.com/a.png", "content_type": "image/png"},
        {"media_url": "https://e.com/b.png", "content_type": "image/png"}]}, "attachments"),
    ({"to": NUMBER, "body": "x", "attachments": [
        {"media_url": "https://e.com/a.bmp", "content_type": "image/bmp"}]}, "attachments"),
    ({"to": NUMBER, "body": "x", "saved_reply": "QxvonQv"}, "saved_reply"),
])
async def test_invalid_send_is_422_with_field_errors_and_stores_nothing(
    sb: Sandbox, textus: Any, payload: dict[str, object], field: str
) -> None:
    reply = await textus("POST", "/sandbox/messages", json_body=payload)
    assert reply.status == 422
    assert reply.data["@type"] == "hydra:Error"
    assert reply.data["hydra:title"] == "Unprocessable Entity"
    assert field in reply.data["errors"]
    assert sb.records == [] and sb.textus.messages == {}


async def test_invalid_number_error_body_is_exactly_the_contract(textus: Any) -> None:
    reply = await textus("POST", "/sandbox/messages", json_body={"to": "+1555", "body": "x"})
    assert reply.data["errors"] == {"to": ["is not a valid phone number"]}
    assert "to is not a valid phone number" in reply.data["hydra:description"]


async def test_malformed_json_is_400_and_unknown_account_is_404(textus: Any) -> None:
    bad = await textus("POST", "/sandbox/messages", data=b"{not json")
    assert bad.status == 400 and bad.data["hydra:title"] == "Bad Request"
    unknown = await textus("POST", "/elsewhere/messages", json_body={"to": NUMBER, "body": "x"})
    assert unknown.status == 404 and unknown.data["hydra:title"] == "Not Found"


async def test_send_without_account_needs_from_or_email(sb: Sandbox, textus: Any) -> None:
    neither = await textus("POST", "/messages", json_body={"to": NUMBER, "body": "x"})
    assert neither.status == 422 and "from" in neither.data["errors"]
    bad_email = await textus("POST", "/messages",
                             json_body={"to": NUMBER, "body": "x", "email": "nobody"})
    assert bad_email.status == 422 and "email" in bad_email.data["errors"]
    by_email = await textus("POST", "/messages",
                            json_body={"to": NUMBER, "body": "x", "email": "me@example.com"})
    by_from = await textus("POST", "/messages",
                           json_body={"to": OTHER, "body": "x", "from": sb.textus.phone_number})
    assert (by_email.status, by_from.status) == (201, 201)
    assert [r.route for r in sb.records] == ["textus.send", "textus.send"]
    assert [r.path for r in sb.records] == ["/textus/messages", "/textus/messages"]


async def test_schedule_creates_a_scheduled_message(sb: Sandbox, textus: Any) -> None:
    reply = await textus("POST", "/sandbox/messages/schedule", json_body={
        "to": NUMBER, "body": "later", "from": sb.textus.phone_number,
        "scheduled_at": "2058-10-25T18:09:13Z"})
    assert reply.status == 201
    assert reply.data["deliveryState"] == "scheduled"
    assert reply.data["flags"] == ["scheduled"]
    assert sb.records[0].route == "textus.schedule"
    missing = await textus("POST", "/sandbox/messages/schedule", json_body={"to": NUMBER,
                                                                            "body": "x"})
    assert missing.status == 422 and missing.data["errors"] == {"scheduled_at": ["can't be blank"]}


async def test_get_message_by_id_and_404_for_unknown(textus: Any) -> None:
    sent = await textus("POST", "/sandbox/messages", json_body={"to": NUMBER, "body": "Hi"})
    got = await textus("GET", sent.data["id"])
    assert got.status == 200 and got.data["id"] == sent.data["id"]
    missing = await textus("GET", "/messages/nope")
    assert missing.status == 404


async def test_retry_is_refused_for_delivered_and_accepted_for_failed(
    textus: Any, clients: Any
) -> None:
    sandbox = Sandbox(seed=3, delivery_delay=0.0, delivery_failure_ratio=1.0)
    async with sandbox:
        client, _ = clients(sandbox)
        sent = await client("POST", "/sandbox/messages", json_body={"to": NUMBER, "body": "Hi"})
        assert await sandbox.settle(2.0)
        failed = await client("GET", sent.data["id"])
        assert failed.data["deliveryState"] == "failed"
        assert failed.data["retryAllowed"] is True
        assert failed.data["retry"] == sent.data["id"] + "/retry"
        retried = await client("POST", failed.data["retry"])
        assert (retried.status, retried.raw) == (202, b"")
        assert [r.route for r in sandbox.records] == ["textus.send", "textus.retry"]
        assert sandbox.accepted_numbers() == [NUMBER, NUMBER]  # a retry texts the person again
    delivered = await textus("POST", "/sandbox/messages", json_body={"to": NUMBER, "body": "x"})
    refused = await textus("POST", delivered.data["id"] + "/retry")
    assert refused.status == 422 and "base" in refused.data["errors"]


async def test_accounts_collection_and_single_account(textus: Any) -> None:
    listed = await textus("GET", "/accounts")
    assert listed.status == 200
    assert listed.data["@type"] == "AccountCollection"
    assert [a["slug"] for a in listed.data["members"]] == ["sandbox"]
    assert listed.data["view"]["next"] is None
    filtered = await textus("GET", "/accounts", params={"slug": "other"})
    assert filtered.data["totalItems"] == 0
    one = await textus("GET", "/accounts/sandbox")
    assert one.data["id"] == "/accounts/sandbox" and one.data["messagingRestricted"] is False


async def test_contacts_create_update_get_and_cursor_paging(sb: Sandbox, textus: Any) -> None:
    sb.textus.page_size = 2
    ids = []
    for i in range(5):
        reply = await textus("POST", "/sandbox/contacts", json_body={
            "name": f"Person {i}", "phones": [{"number": f"1-720-555-01{i:02d}", "type": "Mobile"}],
            "data": {"tags": ["x"]}})
        assert reply.status == 200  # documented status for create
        assert reply.data["phones"]["members"][0]["phoneNumber"] == f"+172055501{i:02d}"
        ids.append(reply.data["id"])
    seen, path, pages = [], "/sandbox/contacts", 0
    while path:
        page = await textus("GET", path)
        assert page.data["totalItems"] == 5
        seen += [m["id"] for m in page.data["members"]]
        path = page.data["view"]["next"]
        pages += 1
    assert pages == 3 and sorted(seen) == sorted(ids)
    updated = await textus("PUT", ids[0], json_body={"name": "Ann Lee"})
    assert updated.data["firstName"] == "Ann" and updated.data["lastName"] == "Lee"
    assert (await textus("GET", ids[0])).data["name"] == "Ann Lee"
    bad = await textus("POST", "/sandbox/contacts", json_body={"phones": [{"number": "12"}]})
    assert bad.status == 422 and "phones" in bad.data["errors"]
    bad_cursor = await textus("GET", "/sandbox/contacts", params={"cursor": "garbage"})
    assert bad_cursor.status == 400


async def test_conversation_by_phone_and_timeline_newest_first(sb: Sandbox, textus: Any) -> None:
    sb.textus.page_size = 2
    sent = [await textus("POST", "/sandbox/messages", json_body={"to": NUMBER, "body": str(i)})
            for i in range(3)]
    conversation = await textus("GET", "/sandbox/conversations/%2B13035551234")
    assert conversation.status == 200
    assert conversation.data["phoneNumber"] == NUMBER
    assert conversation.data["id"] == sent[0].data["conversation"]
    first = await textus("GET", conversation.data["timeline"])
    assert first.data["@type"] == "Timeline" and first.data["totalItems"] == 3
    assert [m["body"] for m in first.data["members"]] == ["2", "1"]
    second = await textus("GET", first.data["view"]["next"])
    assert [m["body"] for m in second.data["members"]] == ["0"]
    assert second.data["view"]["next"] is None
    same = await textus("GET", conversation.data["id"])
    assert same.data["slug"] == conversation.data["slug"]


async def test_opt_outs_put_get_and_list_with_filters(sb: Sandbox, textus: Any) -> None:
    put = await textus("PUT", "/sandbox/opt_outs/%2B13035551234")
    assert put.status == 201
    assert put.data["@type"] == "OptOut" and put.data["phoneNumber"] == NUMBER
    got = await textus("GET", "/sandbox/opt_outs/%2B13035551234")
    assert got.data["id"] == put.data["id"]
    assert (await textus("GET", "/sandbox/opt_outs/%2B13035555678")).status == 404
    listed = await textus("GET", "/sandbox/opt_outs", params={"q": "555123"})
    assert [o["phoneNumber"] for o in listed.data["members"]] == [NUMBER]
    exact = await textus("GET", "/sandbox/opt_outs", params={"exact[]": OTHER})
    assert exact.data["totalItems"] == 0
    short = await textus("GET", "/sandbox/opt_outs", params={"q": "55"})
    assert short.status == 422


def integration_body(url: str, **flags: bool) -> dict[str, Any]:
    return {"@type": "Integration", "@context": "/contexts/Integration.jsonld",
            "provider": "webhook", "active": True, "config": {"baseUrl": url},
            "settings": {"actions": {k.replace("__", "."): v for k, v in flags.items()}}}


async def test_integrations_create_answers_the_documented_shape_and_lists_it(textus: Any) -> None:
    created = await textus("POST", "/sandbox/integrations", json_body=integration_body(
        "https://hooks.example.com/t", message__delivered=True, message__failed=False))
    assert created.status == 201
    integration = created.data
    assert integration["id"].startswith("/integrations/")
    assert integration["provider"] == "webhook" and integration["active"] is True
    assert integration["config"]["baseUrl"] == "https://hooks.example.com/t"
    assert integration["config"]["webhookSecret"].startswith("textus-")
    actions = integration["settings"]["actions"]
    assert [name for name, on in actions.items() if on] == ["message.delivered"]
    without_context = integration_body("https://hooks.example.com/u", message__received=True)
    del without_context["@context"]
    assert (await textus("POST", "/sandbox/integrations", json_body=without_context)).status == 201
    listed = await textus("GET", "/sandbox/integrations")
    assert listed.data["totalItems"] == 2


async def test_integrations_create_refuses_every_undocumented_body_shape_with_422(
    textus: Any,
) -> None:
    good = integration_body("https://x.com/h", message__delivered=True)
    legacy = {"provider": "webhook",
              "settings": {"url": "https://x.com/h", "actions": ["message.delivered"]}}
    shapes: list[dict[str, Any]] = [
        legacy,  # what create_webhook used to send
        {**good, "@type": "Webhook"},
        {k: v for k, v in good.items() if k != "@type"},
        {k: v for k, v in good.items() if k != "active"},
        {**good, "active": "yes"},
        {**good, "provider": "zapier"},
        {**good, "config": {"baseUrl": "ftp://x"}},
        {**good, "config": {"url": "https://x.com/h"}},
        {**good, "settings": {"actions": ["message.delivered"]}},
        {**good, "settings": {"url": "https://x.com/h", "actions": {"message.delivered": True}}},
        {**good, "settings": {"actions": {"message.exploded": True}}},
        {**good, "settings": {"actions": {"contact.opted-out": True}}},
        {**good, "settings": {"actions": {"message.delivered": 1}}},
        {**good, "name": "extra"},
    ]
    for payload in shapes:
        reply = await textus("POST", "/sandbox/integrations", json_body=payload)
        assert reply.status == 422, payload
    assert (await textus("GET", "/sandbox/integrations")).data["totalItems"] == 0
    assert (await textus("POST", "/sandbox/integrations", json_body=good)).status == 201
