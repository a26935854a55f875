"""The real providers against the sandbox: what the SDK sees is what the sandbox recorded."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import smsbridge
from smsbridge import Message, RetryPolicy
from smsbridge.errors import AuthenticationError, DeliveryUnknownError
from smsbridge.models import DeliveryStatus
from smsbridge.providers.textus import TextUsProvider
from smsbridge.providers.trackdrive import TrackDriveProvider
from smsbridge.providers.trackdrive.errors import (
    CallGuardError,
    ContactSuppressedError,
    CpsLimitError,
    DuplicateLeadError,
    InvalidNumberError,
    NoMatchingDistributionError,
    RecentlyDialedError,
    ScheduleUnavailableError,
    UnknownLeadError,
)
from smsbridge.sandbox import Sandbox
from smsbridge.sandbox.trackdrive_dialer import DOCUMENTED_GUARD_TEXTS

NUMBER = "+13035551234"
OTHER = "+13035555678"


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_textus_send_and_batch_match_the_records(sb: Sandbox) -> None:
    async with smsbridge.connect(sb.textus_connection_url) as textus:
        receipt = await textus.send(Message(to=NUMBER, body="Hi"))
        batch = await textus.send_many([OTHER, NUMBER], body="Hi all")
    assert receipt.provider == "textus" and receipt.status is DeliveryStatus.QUEUED
    assert receipt.message_id == sb.records[0].message_id
    assert batch.http_status == 202 and batch.to == (OTHER, NUMBER)
    assert sb.accepted_numbers("textus") == [NUMBER, OTHER, NUMBER]


async def test_textus_wrong_token_is_an_authentication_error(sb: Sandbox) -> None:
    async with TextUsProvider("wrong", sb.textus_account, base_url=sb.textus_url) as textus:
        with pytest.raises(AuthenticationError):
            await textus.send(Message(to=NUMBER, body="Hi"))
    assert sb.records == []


@pytest.mark.parametrize("kind", ["error_5xx_after", "reset_after_store"])
async def test_a_stored_then_lost_send_is_unknown_not_retried(sb: Sandbox, kind: str) -> None:
    sb.faults.add("textus.send", kind)
    async with smsbridge.connect(sb.textus_connection_url) as textus:
        with pytest.raises(DeliveryUnknownError):
            await textus.send(Message(to=NUMBER, body="Hi"))
    assert sb.accepted_numbers() == [NUMBER]  # sent once, never a second time


async def test_textus_resources_page_through_the_sandbox(sb: Sandbox, receiver: Any) -> None:
    sb.textus.page_size = 2
    async with TextUsProvider(sb.textus_token, sb.textus_account,
                              base_url=sb.textus_url) as textus:
        for i in range(5):
            await textus.contacts.create(name=f"P{i}", phones=[f"+172055501{i:02d}"])
        names = [c.name async for c in textus.contacts.list()]
        assert sorted(names) == [f"P{i}" for i in range(5)]
        integration = await textus.integrations.create_webhook(
            receiver.url + "/t", events=["message.delivered"])
        assert [i.id async for i in textus.integrations.list()] == [integration.id]
        await textus.opt_outs.create(OTHER)
        assert await textus.opt_outs.check(OTHER)
        assert not await textus.opt_outs.check(NUMBER)
        sent = await textus.messages.send(NUMBER, "Hi")
        assert sent is not None
        await receiver.wait_for(1)
        fetched = await textus.messages.get(sent.id)
        assert fetched.id == sent.id


async def test_trackdrive_send_schedules_and_leads(sb: Sandbox) -> None:
    seed = sb.trackdrive.seed
    async with smsbridge.connect(sb.trackdrive_connection_url) as td:
        assert isinstance(td, TrackDriveProvider)
        receipt = await td.send(Message(to=NUMBER, body="Hi"))
        assert receipt.message_id == sb.records[0].message_id
        assert sb.accepted_numbers("trackdrive") == [NUMBER]
        ids = [s.id async for s in td.schedules.list(per_page=2)]
        assert sorted(ids) == sorted(sb.trackdrive.schedules)
        created = await td.schedules.create(name="Later", offer_id=seed.offer_id, paused=True)
        updated = await td.schedules.update(created.id, paused=False)
        assert updated.paused is False
        await td.schedules.delete(created.id)
        lead = await td.leads.create(seed.schedule_lead_token, caller_id="+17205550123",
                                     data={"loan_amount": "500"})
        assert sb.trackdrive.leads[lead.id]["data"] == {"loan_amount": "500"}


async def test_make_call_documented_guard_wordings_raise_their_typed_errors() -> None:
    clock = FakeClock()
    async with Sandbox(clock=clock) as sandbox:
        sandbox.trackdrive.guard_texts.update(DOCUMENTED_GUARD_TEXTS)
        seed = sandbox.trackdrive.seed
        bad = sandbox.trackdrive.add_lead(seed.active_schedule_id, seed.offer_id, "+1555")
        async with TrackDriveProvider(
            sandbox.trackdrive_public_key, sandbox.trackdrive_private_key,
            base_url=sandbox.trackdrive_url, retry=RetryPolicy(max_retries=0),
        ) as td:
            await td.schedules.make_call(schedule_id=seed.active_schedule_id, to=NUMBER)
            clock.now += 1
            cases: list[tuple[type[CallGuardError], dict[str, Any], str]] = [
                (UnknownLeadError, {"lead_id": "00000000-0000-4000-8000-000000000000"},
                 "Couldn't find Lead with 'id'="),
                (ScheduleUnavailableError, {"schedule_id": seed.paused_schedule_id, "to": OTHER},
                 "The schedule must be active."),
                (InvalidNumberError, {"lead_id": bad["id"]},
                 "The destination number must be valid."),
                (RecentlyDialedError, {"schedule_id": seed.active_schedule_id, "to": NUMBER},
                 "The destination number was recently dialed."),
            ]
            for error, kwargs, wording in cases:
                with pytest.raises(error) as caught:
                    await td.schedules.make_call(**kwargs)
                assert type(caught.value) is error
                assert wording in caught.value.field_errors["base"][0]
    assert sandbox.accepted_numbers(route="trackdrive.make_call") == [NUMBER]


async def test_make_call_guards_map_to_their_named_errors(clients: Any) -> None:
    clock = FakeClock()
    async with Sandbox(clock=clock, trackdrive_cps_limit=1) as sandbox:
        seed = sandbox.trackdrive.seed
        async with TrackDriveProvider(
            sandbox.trackdrive_public_key, sandbox.trackdrive_private_key,
            base_url=sandbox.trackdrive_url, retry=RetryPolicy(max_retries=0),
        ) as td:
            call = await td.schedules.make_call(lead_id=seed.lead_uuid)
            assert str(call.lead_id) == str(seed.lead_id)
            clock.now += 1
            with pytest.raises(RecentlyDialedError):
                await td.schedules.make_call(lead_id=seed.lead_id)
            cases = [
                (UnknownLeadError, {"lead_id": "00000000-0000-4000-8000-000000000000"}),
                (ScheduleUnavailableError, {"schedule_id": seed.paused_schedule_id, "to": OTHER}),
                (ScheduleUnavailableError, {"schedule_id": 1, "to": OTHER}),
                (ContactSuppressedError, {"schedule_id": seed.active_schedule_id,
                                          "to": seed.dnc_number}),
                (NoMatchingDistributionError, {"schedule_id": seed.router_schedule_id,
                                               "to": OTHER, "traffic_source_id": 9}),
            ]
            for error, kwargs in cases:
                with pytest.raises(error):
                    await td.schedules.make_call(**kwargs)
            await td.schedules.make_call(schedule_id=seed.active_schedule_id, to=OTHER)
            with pytest.raises(CpsLimitError):
                await td.schedules.make_call(schedule_id=seed.active_schedule_id, to=NUMBER)
            clock.now += 1
            sandbox.trackdrive.call_setup_time = 0.2
            results = await asyncio.gather(
                td.schedules.make_call(schedule_id=seed.active_schedule_id, to=NUMBER),
                td.schedules.make_call(schedule_id=seed.active_schedule_id, to=NUMBER),
                return_exceptions=True)
            assert sum(isinstance(r, DuplicateLeadError) for r in results) == 1
    assert sandbox.accepted_numbers(route="trackdrive.make_call") == [
        seed.lead_number, OTHER, NUMBER]


async def test_trackdrive_results_keep_their_envelope_status_and_metadata(sb: Sandbox) -> None:
    seed = sb.trackdrive.seed
    async with smsbridge.connect(sb.trackdrive_connection_url) as td:
        assert isinstance(td, TrackDriveProvider)
        created = await td.schedules.create(name="Later", offer_id=seed.offer_id, paused=True)
        assert created.envelope is not None
        assert created.envelope.status == 200
        assert created.envelope.metadata["root"] == "schedule"
        assert created.id is not None
        fetched = await td.schedules.get(created.id)
        assert fetched.envelope is not None and fetched.envelope.metadata["root"] == "schedule"
        text = await td.text_messages.create(message="Hi", to=NUMBER)
        assert text.envelope is not None and text.envelope.status == 200
        assert text.envelope.checksum == text.checksum


async def test_textus_message_keeps_its_attachment_count_and_timeline_position(sb: Sandbox) -> None:
    async with smsbridge.connect(sb.textus_connection_url) as textus:
        assert isinstance(textus, TextUsProvider)
        receipt = await textus.send(Message(to=NUMBER, body="Hi"))
        assert receipt.message_id is not None
        message = await textus.messages.get(receipt.message_id)
    assert message.timeline_position is not None
    assert message.timeline_position.tzinfo is not None
    assert message.attachments_total == 0


async def test_records_and_receipts_can_be_passed_back_as_they_were_returned(sb: Sandbox) -> None:
    from smsbridge.errors import ValidationError

    seed = sb.trackdrive.seed
    async with smsbridge.connect(sb.trackdrive_connection_url) as td:
        assert isinstance(td, TrackDriveProvider)
        created = await td.schedules.create(name="Later", offer_id=seed.offer_id, paused=True)
        updated = await td.schedules.update(created, paused=False)  # the Schedule itself
        assert updated.paused is False and (await td.schedules.get(created)).id == created.id
        await td.schedules.delete(created)
    async with smsbridge.connect(sb.textus_connection_url) as textus:
        assert isinstance(textus, TextUsProvider)
        receipt = await textus.send(Message(to=NUMBER, body="Hi"))
        message = await textus.messages.get(receipt)  # the Receipt itself
        assert message.id == receipt.message_id
        batch = await textus.send_batch(Message(to=[NUMBER, "+17205550123"], body="Hi"))
        with pytest.raises(ValidationError, match="message id is required"):
            await textus.messages.get(batch)  # a batch has no per-recipient id
