"""TrackDrive's records: schedules, leads, offers, numbers and the DNC list, with seed data.

Records are plain JSON-ready dicts in the ``schedule`` / ``lead`` serializer shape (snake_case,
integer ids plus UUIDs, ISO-8601 times with offsets). Lookups accept the integer id or the UUID,
as the real API does. The seed (:class:`TrackDriveSeed`, ``sb.trackdrive.seed``) is fixed, so
tests and the demo can name its schedules, lead and DNC number.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from typing import Any

import attrs

from ._web import BOOLEAN_HINT, JSON, Ids, Rejected, blank, e164, now_offset, parse_bool

PUBLIC_KEY = "tdpub_sandbox"
PRIVATE_KEY = "tdprv_sandbox"
SUBDOMAIN = "sandbox"
SCHEDULE_TYPES = frozenset({"contact_caller", "lead_distribution"})
_DEAD_LEAD_STATUSES = frozenset({"completed", "dnc", "failure", "disabled", "blocked", "opt_out"})


@attrs.frozen
class TrackDriveSeed:
    """The fixed records every sandbox starts with."""

    active_schedule_id: int = 192840
    paused_schedule_id: int = 192841
    router_schedule_id: int = 192842
    schedule_lead_token: str = "5f0c3a1e9b7d4c2a8e6f1b3d5a7c9e0f"  # leads_api_key of the active one
    router_traffic_source_id: int = 501  # the router's only distribution (-> the active one)
    offer_id: int = 7
    offer_lead_token: str = "0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d"
    lead_id: int = 11000635
    lead_uuid: str = "e36e2da0-5c4b-4c1e-9a57-0c3f1b2a4d5e"
    lead_number: str = "+17195550100"
    opted_out_lead_id: int = 11000636
    opted_out_number: str = "+17195550111"
    dnc_number: str = "+13035550199"
    number_id: int = 147690000
    outbound_number: str = "+18554550000"  # the company number texts and calls come from
    provider_configuration_id: int = 12093


def as_id(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def int_field(params: Mapping[str, Any], name: str) -> int | None:
    value = params.get(name)
    if blank(value):
        return None
    number = as_id(value)
    if number is None:
        raise Rejected({name: ["must be a number"]})
    return number


def bool_field(params: Mapping[str, Any], name: str) -> bool | None:
    value = params.get(name)
    if blank(value):
        return None
    parsed = parse_bool(value)
    if parsed is None:
        raise Rejected({name: [BOOLEAN_HINT]})
    return parsed


class TrackDriveRecords:
    """Schedules, leads, offers, numbers and suppression (``sb.trackdrive`` inherits these)."""

    def __init__(self, ids: Ids) -> None:
        self._ids = ids
        self.seed = TrackDriveSeed()
        self.public_key = PUBLIC_KEY
        self.private_key = PRIVATE_KEY
        self.subdomain = SUBDOMAIN
        self.schedules: dict[int, JSON] = {}
        self.leads: dict[int, JSON] = {}
        self.offers: dict[int, JSON] = {}
        self.numbers: dict[int, str] = {self.seed.number_id: self.seed.outbound_number}
        self.dnc_numbers: set[str] = {self.seed.dnc_number}
        self._uuids: dict[str, int] = {}  # schedule and lead uuid -> id
        self._lead_numbers: dict[str, list[int]] = {}
        self._schedule_ids = itertools.count(self.seed.router_schedule_id + 1)
        self._lead_ids = itertools.count(self.seed.opted_out_lead_id + 1)
        self._plant()

    def _plant(self) -> None:
        s = self.seed
        self.offers[s.offer_id] = {"id": s.offer_id, "name": "Sandbox offer",
                                   "lead_token": s.offer_lead_token}
        self.create_schedule({"name": "Follow-ups", "offer_id": s.offer_id}, s.active_schedule_id,
                             leads_api_key=s.schedule_lead_token)
        self.create_schedule({"name": "Paused campaign", "offer_id": s.offer_id, "paused": True},
                             s.paused_schedule_id)
        self.create_schedule(
            {"name": "Router", "offer_id": s.offer_id, "schedule_type": "lead_distribution",
             "distributions": [{"traffic_source_id": s.router_traffic_source_id,
                                "target_schedule_id": s.active_schedule_id}]},
            s.router_schedule_id)
        self.add_lead(s.active_schedule_id, s.offer_id, s.lead_number, lead_id=s.lead_id,
                      uuid=s.lead_uuid, extra={"email": "lead@example.com", "name": "Ann Lee"})
        self.add_lead(s.active_schedule_id, s.offer_id, s.opted_out_number,
                      lead_id=s.opted_out_lead_id, extra={"opt_out": True, "status": "opt_out"})

    # --- lookups
    def _find(self, table: dict[int, JSON], key: Any) -> JSON | None:
        number = as_id(key)
        if number is None and isinstance(key, str):
            number = self._uuids.get(key.strip())
        return table.get(number) if number is not None else None

    def find_schedule(self, key: Any) -> JSON | None:
        return self._find(self.schedules, key)

    def find_lead(self, key: Any) -> JSON | None:
        return self._find(self.leads, key)

    def schedule_by_token(self, token: Any) -> JSON | None:
        if blank(token):
            return None
        return next((s for s in self.schedules.values() if s["leads_api_key"] == token), None)

    def offer_by_token(self, token: Any) -> JSON | None:
        if blank(token):
            return None
        return next((o for o in self.offers.values() if o["lead_token"] == token), None)

    def leads_for(self, number: str) -> Iterator[JSON]:
        for lead_id in self._lead_numbers.get(number, ()):
            lead = self.leads.get(lead_id)
            if lead is not None:
                yield lead

    def live_lead(self, number: str, *, schedule_id: int | None = None,
                  offer_id: int | None = None) -> JSON | None:
        for lead in self.leads_for(number):
            if lead["status"] in _DEAD_LEAD_STATUSES:
                continue
            if schedule_id is not None and lead["schedule_id"] == schedule_id:
                return lead
            if schedule_id is None and offer_id is not None and lead["offer_id"] == offer_id:
                return lead
        return None

    def suppressed(self, number: str) -> bool:
        """On the DNC list, or the number of a lead that opted out or is blocked."""
        if number in self.dnc_numbers:
            return True
        return any(lead["opt_out"] or lead["blocked"] for lead in self.leads_for(number))

    # --- schedules
    def create_schedule(self, params: Mapping[str, Any], schedule_id: int | None = None, *,
                        leads_api_key: str | None = None) -> JSON:
        now = now_offset()
        schedule: JSON = {
            "id": schedule_id or next(self._schedule_ids), "uuid": self._ids.uuid(),
            "name": "", "description": None, "offer_id": None, "paused": False,
            "schedule_type": "contact_caller", "leads_api_key": leads_api_key or self._ids.hex32(),
            "time_zone": "Eastern Time (US & Canada)", "sortable_order": None,
            "lead_duplicate_timeframe": None, "numbers_count": 1, "calls_count": 0,
            "last_call_at": None, "use_do_not_call": True, "distributions": [],
            "created_at": now, "updated_at": now,
        }
        self.update_schedule(schedule, params, touch=False)
        self.schedules[schedule["id"]] = schedule
        self._uuids[schedule["uuid"]] = schedule["id"]
        return schedule

    def update_schedule(self, schedule: JSON, params: Mapping[str, Any], *,
                        touch: bool = True) -> JSON:
        changes: JSON = {}
        for name in ("name", "description", "time_zone"):
            if name in params:
                value = params[name]
                if value is not None and not isinstance(value, str):
                    raise Rejected({name: ["must be a String"]})
                changes[name] = value
        for name in ("offer_id", "sortable_order", "lead_duplicate_timeframe"):
            if name in params:
                changes[name] = int_field(params, name)
        if "offer_id" in changes and changes["offer_id"] is not None \
                and changes["offer_id"] not in self.offers:
            raise Rejected({"offer_id": ["not found"]})
        if "paused" in params:
            changes["paused"] = bool(bool_field(params, "paused"))
        if "schedule_type" in params:
            if params["schedule_type"] not in SCHEDULE_TYPES:
                raise Rejected({"schedule_type": [f"must be one of {sorted(SCHEDULE_TYPES)}"]})
            changes["schedule_type"] = params["schedule_type"]
        if "distributions" in params:
            changes["distributions"] = self._distributions(params["distributions"])
        schedule.update(changes)
        if touch:
            schedule["updated_at"] = now_offset()
        return schedule

    def _distributions(self, value: Any) -> list[JSON]:
        if not isinstance(value, list) or not all(isinstance(d, dict) for d in value):
            raise Rejected({"distributions": ["must be a list of {traffic_source_id, "
                                              "target_schedule_id}"]})
        for item in value:
            if self.find_schedule(item.get("target_schedule_id")) is None:
                raise Rejected({"distributions": ["target_schedule_id not found"]})
        return [dict(item) for item in value]

    def delete_schedule(self, schedule: JSON) -> None:
        self.schedules.pop(schedule["id"], None)
        self._uuids.pop(schedule["uuid"], None)

    # --- leads
    def add_lead(self, schedule_id: int | None, offer_id: int | None, number: str, *,
                 lead_id: int | None = None, uuid: str | None = None,
                 extra: Mapping[str, Any] | None = None) -> JSON:
        now = now_offset()
        lead: JSON = {
            "id": lead_id or next(self._lead_ids), "uuid": uuid or self._ids.uuid(),
            "type": "Lead", "caller_id": number, "email": None, "name": None,
            "schedule_id": schedule_id, "offer_id": offer_id, "status": "waiting",
            "opt_out": False, "blocked": False, "traffic_source_id": None, "sub_id": None,
            "contact_field_type": "phone", "next_action_at": None, "data": {},
            "created_at": now, "updated_at": now,
        }
        lead.update(extra or {})
        self.leads[lead["id"]] = lead
        self._uuids[lead["uuid"]] = lead["id"]
        self._lead_numbers.setdefault(number, []).append(lead["id"])
        return lead

    def update_lead(self, lead: JSON, params: Mapping[str, Any]) -> JSON:
        changes: JSON = {}
        if "caller_id" in params:
            number = e164(params["caller_id"])
            if number is None:
                raise Rejected({"caller_id": ["is not a valid phone number"]})
            changes["caller_id"] = number
        for name in ("blocked", "opt_out"):
            if name in params:
                changes[name] = bool(bool_field(params, name))
        for name in ("email", "contact_field_type", "next_action_at", "schedule_callback_at",
                     "name", "sub_id", "expires_in", "hours_to_expire", "max_contact_attempts",
                     "lead_priority", "schedule_callback_in_seconds"):
            if name in params:
                changes[name] = params[name]
        if "traffic_source_id" in params:
            changes["traffic_source_id"] = int_field(params, "traffic_source_id")
        if "data" in params:
            if not isinstance(params["data"], dict):
                raise Rejected({"data": ["must be a Hash"]})
            changes["data"] = {**lead["data"], **params["data"]}
        old_number = lead["caller_id"]
        lead.update(changes)
        if changes.get("opt_out"):
            lead["status"] = "opt_out"
        if lead["caller_id"] != old_number:
            self._lead_numbers[old_number].remove(lead["id"])
            self._lead_numbers.setdefault(lead["caller_id"], []).append(lead["id"])
        lead["updated_at"] = now_offset()
        return lead
