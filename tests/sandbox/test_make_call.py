"""POST /schedules/make_call: success shapes and every documented guard, with exact bodies."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from smsbridge.sandbox import Sandbox
from smsbridge.sandbox.trackdrive_dialer import DOCUMENTED_GUARD_TEXTS

NUMBER = "+16053334444"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def dialer(clock: FakeClock, clients: Any) -> AsyncIterator[tuple[Sandbox, Any]]:
    async with Sandbox(seed=1, clock=clock, trackdrive_cps_limit=2) as sandbox:
        yield sandbox, clients(sandbox)[1]


async def call(client: Any, **payload: Any) -> Any:
    return await client("POST", "/schedules/make_call", json_body=payload)


async def test_call_by_lead_id_dials_the_leads_number_on_its_schedule(dialer: Any) -> None:
    sandbox, client = dialer
    seed = sandbox.trackdrive.seed
    reply = await call(client, lead_id=seed.lead_uuid)
    assert reply.status == 200
    assert reply.data["metadata"] == {"root": "call"} and reply.data["errors"] == {}
    placed = reply.data["call"]
    assert placed["status"] == "initiated"
    assert (placed["number_called"], placed["lead_id"], placed["schedule_id"]) == (
        seed.lead_number, seed.lead_id, seed.active_schedule_id)
    assert {"id", "uuid", "caller_number", "offer_id", "created_at"} <= placed.keys()
    [record] = sandbox.records
    assert (record.route, record.to, record.message_id) == (
        "trackdrive.make_call", seed.lead_number, str(placed["id"]))
    assert sandbox.accepted_numbers() == []  # calls are not texts
    assert sandbox.accepted_numbers(route="trackdrive.make_call") == [seed.lead_number]


async def test_call_by_schedule_or_lead_token_with_to(dialer: Any, clock: FakeClock) -> None:
    sandbox, client = dialer
    seed = sandbox.trackdrive.seed
    by_id = await call(client, schedule_id=str(seed.active_schedule_id), to=NUMBER)
    assert by_id.status == 200
    one_off = sandbox.trackdrive.leads[by_id.data["call"]["lead_id"]]
    assert one_off["schedule_id"] is None and one_off["offer_id"] == seed.offer_id
    promoted = await call(client, lead_token=seed.schedule_lead_token, to=seed.lead_number)
    assert promoted.data["call"]["lead_id"] == seed.lead_id  # the enrolled lead is reused


async def test_router_schedule_routes_by_traffic_source(dialer: Any) -> None:
    sandbox, client = dialer
    seed = sandbox.trackdrive.seed
    routed = await call(client, schedule_id=seed.router_schedule_id, to=NUMBER,
                        data={"traffic_source_id": seed.router_traffic_source_id})
    assert routed.data["call"]["schedule_id"] == seed.active_schedule_id


@pytest.mark.parametrize(("payload", "status", "errors"), [
    ({"lead_id": "00000000-0000-4000-8000-000000000000"}, 404, {"lead_id": ["not found"]}),
    ({"schedule_id": "1", "to": NUMBER}, 422, {"schedule": ["could not be found"]}),
    ({"lead_token": "nope", "to": NUMBER}, 422, {"schedule": ["could not be found"]}),
    ({"schedule_id": "PAUSED", "to": NUMBER}, 422, {"schedule": ["is not active"]}),
    ({"schedule_id": "ROUTER", "to": NUMBER, "data": {"traffic_source_id": 999}}, 422,
     {"base": ["no matching lead distribution"]}),
    ({"schedule_id": "ACTIVE", "to": "+1555"}, 422, {"to": ["is not a valid phone number"]}),
    ({"schedule_id": "ACTIVE", "to": "+13035550199"}, 422, {"to": ["is suppressed (DNC)"]}),
    ({"schedule_id": "ACTIVE", "to": "+17195550111"}, 422, {"to": ["is suppressed (DNC)"]}),
])
async def test_guard_rejections_have_exact_bodies_and_store_nothing(
    dialer: Any, payload: dict[str, Any], status: int, errors: dict[str, list[str]]
) -> None:
    sandbox, client = dialer
    seed = sandbox.trackdrive.seed
    names = {"PAUSED": seed.paused_schedule_id, "ROUTER": seed.router_schedule_id,
             "ACTIVE": seed.active_schedule_id}
    if payload.get("schedule_id") in names:
        payload["schedule_id"] = names[payload["schedule_id"]]
    reply = await call(client, **payload)
    assert (reply.status, reply.data) == (status, {"status": status, "errors": errors})
    assert sandbox.records == [] and sandbox.trackdrive.calls == {}


async def test_guards_can_refuse_with_the_documented_wordings(
    dialer: Any, clock: FakeClock
) -> None:
    sandbox, client = dialer
    sandbox.trackdrive.guard_texts.update(DOCUMENTED_GUARD_TEXTS)
    seed = sandbox.trackdrive.seed
    bad = sandbox.trackdrive.add_lead(seed.active_schedule_id, seed.offer_id, "+1555")
    missing = "00000000-0000-4000-8000-000000000000"
    expected = [
        ({"lead_id": missing}, 404, {"base": [f"Couldn't find Lead with 'id'={missing}"]}),
        ({"schedule_id": seed.paused_schedule_id, "to": NUMBER}, 422,
         {"base": ["The schedule must be active."]}),
        ({"lead_id": bad["id"]}, 422, {"base": ["The destination number must be valid."]}),
    ]
    for payload, status, errors in expected:
        reply = await call(client, **payload)
        assert (reply.status, reply.data) == (status, {"status": status, "errors": errors})
    assert (await call(client, schedule_id=seed.active_schedule_id, to=NUMBER)).status == 200
    clock.now += 1.0
    again = await call(client, schedule_id=seed.active_schedule_id, to=NUMBER)
    assert (again.status, again.data["errors"]) == (
        422, {"base": ["The destination number was recently dialed."]})


async def test_redial_within_30_seconds_is_refused(dialer: Any, clock: FakeClock) -> None:
    sandbox, client = dialer
    schedule = sandbox.trackdrive.seed.active_schedule_id
    assert (await call(client, schedule_id=schedule, to=NUMBER)).status == 200
    clock.now += 29.9
    again = await call(client, schedule_id=schedule, to=NUMBER)
    assert (again.status, again.data) == (
        422, {"status": 422, "errors": {"to": ["was dialed within the last 30 seconds"]}})
    clock.now += 0.1
    assert (await call(client, schedule_id=schedule, to=NUMBER)).status == 200


async def test_cps_limit_is_per_second(dialer: Any, clock: FakeClock) -> None:
    sandbox, client = dialer
    schedule = sandbox.trackdrive.seed.active_schedule_id
    numbers = ["+16053334401", "+16053334402", "+16053334403"]
    assert (await call(client, schedule_id=schedule, to=numbers[0])).status == 200
    assert (await call(client, schedule_id=schedule, to=numbers[1])).status == 200
    over = await call(client, schedule_id=schedule, to=numbers[2])
    assert (over.status, over.data) == (
        422, {"status": 422, "errors": {"base": ["CPS limit exceeded, try again shortly"]}})
    clock.now += 1.0
    assert (await call(client, schedule_id=schedule, to=numbers[2])).status == 200


async def test_concurrent_calls_for_the_same_lead_are_duplicates(dialer: Any) -> None:
    sandbox, client = dialer
    sandbox.trackdrive.call_setup_time = 0.2  # the first call is still being placed
    lead = sandbox.trackdrive.seed.lead_id
    first, second = await asyncio.gather(call(client, lead_id=lead), call(client, lead_id=lead))
    statuses = sorted([first.status, second.status])
    assert statuses == [200, 422]
    refused = first if first.status == 422 else second
    assert refused.data == {"status": 422, "errors": {"base": ["duplicate concurrent lead"]}}
    assert len(sandbox.trackdrive.calls) == 1
