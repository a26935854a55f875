"""TrackDrive's outbound actions: text messages (with their delivery lifecycle and
``delivery_webhook_url`` posts) and ``schedules/make_call`` with every documented guard.

make_call checks, in order: the lead (404) or schedule (could not be found), lead-distribution
routing, schedule active, destination valid, DNC / suppression, the 30-second redial rule, a
duplicate call already being placed for the number, and the account CPS limit. The clock behind
the redial and CPS rules is injectable so tests need not wait 30 seconds.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from .._constants import TRACKDRIVE_REDIAL_WINDOW
from ._web import JSON, Ids, Rejected, blank, dumps, e164, is_http_url, now_offset
from .delivery import Lifecycle, WebhookSender
from .trackdrive_state import TrackDriveRecords, bool_field, int_field

_WEBHOOK_HEADERS = {"Content-Type": "application/json"}
FAILED_ERROR_CODE = "30003"  # carrier: unreachable destination handset

# How make_call refuses on a guard: (HTTP status, errors key, text; ``{lead_id}`` is filled in).
# The sandbox's short wordings by default; DOCUMENTED_GUARD_TEXTS holds the sentences
# TrackDrive's make_call page lists and Rails' RecordNotFound text, so a client can be tested
# against both (``sb.trackdrive.guard_texts.update(DOCUMENTED_GUARD_TEXTS)``).
GuardText = tuple[int, str, str]
GUARD_TEXTS: dict[str, GuardText] = {
    "unknown_lead": (404, "lead_id", "not found"),
    "schedule_inactive": (422, "schedule", "is not active"),
    "invalid_number": (422, "to", "is not a valid phone number"),
    "recently_dialed": (422, "to", "was dialed within the last 30 seconds"),
}
DOCUMENTED_GUARD_TEXTS: dict[str, GuardText] = {
    "unknown_lead": (404, "base", "Couldn't find Lead with 'id'={lead_id}"),
    "schedule_inactive": (422, "base", "The schedule must be active."),
    "invalid_number": (422, "base", "The destination number must be valid."),
    "recently_dialed": (422, "base", "The destination number was recently dialed."),
}


class TextMessage:
    __slots__ = (
        "created_at",
        "delivery_webhook_url",
        "error_code",
        "from_",
        "id",
        "lead_id",
        "manual",
        "message",
        "message_uuid",
        "number_id",
        "offer_id",
        "schedule_id",
        "status",
        "to",
        "updated_at",
    )

    def __init__(self, id: int, message_uuid: str, from_: str, to: str, message: str,
                 number_id: int | None, lead_id: int | None, schedule_id: int | None,
                 offer_id: int | None, delivery_webhook_url: str | None, manual: bool) -> None:
        self.id = id
        self.message_uuid = message_uuid
        self.from_ = from_
        self.to = to
        self.message = message
        self.number_id = number_id
        self.lead_id = lead_id
        self.schedule_id = schedule_id
        self.offer_id = offer_id
        self.delivery_webhook_url = delivery_webhook_url
        self.manual = manual
        self.status = "queued"
        self.error_code: str | None = None
        self.created_at = self.updated_at = now_offset()

    def webhook_json(self) -> JSON:
        """The flat object posted to ``delivery_webhook_url``."""
        return {
            "id": self.id, "message_uuid": self.message_uuid, "from": self.from_, "to": self.to,
            "message": self.message, "lead_id": self.lead_id, "schedule_id": self.schedule_id,
            "status": self.status, "error_code": self.error_code,
            "created_at": self.created_at, "updated_at": self.updated_at,
        }

    def to_json(self, provider_configuration_id: int) -> JSON:
        """The ``text_message`` serializer: every field of the documented example, and more."""
        data = self.webhook_json()
        data.update(number_id=self.number_id, provider_configuration_id=provider_configuration_id,
                    ring_pool_id=None, offer_id=self.offer_id,
                    delivery_webhook_url=self.delivery_webhook_url, manual=self.manual)
        return data


class TrackDriveState(TrackDriveRecords):
    """The emulated TrackDrive company (``sb.trackdrive``)."""

    def __init__(self, ids: Ids, rng: random.Random, lifecycle: Lifecycle,
                 sender: WebhookSender, *, delivery_delay: float, failure_ratio: float,
                 cps_limit: int = 10, clock: Callable[[], float] | None = None) -> None:
        super().__init__(ids)
        self._rng = rng
        self._lifecycle = lifecycle
        self._sender = sender
        self.delivery_delay = delivery_delay
        self.failure_ratio = failure_ratio
        self.cps_limit = cps_limit
        self.clock: Callable[[], float] = clock or time.monotonic
        self.call_setup_time = 0.0  # seconds a call spends being placed (see duplicate guard)
        self.redial_window = TRACKDRIVE_REDIAL_WINDOW
        self.guard_texts: dict[str, GuardText] = dict(GUARD_TEXTS)
        self.text_messages: dict[int, TextMessage] = {}
        self.calls: dict[int, JSON] = {}
        self._text_ids = itertools.count(812904581)
        self._call_ids = itertools.count(1_730_000_001)
        self._last_dial: dict[str, float] = {}
        self._recent_calls: deque[float] = deque()
        self._dialing: set[str] = set()

    # --- text messages
    def send_text(self, params: Mapping[str, Any]) -> TextMessage:
        body = params.get("message")
        if blank(body) or not isinstance(body, str):
            raise Rejected({"message": ["can't be blank"]})
        lead = None
        if not blank(params.get("lead_id")):
            lead = self.find_lead(params["lead_id"])
            if lead is None:
                raise Rejected({"lead_id": ["not found"]})
        if not blank(params.get("to")):
            to = e164(params["to"])
            if to is None:
                raise Rejected({"to": ["is not a valid phone number"]})
        elif lead is not None:
            to = lead["caller_id"]
        else:
            raise Rejected({"to": ["can't be blank (pass to or lead_id)"]})
        sender, number_id = self._sender_number(params)
        manual = bool(bool_field(params, "manual"))
        url = params.get("delivery_webhook_url")
        if blank(url):
            url = None
        elif not is_http_url(url):
            raise Rejected({"delivery_webhook_url": ["is not a valid http(s) URL"]})
        schedule_id, offer_id = int_field(params, "schedule_id"), int_field(params, "offer_id")
        if schedule_id is not None and schedule_id not in self.schedules:
            raise Rejected({"schedule_id": ["not found"]})
        if offer_id is not None and offer_id not in self.offers:
            raise Rejected({"offer_id": ["not found"]})
        if not manual and self.suppressed(to):
            raise Rejected({"to": ["is suppressed (DNC)"]})
        if lead is None and (schedule_id is not None or offer_id is not None):
            # documented: tie it to that schedule's / offer's lead, creating one if needed
            lead = self.live_lead(to, schedule_id=schedule_id, offer_id=offer_id) or self.add_lead(
                schedule_id, offer_id or self._offer_of(schedule_id), to)
        message = TextMessage(
            next(self._text_ids), f"SM{self._ids.hex32()}", sender, to, body, number_id,
            lead["id"] if lead else None,
            schedule_id if schedule_id is not None else (lead["schedule_id"] if lead else None),
            offer_id if offer_id is not None else (lead["offer_id"] if lead else None),
            url, manual,
        )
        self.text_messages[message.id] = message
        self._lifecycle.call_later(self.delivery_delay, lambda: self._settle(message))
        return message

    def _offer_of(self, schedule_id: int | None) -> int | None:
        schedule = self.schedules.get(schedule_id) if schedule_id is not None else None
        return schedule["offer_id"] if schedule else None

    def _sender_number(self, params: Mapping[str, Any]) -> tuple[str, int | None]:
        number_id = int_field(params, "number_id")
        if number_id is not None:
            if number_id not in self.numbers:
                raise Rejected({"number_id": ["not found"]})
            return self.numbers[number_id], number_id
        if not blank(params.get("from")):
            sender = e164(params["from"])
            if sender is None:
                raise Rejected({"from": ["is not a valid phone number"]})
            known = next((i for i, n in self.numbers.items() if n == sender), None)
            return sender, known
        return self.seed.outbound_number, self.seed.number_id

    def _settle(self, message: TextMessage) -> None:
        if message.status != "queued":
            return
        failed = self.failure_ratio > 0 and self._rng.random() < self.failure_ratio
        message.status = "failed" if failed else "delivered"
        message.error_code = FAILED_ERROR_CODE if failed else None
        message.updated_at = now_offset()
        if message.delivery_webhook_url:
            self._sender.post(message.delivery_webhook_url, dumps(message.webhook_json()),
                              _WEBHOOK_HEADERS)

    # --- make_call
    async def make_call(self, params: Mapping[str, Any]) -> JSON:
        data = params.get("data") or {}
        if not isinstance(data, dict):
            raise Rejected({"data": ["must be a Hash"]})
        lead = None
        if not blank(params.get("lead_id")):
            lead = self.find_lead(params["lead_id"])
            if lead is None:
                raise self._guard("unknown_lead", lead_id=params["lead_id"])
            schedule = self.schedules.get(lead["schedule_id"]) if lead["schedule_id"] else None
            raw_to = lead["caller_id"]
        else:
            schedule = self.find_schedule(params.get("schedule_id")) if not blank(
                params.get("schedule_id")) else self.schedule_by_token(params.get("lead_token"))
            raw_to = params.get("to")
        if schedule is None:
            raise Rejected({"schedule": ["could not be found"]})
        if schedule["schedule_type"] == "lead_distribution":
            schedule = self._route(schedule, {**data, **{
                k: params[k] for k in ("traffic_source_id",) if k in params}})
        if schedule["paused"]:
            raise self._guard("schedule_inactive")
        if blank(raw_to):
            raise Rejected({"to": ["can't be blank (pass to, or use lead_id)"]})
        number = e164(raw_to)
        if number is None:
            raise self._guard("invalid_number")
        if self.suppressed(number):
            raise Rejected({"to": ["is suppressed (DNC)"]})
        now = self.clock()
        last = self._last_dial.get(number)
        if last is not None and now - last < self.redial_window:
            raise self._guard("recently_dialed")
        if number in self._dialing:
            raise Rejected({"base": ["duplicate concurrent lead"]})
        recent = self._recent_calls
        while recent and now - recent[0] >= 1.0:
            recent.popleft()
        if len(recent) >= self.cps_limit:
            raise Rejected({"base": ["CPS limit exceeded, try again shortly"]})
        recent.append(now)
        self._dialing.add(number)
        try:
            if self.call_setup_time > 0:
                await asyncio.sleep(self.call_setup_time)
            self._last_dial[number] = self.clock()
            if lead is None:  # promote a live lead of the schedule, else a one-off offer lead
                lead = self.live_lead(number, schedule_id=schedule["id"]) or self.add_lead(
                    None, schedule["offer_id"], number, extra={"data": dict(data)})
            return self._new_call(schedule, lead, number, data)
        finally:
            self._dialing.discard(number)

    def _guard(self, name: str, **values: Any) -> Rejected:
        status, key, text = self.guard_texts[name]
        return Rejected({key: [text.format(**values)]}, status=status)

    def _route(self, router: JSON, data: Mapping[str, Any]) -> JSON:
        for distribution in router["distributions"]:
            if all(str(data.get(key)) == str(value)
                   for key, value in distribution.items() if key != "target_schedule_id"):
                target = self.find_schedule(distribution["target_schedule_id"])
                if target is not None:
                    return target
        raise Rejected({"base": ["no matching lead distribution"]})

    def _new_call(self, schedule: JSON, lead: JSON, number: str, data: Mapping[str, Any]) -> JSON:
        now = now_offset()
        call: JSON = {
            "id": next(self._call_ids), "uuid": self._ids.uuid(), "legacy_id": None,
            "status": "initiated", "direction": "outbound",
            "caller_number": self.seed.outbound_number, "number_called": number,
            "schedule_id": schedule["id"], "lead_id": lead["id"], "lead_uuid": lead["uuid"],
            "offer_id": schedule["offer_id"], "traffic_source_id": data.get("traffic_source_id"),
            "buyer_id": None, "total_duration": 0, "revenue": 0.0, "payout": 0.0,
            "buyer_converted": False, "offer_converted": False, "recording_url": None,
            "created_at": now, "updated_at": now, "ended_at": None,
        }
        self.calls[call["id"]] = call
        schedule["calls_count"] += 1
        schedule["last_call_at"] = now
        return call
