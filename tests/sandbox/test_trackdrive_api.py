"""The emulated TrackDrive API over real sockets: auth, envelopes, lists, schedules, leads."""

from __future__ import annotations

from typing import Any

import pytest

from smsbridge.sandbox import Sandbox

NUMBER = "+16053334444"


def assert_envelope(data: dict[str, Any], root: str) -> dict[str, Any]:
    assert data["status"] == 200 and data["errors"] == {}
    assert data["metadata"] == {"root": root}
    assert len(data["checksum"]) == 32 and int(data["checksum"], 16) >= 0
    record: dict[str, Any] = data[data["metadata"]["root"]]
    return record


@pytest.mark.parametrize("auth", [None, "Basic dGRwdWJfc2FuZGJveDp3cm9uZw==", "Bearer x"])
async def test_wrong_or_missing_key_pair_is_401(trackdrive: Any, auth: str | None) -> None:
    reply = await trackdrive("GET", "/schedules", headers={"Authorization": auth or ""})
    assert reply.status == 401
    assert reply.data == {"status": 401, "errors": {"base": ["Invalid API credentials"]}}


async def test_text_message_envelope_has_every_documented_field(
    sb: Sandbox, trackdrive: Any
) -> None:
    reply = await trackdrive("POST", "/text_messages",
                             params={"message": "Thanks!", "to": NUMBER})
    assert reply.status == 200
    message = assert_envelope(reply.data, "text_message")
    documented = {"id", "from", "to", "message", "number_id", "lead_id",
                  "provider_configuration_id", "message_uuid", "ring_pool_id", "schedule_id",
                  "status", "error_code", "created_at"}
    assert documented <= message.keys()
    assert message["status"] == "queued" and message["to"] == NUMBER
    assert message["from"] == sb.trackdrive.seed.outbound_number
    assert message["message_uuid"].startswith("SM") and len(message["message_uuid"]) == 34
    [record] = sb.records
    assert (record.route, record.to, record.message_id) == (
        "trackdrive.text_messages", NUMBER, str(message["id"]))
    fetched = await trackdrive("GET", f"/text_messages/{message['id']}")
    assert assert_envelope(fetched.data, "text_message")["id"] == message["id"]


async def test_text_message_accepts_the_documented_query_string_and_refuses_any_body(
    sb: Sandbox, trackdrive: Any
) -> None:
    documented = {"message": "Thanks for your inquiry", "to": NUMBER}
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    for kwargs in ({"json_body": documented},
                   {"data": "message=Thanks&to=%2B13035551234", "headers": form},
                   {"params": documented, "json_body": {"manual": True}}):
        refused = await trackdrive("POST", "/text_messages", **kwargs)
        assert refused.status == 422, kwargs
        assert "query string" in refused.data["errors"]["base"][0]
    assert sb.records == [] and sb.trackdrive.text_messages == {}
    reply = await trackdrive("POST", "/text_messages", params=documented)
    assert assert_envelope(reply.data, "text_message")["message"] == "Thanks for your inquiry"
    assert sb.accepted_numbers("trackdrive") == [NUMBER]


async def test_text_message_to_a_lead_uses_the_leads_number(sb: Sandbox, trackdrive: Any) -> None:
    seed = sb.trackdrive.seed
    reply = await trackdrive("POST", "/text_messages",
                             params={"message": "Hi", "lead_id": seed.lead_uuid})
    message = assert_envelope(reply.data, "text_message")
    assert message["to"] == seed.lead_number and message["lead_id"] == seed.lead_id
    assert message["schedule_id"] == seed.active_schedule_id


