"""Leads: post by lead token (no API keys sent), list with pagination, update by id or UUID."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest

from smsbridge.errors import InvalidMessage, InvalidPhoneNumber, UnprocessableError, ValidationError
from smsbridge.providers.trackdrive import Lead, TrackDriveProvider

CALLER = "+16053334444"
UUID = "e36e2da0-5b2c-4f6e-9d1a-1c2d3e4f5a6b"
LEAD = {"id": 11000635, "uuid": UUID, "caller_id": CALLER, "status": "scheduled",
        "opt_out": False, "schedule_id": 192840, "email": "ann@example.com",
        "created_at": "2024-04-19T06:01:06.000+00:00"}


async def test_create_posts_json_authorised_by_the_lead_token_without_api_keys(
    td: TrackDriveProvider, mocked: Any, kit: Any
) -> None:
    url = f"{kit.BASE}/leads"
    mocked.post(url, payload=kit.envelope("lead", LEAD, checksum="d" * 32))
    lead = await td.leads.create(
        "tok-123", caller_id="(605) 333-4444", data={"loan_amount": "500"},
        email="ann@example.com", schedule_callback_at=datetime(2021, 7, 23, 14, 26, 43, tzinfo=UTC),
        schedule_callback_in_seconds=3600, expires_in=60, traffic_source_id=4, sub_id="s1",
        update_only=False, blocked=False, lead_priority=2,
    )
    call = kit.only_call(mocked, "POST", url)
    assert "Authorization" not in call.kwargs["headers"]
    assert call.kwargs["headers"]["Content-Type"] == "application/json"
    assert kit.json_sent(call) == {
        "lead_token": "tok-123", "caller_id": CALLER, "email": "ann@example.com",
        "schedule_callback_at": "2021-07-23 14:26:43 +0000",
        "schedule_callback_in_seconds": 3600, "expires_in": 60, "traffic_source_id": 4,
        "sub_id": "s1", "update_only": False, "blocked": False, "lead_priority": 2,
        "data": {"loan_amount": "500"},
    }
    assert isinstance(lead, Lead)
    assert lead.uuid == UUID and lead.caller_id == CALLER and lead.opt_out is False
    assert lead.checksum == "d" * 32
    assert CALLER not in repr(lead) and "ann@example.com" not in repr(lead)


async def test_create_can_name_the_token_a_schedule_lead_token(
    td: TrackDriveProvider, mocked: Any, kit: Any
) -> None:
    url = f"{kit.BASE}/leads"
    mocked.post(url, payload=kit.envelope("lead", LEAD))
    await td.leads.create("tok", caller_id=CALLER, token_type="schedule")
    assert kit.json_sent(kit.only_call(mocked, "POST", url)) == {
        "schedule_lead_token": "tok", "caller_id": CALLER,
    }


@pytest.mark.parametrize(
    ("args", "kwargs", "error"),
    [
        (("",), {"caller_id": CALLER}, InvalidMessage),
        (("tok",), {"caller_id": "12"}, InvalidPhoneNumber),
        (("tok",), {"caller_id": None}, InvalidMessage),
        (("tok",), {"caller_id": CALLER, "token_type": "buyer"}, ValidationError),
        (("tok",), {"caller_id": CALLER, "blocked": "yes"}, ValidationError),
        (("tok",), {"caller_id": CALLER, "expires_in": "60"}, ValidationError),
        (("tok",), {"caller_id": CALLER, "next_action_at": datetime(2024, 1, 1)}, ValidationError),
    ],
)
async def test_bad_lead_input_is_rejected_before_any_request(
    td: TrackDriveProvider, mocked: Any, args: tuple[Any, ...], kwargs: dict[str, Any],
    error: type[Exception],
) -> None:
    with pytest.raises(error):
        await td.leads.create(*args, **kwargs)
    assert not mocked.requests


async def test_create_422_keeps_field_errors(
    td: TrackDriveProvider, mocked: Any, kit: Any
) -> None:
    mocked.post(f"{kit.BASE}/leads", status=422,
                payload={"status": 422, "errors": {"lead_token": ["is invalid"]}})
    with pytest.raises(UnprocessableError) as info:
        await td.leads.create("bad", caller_id=CALLER)
    assert info.value.field_errors == {"lead_token": ["is invalid"]}


async def test_list_walks_three_pages_with_documented_filters(
    td: TrackDriveProvider, mocked: Any, kit: Any
) -> None:
    pattern = re.compile(r"^https://acme\.trackdrive\.com/api/v1/leads\?.*$")
    for number in (1, 2, 3):
        leads = [{**LEAD, "id": number * 10 + i} for i in range(2 if number < 3 else 1)]
        mocked.get(pattern, payload={"leads": leads, "metadata": {
            "root": "leads", "total_pages": 3, "total_count": 5}})
    found = await td.leads.list(
        serializer="lead_grid", per_page=2, created_at_from="2024-01-01 00:00:00 +0000",
        fulltext="ann", time_zone="UTC", columns="id,uuid", order="created_at", order_dir="asc",
    ).to_list()
    assert [lead.id for lead in found] == [10, 11, 20, 21, 30]
    params = [c.kwargs["params"] for calls in mocked.requests.values() for c in calls]
    assert [p["page"] for p in params] == ["1", "2", "3"]
    assert params[0] == {
        "serializer": "lead_grid", "per_page": "2", "page": "1",
        "created_at_from": "2024-01-01 00:00:00 +0000", "fulltext": "ann", "time_zone": "UTC",
        "columns": "id,uuid", "order": "created_at", "order_dir": "asc",
    }
    call = next(iter(mocked.requests.values()))[0]
    assert call.kwargs["headers"]["Authorization"] == kit.BASIC


@pytest.mark.parametrize(
    "kwargs", [{"serializer": "lead_full"}, {"order": "name; drop"}, {"order_dir": "sideways"}]
)
async def test_bad_list_filters_are_rejected_before_any_request(
    td: TrackDriveProvider, mocked: Any, kwargs: dict[str, Any]
) -> None:
    with pytest.raises(ValidationError):
        td.leads.list(**kwargs)
    assert not mocked.requests


async def test_update_puts_json_to_the_uuid_path(
    td: TrackDriveProvider, mocked: Any, kit: Any
) -> None:
    url = f"{kit.BASE}/leads/{UUID}"
    mocked.put(url, payload=kit.envelope("lead", {**LEAD, "opt_out": True}))
    lead = await td.leads.update(
        UUID, opt_out=True, next_action_at=datetime(2024, 4, 19, 6, 1, 6, tzinfo=UTC)
    )
    call = kit.only_call(mocked, "PUT", url)
    assert call.kwargs["headers"]["Authorization"] == kit.BASIC
    assert kit.json_sent(call) == {"opt_out": True, "next_action_at": "2024-04-19 06:01:06 +0000"}
    assert lead.opt_out is True


async def test_update_with_nothing_to_change_is_rejected_without_a_request(
    td: TrackDriveProvider, mocked: Any
) -> None:
    with pytest.raises(ValidationError):
        await td.leads.update(UUID)
    assert not mocked.requests
