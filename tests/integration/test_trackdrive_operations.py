"""Every TrackDrive operation of the provider issue, through ``TrackDriveProvider`` against the
sandbox: text messages with every documented parameter, schedules (paging, ordering, CRUD),
"call now" in each of its three forms and each guard, leads, and authentication.

What the sandbox stored (``sb.records``) and what went over the wire (the traced session) are
checked next to what the SDK returned.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from smsbridge import Message
from smsbridge.errors import (
    AuthenticationError,
    InvalidMessage,
    InvalidPhoneNumber,
    NotFoundError,
    UnprocessableError,
    ValidationError,
)
from smsbridge.models import DeliveryStatus
from smsbridge.providers.trackdrive import TrackDriveProvider
from smsbridge.providers.trackdrive.errors import InvalidNumberError
from smsbridge.providers.trackdrive.schedules import ORDER_COLUMNS
from smsbridge.sandbox import Sandbox

NUMBER = "+13035551234"
OTHER = "+17205550123"
SENDER = "+18665550001"


async def test_send_maps_sender_and_options_onto_the_text_message_request(
    sb: Sandbox, trackdrive: TrackDriveProvider
) -> None:
    seed = sb.trackdrive.seed
    receipt = await trackdrive.send(Message(
        to="(303) 555-1234", body="Hi", sender=SENDER,
        options={"schedule_id": seed.active_schedule_id, "manual": True}))
    [record] = sb.records
    assert (record.route, record.method, record.path) == (
        "trackdrive.text_messages", "POST", "/trackdrive/api/v1/text_messages")
    # All from the query string (the sandbox refuses a body on this route, as documented).
    assert record.body == {"message": "Hi", "to": NUMBER, "from": SENDER, "manual": "true",
                           "schedule_id": str(seed.active_schedule_id)}
    assert receipt.message_id == record.message_id
    assert (receipt.to, receipt.status, receipt.raw_status) == (
        NUMBER, DeliveryStatus.QUEUED, "queued")


async def test_create_sends_every_documented_parameter_and_parses_every_field(
    sb: Sandbox, trackdrive: TrackDriveProvider, inbox: Any
) -> None:
    seed = sb.trackdrive.seed
    hook = inbox.url + "/td/delivery"
    text = await trackdrive.text_messages.create(
        "Your appointment is tomorrow", to=NUMBER, from_=seed.outbound_number,
        lead_id=seed.lead_id, delivery_webhook_url=hook, manual=False,
        number_id=seed.number_id, schedule_id=seed.active_schedule_id, offer_id=seed.offer_id)
    assert sb.records[0].body == {  # every parameter from the query string, as documented
        "message": "Your appointment is tomorrow", "to": NUMBER, "from": seed.outbound_number,
        "lead_id": str(seed.lead_id), "delivery_webhook_url": hook, "manual": "false",
        "number_id": str(seed.number_id), "schedule_id": str(seed.active_schedule_id),
        "offer_id": str(seed.offer_id)}
    assert str(text.id) == sb.records[0].message_id
    assert (text.to, text.from_, text.message) == (
        NUMBER, seed.outbound_number, "Your appointment is tomorrow")
    assert (text.lead_id, text.number_id, text.schedule_id, text.offer_id) == (
        seed.lead_id, seed.number_id, seed.active_schedule_id, seed.offer_id)
    assert text.provider_configuration_id == seed.provider_configuration_id
    assert text.message_uuid and text.message_uuid.startswith("SM")
    assert text.status == "queued" and text.delivery_status is DeliveryStatus.QUEUED
    assert text.created_at is not None and text.created_at.utcoffset() is not None
    assert text.checksum is not None and re.fullmatch(r"[0-9a-f]{32}", text.checksum)
    post = await inbox.next_post()  # the status change comes back to delivery_webhook_url
    assert post.path == "/td/delivery"
    assert (post.json()["id"], post.json()["status"]) == (text.id, "delivered")


async def test_lead_id_without_to_texts_the_leads_number(
    sb: Sandbox, trackdrive: TrackDriveProvider
) -> None:
    seed = sb.trackdrive.seed
    text = await trackdrive.text_messages.create("Hi Ann", lead_id=seed.lead_uuid)
    assert sb.records[0].body == {"message": "Hi Ann", "lead_id": seed.lead_uuid}
    assert sb.accepted_numbers() == [seed.lead_number]
    assert (text.to, text.lead_id) == (seed.lead_number, seed.lead_id)


async def test_a_suppressed_number_is_refused_unless_the_text_is_manual(
    sb: Sandbox, trackdrive: TrackDriveProvider, wire: Any
) -> None:
    dnc = sb.trackdrive.seed.dnc_number
    with pytest.raises(UnprocessableError) as caught:
        await trackdrive.text_messages.create("Hi", to=dnc)
    assert caught.value.field_errors == {"to": ["is suppressed (DNC)"]}
    assert not caught.value.may_have_been_sent and wire.statuses() == [422]
    await trackdrive.text_messages.create("Hi", to=dnc, manual=True)  # a person chose to send
    assert sb.accepted_numbers() == [dnc]


async def test_schedules_list_pages_orders_filters_and_sends_its_query(
    sb: Sandbox, trackdrive: TrackDriveProvider, wire: Any
) -> None:
    seed = sb.trackdrive.seed
    for name in ("Alpha", "Bravo", "Charlie", "Delta"):
        await trackdrive.schedules.create(name=name, offer_id=seed.offer_id)
    wire.clear()
    pager = trackdrive.schedules.list(serializer="schedule_grid", per_page=2, order="name",
                                      order_dir="desc")
    pages = [page async for page in pager.pages()]
    assert [len(p.items) for p in pages] == [2, 2, 2, 1]
    assert [p.metadata["page"] for p in pages] == [1, 2, 3, 4] and pages[0].total == 7
    names = [s.name for p in pages for s in p.items]
    assert names == sorted(names, key=str, reverse=True) and len(set(names)) == 7
    assert [dict(e.url.query) for e in wire.exchanges] == [
        {"serializer": "schedule_grid", "order": "name", "order_dir": "desc", "per_page": "2",
         "page": str(n)} for n in (1, 2, 3, 4)]
    found = await trackdrive.schedules.list(fulltext="paused").to_list()
    assert [s.id for s in found] == [seed.paused_schedule_id]
    later = datetime.now(UTC) + timedelta(hours=1)
    assert await trackdrive.schedules.list(created_at_from=later).to_list() == []
    slim = await trackdrive.schedules.list(columns=["id", "name"], per_page=3, page=3).to_list()
    assert [set(s.raw) for s in slim] == [{"id", "name"}]  # only the third page, two columns


async def test_schedules_list_accepts_every_documented_order_column(
    trackdrive: TrackDriveProvider,
) -> None:
    for column in ORDER_COLUMNS:  # regression: the sandbox refused half of them with a 422
        schedules = await trackdrive.schedules.list(order=column, order_dir="asc").to_list()
        assert len(schedules) == 3, column


async def test_schedule_create_get_update_delete_round_trip(
    sb: Sandbox, trackdrive: TrackDriveProvider, wire: Any
) -> None:
    seed = sb.trackdrive.seed
    created = await trackdrive.schedules.create(
        name="Follow-ups 2", offer_id=seed.offer_id, description="second touch", paused=True,
        sortable_order=3, lead_duplicate_timeframe=86400, serializer="schedule")
    assert sb.records[0].body == {
        "name": "Follow-ups 2", "offer_id": seed.offer_id, "description": "second touch",
        "paused": True, "sortable_order": 3, "lead_duplicate_timeframe": 86400,
        "serializer": "schedule"}
    assert (created.name, created.paused, created.sortable_order, created.offer_id) == (
        "Follow-ups 2", True, 3, seed.offer_id)
    assert created.id is not None and created.uuid is not None
    assert created.lead_duplicate_timeframe == 86400 and created.checksum
    updated = await trackdrive.schedules.update(created.id, paused=False, description="")
    assert sb.records[1].body == {"paused": False, "description": ""}
    assert (updated.paused, updated.description) == (False, "")
    by_uuid = await trackdrive.schedules.get(created.uuid, serializer="schedule")
    assert (by_uuid.id, by_uuid.paused, by_uuid.description) == (created.id, False, "")
    await trackdrive.schedules.delete(created.id)
    assert (sb.records[2].route, sb.records[2].method) == ("trackdrive.schedules.delete", "DELETE")
    wire.clear()
    with pytest.raises(NotFoundError):
        await trackdrive.schedules.get(created.id)
    assert wire.statuses() == [404]
    with pytest.raises(ValidationError, match="nothing to update"):
        await trackdrive.schedules.update(created.id, serializer="schedule")
    assert wire.statuses() == [404]  # refused before any request


async def test_make_call_by_lead_id_sends_the_id_as_a_string_and_creates_no_lead(
    sb: Sandbox, trackdrive: TrackDriveProvider
) -> None:
    seed = sb.trackdrive.seed
    leads_before = len(sb.trackdrive.leads)
    call = await trackdrive.schedules.make_call(lead_id=seed.lead_id)
    assert sb.records[0].body == {"lead_id": str(seed.lead_id)}  # as the documented example
    assert (call.number_called, call.caller_number, call.schedule_id, call.offer_id) == (
        seed.lead_number, seed.outbound_number, seed.active_schedule_id, seed.offer_id)
    assert str(call.lead_id) == str(seed.lead_id) and call.created_at is not None
    assert len(sb.trackdrive.leads) == leads_before


async def test_make_call_by_lead_token_and_to_dials_on_the_tokens_schedule(
    sb: Sandbox, trackdrive: TrackDriveProvider
) -> None:
    seed = sb.trackdrive.seed
    call = await trackdrive.schedules.make_call(
        lead_token=seed.schedule_lead_token, to="720-555-0123", data={"loan_amount": "500"})
    [record] = sb.records
    assert record.body == {"lead_token": seed.schedule_lead_token, "to": OTHER,
                           "data": {"loan_amount": "500"}}
    assert (call.schedule_id, call.number_called, call.status) == (
        seed.active_schedule_id, OTHER, "initiated")
    assert str(call.id) == record.message_id and call.checksum
    lead = sb.trackdrive.leads[int(str(call.lead_id))]
    assert (lead["caller_id"], lead["data"]) == (OTHER, {"loan_amount": "500"})


async def test_make_call_by_schedule_id_routes_a_distribution_schedule(
    sb: Sandbox, trackdrive: TrackDriveProvider
) -> None:
    seed = sb.trackdrive.seed
    call = await trackdrive.schedules.make_call(
        schedule_id=seed.router_schedule_id, to=NUMBER,
        traffic_source_id=seed.router_traffic_source_id)
    assert sb.records[0].body == {"schedule_id": str(seed.router_schedule_id), "to": NUMBER,
                                  "traffic_source_id": seed.router_traffic_source_id}
    assert call.schedule_id == seed.active_schedule_id  # the distribution's target


async def test_make_call_to_a_lead_with_an_invalid_number_is_invalid_number_error(
    sb: Sandbox, trackdrive: TrackDriveProvider, wire: Any
) -> None:
    seed = sb.trackdrive.seed
    lead = sb.trackdrive.add_lead(seed.active_schedule_id, seed.offer_id, "+1555")
    with pytest.raises(InvalidNumberError) as caught:
        await trackdrive.schedules.make_call(lead_id=lead["id"])
    assert caught.value.field_errors == {"to": ["is not a valid phone number"]}
    assert isinstance(caught.value, UnprocessableError) and caught.value.retry_after is None
    assert wire.statuses() == [422] and sb.records == []


@pytest.mark.parametrize(("kwargs", "error", "text"), [
    ({"lead_id": 11000635, "to": NUMBER}, InvalidMessage, "do not also pass to"),
    ({"lead_id": 11000635, "schedule_id": 192840}, InvalidMessage, "schedule_id"),
    ({"lead_token": "abc", "schedule_id": 192840, "to": NUMBER}, InvalidMessage, "not both"),
    ({"schedule_id": 192840}, InvalidMessage, "needs to="),
    ({"lead_token": "abc"}, InvalidMessage, "needs to="),
    ({"to": NUMBER}, InvalidMessage, "needs who to call"),
    ({}, InvalidMessage, "needs who to call"),
    ({"lead_token": "  ", "to": NUMBER}, InvalidMessage, "lead_token"),
    ({"schedule_id": 192840, "to": "+1555"}, InvalidPhoneNumber, "to"),
    ({"lead_id": 11000635, "data": ["loan_amount"]}, ValidationError, "mapping"),
    ({"lead_id": True}, ValidationError, "lead_id"),
])
async def test_make_call_refuses_a_bad_combination_before_any_request(
    sb: Sandbox, trackdrive: TrackDriveProvider, wire: Any,
    kwargs: dict[str, Any], error: type[Exception], text: str,
) -> None:
    with pytest.raises(error, match=text):
        await trackdrive.schedules.make_call(**kwargs)
    assert wire.exchanges == [] and sb.records == []


async def test_leads_create_with_the_lead_token_alone_list_and_update(
    sb: Sandbox, trackdrive: TrackDriveProvider, wire: Any
) -> None:
    seed = sb.trackdrive.seed
    lead = await trackdrive.leads.create(
        seed.schedule_lead_token, caller_id="720-555-0123", data={"loan_amount": "500"},
        email="bo@example.com", sub_id="spring", traffic_source_id=9, lead_priority=2,
        blocked=False, expires_in=3600)
    assert sb.records[0].body == {
        "lead_token": seed.schedule_lead_token, "caller_id": OTHER, "email": "bo@example.com",
        "sub_id": "spring", "traffic_source_id": 9, "blocked": False, "lead_priority": 2,
        "expires_in": 3600, "data": {"loan_amount": "500"}}
    assert "Authorization" not in wire.exchanges[0].headers  # the lead token authorises it
    assert (lead.caller_id, lead.schedule_id, lead.email, lead.data) == (
        OTHER, seed.active_schedule_id, "bo@example.com", {"loan_amount": "500"})
    offer_lead = await trackdrive.leads.create(seed.offer_lead_token, caller_id=NUMBER,
                                               token_type="offer")
    assert "offer_lead_token" in sb.records[1].body
    assert (offer_lead.offer_id, offer_lead.schedule_id) == (seed.offer_id, None)
    pages = [p async for p in trackdrive.leads.list(per_page=2, order="id").pages()]
    assert [len(p.items) for p in pages] == [2, 2]
    assert [x.id for p in pages for x in p.items] == sorted(sb.trackdrive.leads)
    assert [x.email async for x in trackdrive.leads.list(fulltext="bo@")] == ["bo@example.com"]
    assert lead.uuid is not None
    updated = await trackdrive.leads.update(lead.uuid, email="bo2@example.com", opt_out=True)
    assert sb.records[2].body == {"email": "bo2@example.com", "opt_out": True}
    assert (updated.id, updated.email, updated.opt_out) == (lead.id, "bo2@example.com", True)
    with pytest.raises(UnprocessableError, match="suppressed"):  # an opted-out lead's number
        await trackdrive.text_messages.create("Hi", to=OTHER)


async def test_a_wrong_lead_token_is_an_authentication_error(
    sb: Sandbox, trackdrive: TrackDriveProvider, wire: Any
) -> None:
    with pytest.raises(AuthenticationError):
        await trackdrive.leads.create("0" * 32, caller_id=NUMBER)
    assert wire.statuses() == [401] and sb.records == []


async def test_wrong_keys_are_an_authentication_error_without_retry_or_leak(
    sb: Sandbox, make_trackdrive: Callable[..., TrackDriveProvider], wire: Any
) -> None:
    async with make_trackdrive(sb, private_key="tdprv_wrong_secret") as trackdrive:
        with pytest.raises(AuthenticationError) as caught:
            await trackdrive.text_messages.create("Hi", to=NUMBER)
        with pytest.raises(AuthenticationError):
            await trackdrive.schedules.list().to_list()
        with pytest.raises(AuthenticationError):
            await trackdrive.schedules.make_call(lead_id=sb.trackdrive.seed.lead_id)
    assert wire.statuses() == [401, 401, 401] and sb.records == []
    assert caught.value.field_errors == {"base": ["Invalid API credentials"]}
    assert "tdprv_wrong_secret" not in str(caught.value) + repr(caught.value)
