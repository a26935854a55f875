"""``/schedules``: list, get, create, update, delete, and "call now" (``make_call``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from ...errors import InvalidMessage, ValidationError
from ...transport.pagination import AsyncPager
from ...transport.retry import NO_RETRIES
from ._resource import Resource
from ._wire import MAKE_CALL_PATH, body, choice, flag, integer, optional_id, query, record_id, text
from .models import Call, Schedule

PATH = "/schedules"
ROOT = "schedule"
LIST_ROOT = "schedules"
SERIALIZERS = ("schedule", "schedule_grid")
ORDER_DIRECTIONS = ("asc", "desc")
# The documented sort columns of GET /schedules (sortable_order exists on newer deployments).
ORDER_COLUMNS = (
    "sortable_order", "offer_id", "name", "paused", "leads_api_key", "time_zone",
    "schedule_type", "numbers_count", "last_call_at", "calls_count",
    "instant_agent_dial_weight", "created_at", "updated_at", "recent_calls_count",
    "use_do_not_call", "use_machine_detection", "action_dial_skip_mobile", "off_hook_enabled",
    "real_time_priority", "dial_caller_name", "daylight_hours_open", "daylight_hours_close",
    "leads_sort_order_type", "checked_leads_agent_dial_actions_at",
    "checked_leads_no_match_actions_at",
)


def _fields(
    *,
    name: str | None,
    offer_id: int | str | None,
    description: str | None,
    paused: bool | None,
    sortable_order: int | None,
    lead_duplicate_timeframe: int | str | None,
    serializer: str | None,
) -> dict[str, Any]:
    return body(
        {
            "name": text(name, "name"),
            "offer_id": optional_id(offer_id, "offer_id"),
            "description": text(description, "description"),
            "paused": flag(paused, "paused"),
            "sortable_order": integer(sortable_order, "sortable_order"),
            "lead_duplicate_timeframe": lead_duplicate_timeframe,
            "serializer": choice(serializer, SERIALIZERS, "serializer"),
        }
    )


class Schedules(Resource):
    """``provider.schedules``."""

    def list(
        self,
        *,
        serializer: str | None = None,
        page: int | None = None,
        per_page: int | None = None,
        created_at_from: datetime | str | None = None,
        created_at_to: datetime | str | None = None,
        order: str | None = None,
        order_dir: str | None = None,
        fulltext: str | None = None,
        columns: str | Iterable[str] | None = None,
    ) -> AsyncPager[Schedule]:
        """Every schedule, page by page: ``async for s in td.schedules.list(...)``.

        ``page`` is the first page to fetch; ``.pages()`` yields whole pages with metadata.
        ``created_at_from``/``_to`` must be aware datetimes (or preformatted strings).
        """
        params = {
            "serializer": choice(serializer, SERIALIZERS, "serializer"),
            "created_at_from": created_at_from,
            "created_at_to": created_at_to,
            "order": choice(order, ORDER_COLUMNS, "order"),
            "order_dir": choice(order_dir, ORDER_DIRECTIONS, "order_dir"),
            "fulltext": text(fulltext, "fulltext"),
            "columns": columns,
        }
        return self._paginate(PATH, params, Schedule, LIST_ROOT, page=page, per_page=per_page)

    async def get(self, schedule_id: int | str | Schedule, *,
                  serializer: str | None = None) -> Schedule:
        params = query({"serializer": choice(serializer, SERIALIZERS, "serializer")})
        path = f"{PATH}/{record_id(schedule_id, 'schedule_id')}"
        response = await self._http.request("GET", path, params=params or None)
        return self.parse_record(response, Schedule, ROOT)

    async def create(
        self,
        *,
        name: str | None = None,
        offer_id: int | str | None = None,
        description: str | None = None,
        paused: bool | None = None,
        sortable_order: int | None = None,
        lead_duplicate_timeframe: int | str | None = None,
        serializer: str | None = None,
    ) -> Schedule:
        payload = _fields(
            name=name, offer_id=offer_id, description=description, paused=paused,
            sortable_order=sortable_order, lead_duplicate_timeframe=lead_duplicate_timeframe,
            serializer=serializer,
        )
        response = await self._http.request("POST", PATH, json_body=payload)
        return self.parse_record(response, Schedule, ROOT)

    async def update(
        self,
        schedule_id: int | str | Schedule,
        *,
        name: str | None = None,
        offer_id: int | str | None = None,
        description: str | None = None,
        paused: bool | None = None,
        sortable_order: int | None = None,
        lead_duplicate_timeframe: int | str | None = None,
        serializer: str | None = None,
    ) -> Schedule:
        """Change the given fields (None leaves a field as it is; ``""`` blanks it)."""
        path = f"{PATH}/{record_id(schedule_id, 'schedule_id')}"
        payload = _fields(
            name=name, offer_id=offer_id, description=description, paused=paused,
            sortable_order=sortable_order, lead_duplicate_timeframe=lead_duplicate_timeframe,
            serializer=serializer,
        )
        if not payload.keys() - {"serializer"}:
            raise ValidationError("nothing to update: pass at least one field to change")
        response = await self._http.request("PUT", path, json_body=payload)
        return self.parse_record(response, Schedule, ROOT)

    async def delete(self, schedule_id: int | str | Schedule) -> None:
        # The status is undocumented: a Rails destroy answers 200 with the record or 204.
        await self._http.request("DELETE", f"{PATH}/{record_id(schedule_id, 'schedule_id')}",
                                 expect=frozenset({200, 204}))

    async def make_call(
        self,
        *,
        lead_id: int | str | None = None,
        lead_token: str | None = None,
        schedule_id: int | str | None = None,
        to: str | None = None,
        data: Mapping[str, Any] | None = None,
        traffic_source_id: int | str | None = None,
    ) -> Call:
        """Place an outbound call now ("call now" / promote). Never retried automatically.

        Identify who to call in exactly one way: ``lead_id`` alone (recommended: dials that
        lead's number on its schedule, creating nothing), or ``lead_token`` *or*
        ``schedule_id`` together with ``to``. ``data`` is a hash of lead attributes that
        lead-distribution schedules route on. A failed pre-dial guard raises its own
        :class:`~smsbridge.providers.trackdrive.errors.CallGuardError` subclass.
        """
        payload = self._make_call_payload(
            lead_id=lead_id, lead_token=lead_token, schedule_id=schedule_id, to=to, data=data,
            traffic_source_id=traffic_source_id,
        )
        response = await self._http.request(
            "POST", MAKE_CALL_PATH, json_body=payload, retry=NO_RETRIES
        )
        return self.parse_record(response, Call, "call")

    def _make_call_payload(
        self,
        *,
        lead_id: int | str | None,
        lead_token: str | None,
        schedule_id: int | str | None,
        to: str | None,
        data: Mapping[str, Any] | None,
        traffic_source_id: int | str | None,
    ) -> dict[str, Any]:
        lead_id = optional_id(lead_id, "lead_id")
        schedule_id = optional_id(schedule_id, "schedule_id")
        if lead_token is not None and (not isinstance(lead_token, str) or not lead_token.strip()):
            raise InvalidMessage(
                "lead_token= must be a non-empty string (the schedule's API key)")
        if lead_id is not None:
            extra = [f"{n}=" for n, v in (("lead_token", lead_token),
                                          ("schedule_id", schedule_id), ("to", to))
                     if v is not None]
            if extra:
                raise InvalidMessage(
                    f"make_call: lead_id= already says who to call (its number, its schedule); "
                    f"do not also pass {', '.join(extra)}"
                )
        elif lead_token is not None and schedule_id is not None:
            raise InvalidMessage(
                "make_call: pass lead_token= or schedule_id= to pick the schedule, not both"
            )
        elif lead_token is None and schedule_id is None:
            raise InvalidMessage(
                "make_call needs who to call: lead_id=, or lead_token= or schedule_id= with to="
            )
        elif to is None:
            raise InvalidMessage(
                "make_call with lead_token= or schedule_id= needs to= (the number to dial, E.164)"
            )
        if data is not None and not isinstance(data, Mapping):
            raise ValidationError("data must be a mapping of lead attributes")
        # The documented example sends ids as strings ({"schedule_id": "123"}).
        return body(
            {
                "lead_id": None if lead_id is None else str(lead_id),
                "lead_token": lead_token,
                "schedule_id": None if schedule_id is None else str(schedule_id),
                "to": self._phone(to, "to"),
                "data": None if data is None else dict(data),
                "traffic_source_id": optional_id(traffic_source_id, "traffic_source_id"),
            }
        )
