"""Schedules: list with auto-pagination, get, create, update, delete."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import aiohttp
import pytest

from smsbridge.errors import NotFoundError, ServerError, ValidationError
from smsbridge.providers.trackdrive import Schedule, TrackDriveProvider

ANY_LIST = re.compile(r"^https://acme\.trackdrive\.com/api/v1/schedules\?.*$")


def schedule(n: int, **extra: Any) -> dict[str, Any]:
    return {"id": n, "name": f"S{n}", "offer_id": 7, "paused": False, **extra}


def page(kit: Any, ids: range, **metadata: Any) -> dict[str, Any]:
    return {"schedules": [schedule(i) for i in ids], "metadata": {"root": "schedules", **metadata}}


def requested_pages(mocked: Any) -> list[str]:
    return [call.kwargs["params"]["page"] for calls in mocked.requests.values() for call in calls]


async def test_list_iterates_every_record_over_three_pages_and_stops_at_total_pages(
    td: TrackDriveProvider, mocked: Any, kit: Any
) -> None:
    meta = {"total_pages": 3, "total_count": 5, "per_page": 2}
    for number, ids in ((1, range(1, 3)), (2, range(3, 5)), (3, range(5, 6))):
        mocked.get(f"{kit.BASE}/schedules?page={number}&per_page=2",
                   payload=page(kit, ids, page=number, **meta))
    names = [s.name async for s in td.schedules.list(per_page=2)]
    assert names == ["S1", "S2", "S3", "S4", "S5"]
    assert requested_pages(mocked) == ["1", "2", "3"]


async def test_pages_yields_whole_pages_with_their_metadata(
    td: TrackDriveProvider, mocked: Any, kit: Any
) -> None:
    meta = {"total_pages": 2, "total_count": 3}
    mocked.get(f"{kit.BASE}/schedules?page=1", payload=page(kit, range(1, 3), **meta))
    mocked.get(f"{kit.BASE}/schedules?page=2", payload=page(kit, range(3, 4), **meta))
    pages = [p async for p in td.schedules.list().pages()]
    assert [len(p.items) for p in pages] == [2, 1]
    assert pages[0].total == 3
    assert pages[0].metadata["total_pages"] == 2
    assert pages[0].next == 2 and pages[1].next is None
    assert all(isinstance(s, Schedule) for p in pages for s in p.items)


async def test_list_without_total_pages_stops_on_a_short_page(
    td: TrackDriveProvider, mocked: Any, kit: Any
) -> None:
    mocked.get(f"{kit.BASE}/schedules?page=1&per_page=3", payload=page(kit, range(1, 4)))
    mocked.get(f"{kit.BASE}/schedules?page=2&per_page=3", payload=page(kit, range(4, 6)))
    assert len(await td.schedules.list(per_page=3).to_list()) == 5
    assert requested_pages(mocked) == ["1", "2"]


async def test_list_stops_on_an_empty_page(
    td: TrackDriveProvider, mocked: Any, kit: Any
) -> None:
    mocked.get(f"{kit.BASE}/schedules?page=1&per_page=2", payload=page(kit, range(1, 3)))
    mocked.get(f"{kit.BASE}/schedules?page=2&per_page=2", payload=page(kit, range(0)))
    assert len(await td.schedules.list(per_page=2).to_list()) == 2
    assert requested_pages(mocked) == ["1", "2"]


async def test_list_stops_when_the_server_ignores_page_and_repeats_itself(
    td: TrackDriveProvider, mocked: Any, kit: Any
) -> None:
    mocked.get(ANY_LIST, payload=page(kit, range(1, 3)), repeat=True)
    assert len(await td.schedules.list(per_page=2).to_list()) == 2
    assert requested_pages(mocked) == ["1", "2"]


async def test_list_sends_every_documented_filter_in_the_query_string(
    td: TrackDriveProvider, mocked: Any, kit: Any
) -> None:
    mocked.get(ANY_LIST, payload=page(kit, range(0)))
    eastern = timezone(timedelta(hours=-5))
    await td.schedules.list(
        serializer="schedule_grid", page=4, per_page=50,
        created_at_from=datetime(2016, 1, 1, 12, 25, 15, tzinfo=eastern),
        created_at_to="2016-02-01 00:00:00 UTC",
        order="created_at", order_dir="desc", fulltext="loans", columns=["id", "name", "paused"],
    ).to_list()
    [call] = [c for calls in mocked.requests.values() for c in calls]
    assert call.kwargs["headers"]["Authorization"] == kit.BASIC
    assert call.kwargs["params"] == {
        "serializer": "schedule_grid", "page": "4", "per_page": "50",
        "created_at_from": "2016-01-01 12:25:15 -0500",
        "created_at_to": "2016-02-01 00:00:00 UTC",
        "order": "created_at", "order_dir": "desc", "fulltext": "loans",
        "columns": "id,name,paused",
    }
    assert call.kwargs["data"] is None


@pytest.mark.parametrize(
    "kwargs",
    [
        {"order": "favourite_colour"},
        {"order_dir": "up"},
        {"serializer": "xml"},
        {"per_page": 0},
        {"page": -1},
        {"created_at_from": datetime(2016, 1, 1)},  # naive
        {"columns": []},
    ],
)
async def test_bad_list_arguments_are_rejected_before_any_request(
    td: TrackDriveProvider, mocked: Any, kwargs: dict[str, Any]
) -> None:
    with pytest.raises(ValidationError):
        td.schedules.list(**kwargs)
    assert not mocked.requests


async def test_get_sends_the_serializer_and_parses_the_schedule(
    td: TrackDriveProvider, mocked: Any, kit: Any
) -> None:
    url = f"{kit.BASE}/schedules/192840?serializer=schedule"
    record = schedule(192840, paused="false", leads_api_key="secret-lead-token",
                      created_at="2024-04-19T06:01:06.000+00:00", brand_new_field=1)
    mocked.get(url, payload=kit.envelope("schedule", record))
    result = await td.schedules.get(192840, serializer="schedule")
    call = kit.only_call(mocked, "GET", url)
    assert call.kwargs["params"] == {"serializer": "schedule"}
    assert result.id == 192840 and result.paused is False and result.checksum is None
    assert result.created_at == datetime(2024, 4, 19, 6, 1, 6, tzinfo=UTC)
    assert result.raw["brand_new_field"] == 1
    assert "secret-lead-token" not in repr(result)


async def test_create_posts_every_field_as_json(
    td: TrackDriveProvider, mocked: Any, kit: Any
) -> None:
    url = f"{kit.BASE}/schedules"
    mocked.post(url, payload=kit.envelope("schedule", schedule(9), checksum="c" * 32))
    created = await td.schedules.create(
        name="Follow-ups", offer_id=7, description="", paused=False, sortable_order=3,
        lead_duplicate_timeframe=30, serializer="schedule",
    )
    sent = kit.json_sent(kit.only_call(mocked, "POST", url))
    assert sent == {"name": "Follow-ups", "offer_id": 7, "description": "", "paused": False,
                    "sortable_order": 3, "lead_duplicate_timeframe": 30,
                    "serializer": "schedule"}
    assert created.id == 9 and created.checksum == "c" * 32


async def test_update_puts_only_the_given_fields(
    td: TrackDriveProvider, mocked: Any, kit: Any
) -> None:
    url = f"{kit.BASE}/schedules/9"
    mocked.put(url, payload=kit.envelope("schedule", schedule(9, paused=True)))
    updated = await td.schedules.update(9, paused=True)
    call = kit.only_call(mocked, "PUT", url)
    assert kit.json_sent(call) == {"paused": True}
    assert call.kwargs["headers"]["Authorization"] == kit.BASIC
    assert updated.paused is True


async def test_update_with_nothing_to_change_is_rejected_without_a_request(
    td: TrackDriveProvider, mocked: Any
) -> None:
    with pytest.raises(ValidationError, match="nothing to update"):
        await td.schedules.update(9, serializer="schedule")
    assert not mocked.requests


async def test_delete_sends_delete_to_the_record_path(
    td: TrackDriveProvider, mocked: Any, kit: Any
) -> None:
    url = f"{kit.BASE}/schedules/e36e2da0-1"
    mocked.delete(url, status=204)
    assert await td.schedules.delete("e36e2da0-1") is None
    call = kit.only_call(mocked, "DELETE", url)
    assert call.kwargs["data"] is None


async def test_get_is_retried_after_a_5xx_and_a_dropped_connection(
    td: TrackDriveProvider, mocked: Any, kit: Any
) -> None:
    url = f"{kit.BASE}/schedules/9"
    mocked.get(url, status=503)
    mocked.get(url, exception=aiohttp.ServerDisconnectedError())
    mocked.get(url, payload=kit.envelope("schedule", schedule(9)))
    assert (await td.schedules.get(9)).id == 9
    assert len(kit.calls(mocked, "GET", url)) == 3


async def test_get_gives_up_after_the_retry_budget(
    td: TrackDriveProvider, mocked: Any, kit: Any
) -> None:
    url = f"{kit.BASE}/schedules/9"
    mocked.get(url, status=500, repeat=True)
    with pytest.raises(ServerError):
        await td.schedules.get(9)
    assert len(kit.calls(mocked, "GET", url)) == 3  # 1 + FAST_RETRY.max_retries


async def test_get_of_a_missing_schedule_raises_not_found_without_retrying(
    td: TrackDriveProvider, mocked: Any, kit: Any
) -> None:
    url = f"{kit.BASE}/schedules/404"
    mocked.get(url, status=404, payload={"status": 404, "errors": {"base": ["not found"]}})
    with pytest.raises(NotFoundError):
        await td.schedules.get(404)
    assert len(kit.calls(mocked, "GET", url)) == 1
