"""The TrackDrive ``/api/v1`` over HTTP: Basic auth (``lead_token`` for posting leads), request
parameters from the query string and a JSON or form body, the ``metadata.root`` envelope, and
page-based lists with ``total_count`` / ``total_pages`` (or a bare array with ``root=false``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from .._constants import TRACKDRIVE_DEFAULT_PER_PAGE
from ._web import JSON, Rejected, blank, e164, json_response, parse_bool, read_json_object
from .records import Recorder
from .trackdrive_dialer import TrackDriveState

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Admission = tuple[web.Response | None, dict[str, str] | None]
PROVIDER = "trackdrive"
CONTENT_TYPE = "application/json"
MAX_PER_PAGE = 250
ROUTES = (
    "trackdrive.text_messages", "trackdrive.text_messages.list", "trackdrive.text_messages.get",
    "trackdrive.schedules.list", "trackdrive.schedules.create", "trackdrive.schedules.get",
    "trackdrive.schedules.update", "trackdrive.schedules.delete", "trackdrive.make_call",
    "trackdrive.leads.create", "trackdrive.leads.list", "trackdrive.leads.get",
    "trackdrive.leads.update",
)
# Every documented sort column (reference 5.1), even those the seed records do not carry.
SCHEDULE_ORDER = frozenset({
    "sortable_order", "offer_id", "name", "paused", "leads_api_key", "time_zone", "schedule_type",
    "numbers_count", "last_call_at", "calls_count", "instant_agent_dial_weight", "created_at",
    "updated_at", "recent_calls_count", "use_do_not_call", "use_machine_detection",
    "action_dial_skip_mobile", "off_hook_enabled", "real_time_priority", "dial_caller_name",
    "daylight_hours_open", "daylight_hours_close", "leads_sort_order_type",
    "checked_leads_agent_dial_actions_at", "checked_leads_no_match_actions_at", "id",
})
LEAD_ORDER = frozenset({"id", "caller_id", "email", "name", "status", "schedule_id", "offer_id",
                        "opt_out", "created_at", "updated_at"})
# Platform parameters of POST /leads (never lead tokens); update_lead stores what it knows.
LEAD_FIELDS = frozenset({
    "email", "contact_field_type", "next_action_at", "schedule_callback_at", "name", "sub_id",
    "traffic_source_id", "data", "blocked", "opt_out", "schedule_callback_in_seconds",
    "update_all_matching_leads", "apply_to", "unblock_contact", "assign_trackdrive_number",
    "assign_sms_number", "expire_existing", "delete_existing", "update_only", "lead_priority",
    "restart_schedule", "auto_format_nested_fields", "hours_to_expire", "max_contact_attempts",
    "expires_in",
})
_LEAD_CREDENTIALS = frozenset({"lead_token", "schedule_lead_token", "offer_lead_token",
                               "caller_id"})
TEXT_ORDER = frozenset({"id", "to", "from", "status", "created_at", "updated_at"})
_DATE_FORMATS = ("%Y-%m-%d %H:%M:%S %z", "%Y-%m-%d %H:%M:%S %Z", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d")


def error(status: int, errors: dict[str, list[str]]) -> web.Response:
    return json_response({"status": status, "errors": errors}, status, CONTENT_TYPE)


def envelope(root: str, record: JSON) -> web.Response:
    checksum = hashlib.md5(  # an opaque record version, as TrackDrive's 32-hex checksum
        f"{root}:{record.get('id')}:{record.get('updated_at')}".encode(), usedforsecurity=False
    ).hexdigest()
    body = {"status": 200, "errors": {}, root: record, "checksum": checksum,
            "metadata": {"root": root}}
    return json_response(body, 200, CONTENT_TYPE)


def _found(record: JSON | None, what: str) -> JSON:
    if record is None:
        raise Rejected({"base": [f"{what} not found"]}, status=404)
    return record


def _nest(params: dict[str, Any]) -> dict[str, Any]:
    """Rails-style ``data[loan_amount]=500`` keys (query string and forms) into ``data``."""
    for key in [k for k in params if "[" in k and k.endswith("]")]:
        outer, _, inner = key[:-1].partition("[")
        if inner:
            value = params.pop(key)
            target = params.setdefault(outer, {})
            if isinstance(target, dict):
                target[inner] = value
    return params


async def read_params(request: web.Request) -> dict[str, Any]:
    """Query string merged with the body (JSON or form; the body wins). Raises Rejected."""
    return (await read_params_and_json_keys(request))[0]


async def read_params_and_json_keys(request: web.Request) -> tuple[dict[str, Any], frozenset[str]]:
    """Like :func:`read_params`, plus the keys that came from a JSON body."""
    params: dict[str, Any] = dict(request.query) if request.query_string else {}
    json_keys: frozenset[str] = frozenset()
    if request.body_exists:
        if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            params.update((await request.post()).items())
        else:
            data = await read_json_object(request)
            params.update(data)
            json_keys = frozenset(data)
    return _nest(params), json_keys


def _page_args(params: dict[str, Any]) -> tuple[int, int]:
    values = []
    for name, default in (("page", 1), ("per_page", TRACKDRIVE_DEFAULT_PER_PAGE)):
        raw = params.get(name)
        value = default if blank(raw) else raw
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise Rejected({name: ["must be a positive number"]})
        values.append(value)
    return values[0], min(values[1], MAX_PER_PAGE)


def _date(params: dict[str, Any], name: str) -> float | None:
    raw = params.get(name)
    if blank(raw):
        return None
    for fmt in _DATE_FORMATS:
        try:
            when = datetime.strptime(str(raw).strip(), fmt)
        except ValueError:
            continue
        return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()
    raise Rejected({name: ["must be a date formatted like 2016-01-01 12:25:15 -0500"]})


def list_response(root: str, records: Sequence[JSON], params: dict[str, Any],
                  orderable: frozenset[str], searchable: Sequence[str]) -> web.Response:
    page, per_page = _page_args(params)
    order, direction = params.get("order") or "id", str(params.get("order_dir") or "asc").lower()
    if order not in orderable:
        raise Rejected({"order": [f"must be one of: {', '.join(sorted(orderable))}"]})
    if direction not in ("asc", "desc"):
        raise Rejected({"order_dir": ["must be one of: asc, desc"]})
    items = list(records)
    text = str(params.get("fulltext") or "").strip().lower()
    if text:
        items = [r for r in items if any(text in str(r.get(f) or "").lower() for f in searchable)]
    since, until = _date(params, "created_at_from"), _date(params, "created_at_to")
    if since is not None or until is not None:
        def created(r: JSON) -> float:
            return datetime.fromisoformat(r["created_at"]).timestamp()
        items = [r for r in items if (since is None or created(r) >= since)
                 and (until is None or created(r) <= until)]
    items.sort(key=lambda r: (r.get(order) is None, r.get(order) or 0),
               reverse=direction == "desc")
    total = len(items)
    chunk = items[(page - 1) * per_page: page * per_page]
    if not blank(params.get("columns")):
        wanted = {c.strip() for c in str(params["columns"]).split(",")}
        chunk = [{k: v for k, v in r.items() if k in wanted} for r in chunk]
    if parse_bool(params.get("root")) is False:
        return json_response(chunk, 200, CONTENT_TYPE)
    metadata = {"root": root, "total_count": total, "total_pages": -(-total // per_page),
                "page": page, "per_page": per_page}
    return json_response({root: chunk, "metadata": metadata}, 200, CONTENT_TYPE)


class TrackDriveAPI:
    def __init__(self, state: TrackDriveState, recorder: Recorder) -> None:
        self.state = state
        self._recorder = recorder
        token = base64.b64encode(f"{state.public_key}:{state.private_key}".encode()).decode()
        self._basic = f"Basic {token}"
        self._config_id = state.seed.provider_configuration_id

    def admit(self, request: web.Request) -> Admission:
        auth = request.headers.get("Authorization")
        if auth == self._basic or (auth is not None and self._basic_ok(auth)):
            return None, None
        return error(401, {"base": ["Invalid API credentials"]}), None

    def _basic_ok(self, header: str) -> bool:
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(token.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return False
        return decoded == f"{self.state.public_key}:{self.state.private_key}"

    @staticmethod
    def admit_public(request: web.Request) -> Admission:
        return None, None  # lead posting is authorised by its lead_token, checked in the handler

    @staticmethod
    def rejected(exc: Rejected) -> web.Response:
        return error(exc.status, exc.errors)

    def server_error(self, status: int) -> web.Response:
        return error(status, {"base": ["Internal server error"]})

    def too_many_requests(self, retry_after: float) -> web.Response:
        response = error(429, {"base": ["Too many requests, slow down"]})
        response.headers["Retry-After"] = f"{retry_after:g}"
        return response

    def routes(self) -> list[tuple[str, str, str, Handler, bool]]:
        return [
            ("POST", "/text_messages", "trackdrive.text_messages", self.send_text, True),
            ("GET", "/text_messages", "trackdrive.text_messages.list", self.texts, True),
            ("GET", "/text_messages/{id}", "trackdrive.text_messages.get", self.text, True),
            ("POST", "/schedules/make_call", "trackdrive.make_call", self.make_call, True),
            ("GET", "/schedules", "trackdrive.schedules.list", self.schedules, True),
            ("POST", "/schedules", "trackdrive.schedules.create", self.create_schedule, True),
            ("GET", "/schedules/{id}", "trackdrive.schedules.get", self.schedule, True),
            ("PUT", "/schedules/{id}", "trackdrive.schedules.update", self.update_schedule, True),
            ("DELETE", "/schedules/{id}", "trackdrive.schedules.delete", self.delete_schedule,
             True),
            ("POST", "/leads", "trackdrive.leads.create", self.create_lead, False),
            ("PUT", "/leads", "trackdrive.leads.create", self.create_lead, False),
            ("GET", "/leads", "trackdrive.leads.list", self.leads, True),
            ("GET", "/leads/{id}", "trackdrive.leads.get", self.lead, True),
            ("PUT", "/leads/{id}", "trackdrive.leads.update", self.update_lead, True),
        ]

    def _record(self, request: web.Request, route: str, body: dict[str, Any], to: str | None,
                record_id: Any) -> None:
        self._recorder.add(PROVIDER, route, request.method, request.path, body, to,
                           str(record_id), time.time())

    # --- text messages
    async def send_text(self, request: web.Request) -> web.Response:
        # The only documented request carries every parameter in the query string
        # (POST /api/v1/text_messages?message=...&to=%2B1...): refuse a body, so a client
        # sending anything else is caught here rather than by the real API.
        if await request.read():
            raise Rejected({"base": ["text_messages takes its parameters in the query string, "
                                     "with no request body"]})
        params = await read_params(request)
        message = self.state.send_text(params)
        self._record(request, "trackdrive.text_messages", params, message.to, message.id)
        return envelope("text_message", message.to_json(self._config_id))

    async def texts(self, request: web.Request) -> web.Response:
        records = [m.to_json(self._config_id) for m in self.state.text_messages.values()]
        return list_response("text_messages", records, await read_params(request), TEXT_ORDER,
                             ("to", "message"))

    async def text(self, request: web.Request) -> web.Response:
        key = request.match_info["id"]
        message = self.state.text_messages.get(int(key)) if key.isdigit() else None
        if message is None:
            raise Rejected({"base": ["Text message not found"]}, status=404)
        return envelope("text_message", message.to_json(self._config_id))

    # --- calls
    async def make_call(self, request: web.Request) -> web.Response:
        params = await read_params(request)
        call = await self.state.make_call(params)
        self._record(request, "trackdrive.make_call", params, call["number_called"], call["id"])
        return envelope("call", call)

    # --- schedules
    def _schedule(self, request: web.Request) -> JSON:
        return _found(self.state.find_schedule(request.match_info["id"]), "Schedule")

    async def schedules(self, request: web.Request) -> web.Response:
        return list_response("schedules", list(self.state.schedules.values()),
                             await read_params(request), SCHEDULE_ORDER, ("name", "description"))

    async def schedule(self, request: web.Request) -> web.Response:
        return envelope("schedule", self._schedule(request))

    async def create_schedule(self, request: web.Request) -> web.Response:
        params = await read_params(request)
        schedule = self.state.create_schedule(params)
        self._record(request, "trackdrive.schedules.create", params, None, schedule["id"])
        return envelope("schedule", schedule)

    async def update_schedule(self, request: web.Request) -> web.Response:
        schedule = self._schedule(request)
        params = await read_params(request)
        self.state.update_schedule(schedule, params)
        self._record(request, "trackdrive.schedules.update", params, None, schedule["id"])
        return envelope("schedule", schedule)

    async def delete_schedule(self, request: web.Request) -> web.Response:
        schedule = self._schedule(request)
        self.state.delete_schedule(schedule)
        self._record(request, "trackdrive.schedules.delete", {}, None, schedule["id"])
        return envelope("schedule", schedule)

    # --- leads
    def _lead(self, request: web.Request) -> JSON:
        return _found(self.state.find_lead(request.match_info["id"]), "Lead")

    async def create_lead(self, request: web.Request) -> web.Response:
        params, json_keys = await read_params_and_json_keys(request)
        lead = self._post_lead(params, json_keys)
        self._record(request, "trackdrive.leads.create", params, lead["caller_id"], lead["id"])
        return envelope("lead", lead)

    def _post_lead(self, params: dict[str, Any], json_keys: frozenset[str]) -> JSON:
        state = self.state
        token = next((params[k] for k in ("lead_token", "schedule_lead_token", "offer_lead_token")
                      if not blank(params.get(k))), None)
        if token is None:
            raise Rejected({"lead_token": ["can't be blank"]}, status=401)
        schedule = state.schedule_by_token(token)
        offer = None if schedule else state.offer_by_token(token)
        if schedule is None and offer is None:
            raise Rejected({"lead_token": ["is invalid"]}, status=401)
        if blank(params.get("caller_id")):
            raise Rejected({"caller_id": ["can't be blank"]})
        number = e164(params["caller_id"])
        if number is None:
            raise Rejected({"caller_id": ["is not a valid phone number"]})
        schedule_id = schedule["id"] if schedule else None
        offer_id = schedule["offer_id"] if schedule else offer["id"] if offer else None
        fields = {k: v for k, v in params.items() if k in LEAD_FIELDS}
        # query/form parameters that are not platform fields are lead tokens; in a JSON body
        # the top-level keys are reserved and tokens go in "data"
        tokens = {k: v for k, v in params.items() if k not in LEAD_FIELDS
                  and k not in _LEAD_CREDENTIALS and k not in json_keys}
        base = fields.get("data")
        if tokens and (base is None or isinstance(base, dict)):
            fields["data"] = {**(base or {}), **tokens}
        lead = state.live_lead(number, schedule_id=schedule_id, offer_id=offer_id)
        if lead is None:  # dedupe: a live lead for the number on that schedule/offer is reused
            lead = state.add_lead(schedule_id, offer_id, number)
        return state.update_lead(lead, fields)

    async def leads(self, request: web.Request) -> web.Response:
        return list_response("leads", list(self.state.leads.values()),
                             await read_params(request), LEAD_ORDER,
                             ("caller_id", "email", "name"))

    async def lead(self, request: web.Request) -> web.Response:
        return envelope("lead", self._lead(request))

    async def update_lead(self, request: web.Request) -> web.Response:
        lead = self._lead(request)
        params = await read_params(request)
        self.state.update_lead(lead, params)
        self._record(request, "trackdrive.leads.update", params, lead["caller_id"], lead["id"])
        return envelope("lead", lead)