@pytest.mark.parametrize(("payload", "errors"), [
    ({"to": NUMBER}, {"message": ["can't be blank"]}),
    ({"message": "  ", "to": NUMBER}, {"message": ["can't be blank"]}),
    ({"message": "x"}, {"to": ["can't be blank (pass to or lead_id)"]}),
    ({"message": "x", "to": "+1555"}, {"to": ["is not a valid phone number"]}),
    ({"message": "x", "lead_id": 1}, {"lead_id": ["not found"]}),
    ({"message": "x", "to": NUMBER, "manual": "maybe"},
     {"manual": ["must be a boolean value: 1, true, yes, on, 0, false, no, off"]}),
    ({"message": "x", "to": NUMBER, "delivery_webhook_url": "not a url"},
     {"delivery_webhook_url": ["is not a valid http(s) URL"]}),
    ({"message": "x", "to": NUMBER, "number_id": 5}, {"number_id": ["not found"]}),
    ({"message": "x", "to": "+13035550199"}, {"to": ["is suppressed (DNC)"]}),
])
async def test_invalid_text_message_is_422_envelope_and_stores_nothing(
    sb: Sandbox, trackdrive: Any, payload: dict[str, Any], errors: dict[str, list[str]]
) -> None:
    reply = await trackdrive("POST", "/text_messages", params=payload)
    assert reply.status == 422
    assert reply.data == {"status": 422, "errors": errors}
    assert sb.records == [] and sb.trackdrive.text_messages == {}


async def test_manual_text_skips_the_dnc_check(sb: Sandbox, trackdrive: Any) -> None:
    reply = await trackdrive("POST", "/text_messages", params={
        "message": "x", "to": sb.trackdrive.seed.dnc_number, "manual": "true"})
    assert reply.status == 200
    assert assert_envelope(reply.data, "text_message")["manual"] is True


async def test_text_with_schedule_id_ties_it_to_a_new_lead_on_that_schedule(
    sb: Sandbox, trackdrive: Any
) -> None:
    schedule_id = sb.trackdrive.seed.active_schedule_id
    reply = await trackdrive("POST", "/text_messages", params={
        "message": "x", "to": NUMBER, "schedule_id": str(schedule_id)})
    message = assert_envelope(reply.data, "text_message")
    lead = sb.trackdrive.leads[message["lead_id"]]
    assert (lead["caller_id"], lead["schedule_id"]) == (NUMBER, schedule_id)


async def test_schedules_crud(sb: Sandbox, trackdrive: Any) -> None:
    created = await trackdrive("POST", "/schedules", json_body={
        "name": "Follow-ups 2", "offer_id": 7, "paused": False, "description": "d"})
    schedule = assert_envelope(created.data, "schedule")
    assert (schedule["name"], schedule["paused"], schedule["offer_id"]) == ("Follow-ups 2",
                                                                             False, 7)
    sid = schedule["id"]
    updated = await trackdrive("PUT", f"/schedules/{sid}", json_body={"paused": "yes"})
    assert assert_envelope(updated.data, "schedule")["paused"] is True
    by_uuid = await trackdrive("GET", f"/schedules/{schedule['uuid']}")
    assert assert_envelope(by_uuid.data, "schedule")["id"] == sid
    deleted = await trackdrive("DELETE", f"/schedules/{sid}")
    assert deleted.status == 200
    gone = await trackdrive("GET", f"/schedules/{sid}")
    assert gone.status == 404 and gone.data == {"status": 404,
                                                "errors": {"base": ["Schedule not found"]}}
    bad = await trackdrive("POST", "/schedules", json_body={"paused": "sometimes"})
    assert bad.status == 422 and "paused" in bad.data["errors"]
    assert [r.route for r in sb.records] == [
        "trackdrive.schedules.create", "trackdrive.schedules.update",
        "trackdrive.schedules.delete"]


async def test_schedule_list_pages_and_orders(sb: Sandbox, trackdrive: Any) -> None:
    for i in range(4):
        await trackdrive("POST", "/schedules", json_body={"name": f"S{i}"})
    first = await trackdrive("GET", "/schedules", params={
        "page": "1", "per_page": "3", "order": "name", "order_dir": "desc"})
    assert first.status == 200
    assert first.data["metadata"] == {"root": "schedules", "total_count": 7, "total_pages": 3,
                                      "page": 1, "per_page": 3}
    assert [s["name"] for s in first.data["schedules"]] == ["S3", "S2", "S1"]
    last = await trackdrive("GET", "/schedules", params={"page": 3, "per_page": 3})
    assert len(last.data["schedules"]) == 1
    bare = await trackdrive("GET", "/schedules", params={"root": "false", "columns": "id,name"})
    assert isinstance(bare.data, list) and set(bare.data[0]) == {"id", "name"}
    found = await trackdrive("GET", "/schedules", params={"fulltext": "paused"})
    assert [s["name"] for s in found.data["schedules"]] == ["Paused campaign"]
    for params in ({"order": "nonsense"}, {"order_dir": "up"}, {"page": "0"},
                   {"created_at_from": "yesterday"}):
        assert (await trackdrive("GET", "/schedules", params=params)).status == 422


async def test_leads_post_with_lead_token_then_list_get_update(
    sb: Sandbox, trackdrive: Any
) -> None:
    seed = sb.trackdrive.seed
    posted = await trackdrive("POST", "/leads", headers={"Authorization": ""}, json_body={
        "lead_token": seed.schedule_lead_token, "caller_id": "+17205550123",
        "data": {"loan_amount": "500"}})
    lead = assert_envelope(posted.data, "lead")
    assert lead["schedule_id"] == seed.active_schedule_id
    assert lead["data"] == {"loan_amount": "500"}
    again = await trackdrive("POST", "/leads", headers={"Authorization": ""}, params={
        "lead_token": seed.schedule_lead_token, "caller_id": "+17205550123", "zip": "80202"})
    same = assert_envelope(again.data, "lead")
    assert same["id"] == lead["id"]  # a live lead for that number is reused, not duplicated
    assert same["data"] == {"loan_amount": "500", "zip": "80202"}
    listed = await trackdrive("GET", "/leads", params={"per_page": 2})
    assert listed.data["metadata"]["total_count"] == 3
    assert listed.data["metadata"]["total_pages"] == 2
    updated = await trackdrive("PUT", f"/leads/{lead['uuid']}", json_body={"opt_out": True})
    assert assert_envelope(updated.data, "lead")["opt_out"] is True
    assert (await trackdrive("GET", f"/leads/{lead['id']}")).data["lead"]["status"] == "opt_out"
    assert (await trackdrive("GET", "/leads/999")).status == 404


@pytest.mark.parametrize(("payload", "status", "errors"), [
    ({"caller_id": "+17205550123"}, 401, {"lead_token": ["can't be blank"]}),
    ({"lead_token": "nope", "caller_id": "+17205550123"}, 401, {"lead_token": ["is invalid"]}),
    ({"lead_token": "TOKEN"}, 422, {"caller_id": ["can't be blank"]}),
    ({"lead_token": "TOKEN", "caller_id": "555"}, 422,
     {"caller_id": ["is not a valid phone number"]}),
])
async def test_lead_posting_rejections(sb: Sandbox, trackdrive: Any, payload: dict[str, Any],
                                       status: int, errors: dict[str, list[str]]) -> None:
    if payload.get("lead_token") == "TOKEN":
        payload["lead_token"] = sb.trackdrive.seed.schedule_lead_token
    reply = await trackdrive("POST", "/leads", json_body=payload)
    assert (reply.status, reply.data) == (status, {"status": status, "errors": errors})


async def test_offer_lead_token_stores_the_lead_on_the_offer(sb: Sandbox, trackdrive: Any) -> None:
    seed = sb.trackdrive.seed
    reply = await trackdrive("POST", "/leads", data="lead_token="
                             f"{seed.offer_lead_token}&caller_id=%2B17205550123&data[x]=1",
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
    lead = assert_envelope(reply.data, "lead")
    assert (lead["schedule_id"], lead["offer_id"], lead["data"]) == (None, seed.offer_id,
                                                                     {"x": "1"})


async def test_text_message_list_pages(sb: Sandbox, trackdrive: Any) -> None:
    for _ in range(3):
        await trackdrive("POST", "/text_messages", params={"message": "x", "to": NUMBER})
    listed = await trackdrive("GET", "/text_messages", params={"per_page": 2, "order_dir": "desc"})
    assert listed.data["metadata"]["total_pages"] == 2
    ids = [m["id"] for m in listed.data["text_messages"]]
    assert ids == sorted(ids, reverse=True)
