"""``/leads``: post a lead (authorised by its lead token), list leads, update a lead.

``POST /leads`` is authorised by the ``lead_token`` parameter alone: TrackDrive's documented
examples carry no Authorization header, so the API keys are not sent with it (least privilege;
a provider built for lead posting never leaks the account keys to that endpoint).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Literal

from ...errors import InvalidMessage, ValidationError
from ...transport.pagination import AsyncPager
from ._resource import Resource
from ._wire import body, choice, flag, integer, optional_id, record_id, text
from .models import Lead

PATH = "/leads"
ROOT = "lead"
LIST_ROOT = "leads"
SERIALIZERS = ("lead", "lead_grid", "lead_external")
ORDER_DIRECTIONS = ("asc", "desc")
_TOKEN_KEYS = {None: "lead_token", "schedule": "schedule_lead_token", "offer": "offer_lead_token"}
_COLUMN_NAME = re.compile(r"[a-z][a-z0-9_]*")
_NO_AUTH: Mapping[str, str | None] = {"Authorization": None}

def _order(value: str | None) -> str | None:
    if value is not None and (not isinstance(value, str) or not _COLUMN_NAME.fullmatch(value)):
        raise ValidationError(f"order must be a lead column name such as 'created_at' ({value!r})")
    return value


class Leads(Resource):
    """``provider.leads``."""

    async def create(
        self,
        lead_token: str,
        *,
        caller_id: str,
        data: Mapping[str, Any] | None = None,
        token_type: Literal["schedule", "offer"] | None = None,
        email: str | None = None,
        contact_field_type: str | None = None,
        schedule_callback_at: datetime | str | None = None,
        schedule_callback_in_seconds: int | None = None,
        next_action_at: datetime | str | None = None,
        expires_in: int | None = None,
        hours_to_expire: int | None = None,
        max_contact_attempts: int | None = None,
        lead_priority: int | None = None,
        apply_to: str | None = None,
        traffic_source_id: int | str | None = None,
        sub_id: str | None = None,
        update_all_matching_leads: bool | None = None,
        unblock_contact: bool | None = None,
        blocked: bool | None = None,
        assign_trackdrive_number: bool | None = None,
        assign_sms_number: bool | None = None,
        expire_existing: bool | None = None,
        delete_existing: bool | None = None,
        update_only: bool | None = None,
        restart_schedule: bool | None = None,
        auto_format_nested_fields: bool | None = None,
    ) -> Lead:
        """Post a lead for ``caller_id`` to the schedule or offer that ``lead_token`` names.

        ``data`` carries the lead's own fields (TrackDrive "lead tokens", e.g.
        ``{"loan_amount": "500"}``); the keyword arguments are TrackDrive's reserved platform
        fields. ``token_type="schedule"``/``"offer"`` sends the token as
        ``schedule_lead_token``/``offer_lead_token`` instead of the generic ``lead_token``.
        """
        if not isinstance(lead_token, str) or not lead_token.strip():
            raise InvalidMessage("lead_token must be a non-empty string (a schedule or offer key)")
        if token_type not in _TOKEN_KEYS:
            raise ValidationError("token_type must be 'schedule', 'offer' or None")
        if caller_id is None:
            raise InvalidMessage("caller_id (the lead's phone number, E.164) is required")
        if data is not None and not isinstance(data, Mapping):
            raise ValidationError("data must be a mapping of lead fields")
        flags = {name: flag(value, name) for name, value in (
            ("update_all_matching_leads", update_all_matching_leads),
            ("unblock_contact", unblock_contact), ("blocked", blocked),
            ("assign_trackdrive_number", assign_trackdrive_number),
            ("assign_sms_number", assign_sms_number), ("expire_existing", expire_existing),
            ("delete_existing", delete_existing), ("update_only", update_only),
            ("restart_schedule", restart_schedule),
            ("auto_format_nested_fields", auto_format_nested_fields),
        )}
        integers = {name: integer(value, name) for name, value in (
            ("schedule_callback_in_seconds", schedule_callback_in_seconds),
            ("lead_priority", lead_priority), ("hours_to_expire", hours_to_expire),
            ("max_contact_attempts", max_contact_attempts), ("expires_in", expires_in),
        )}
        payload = body(
            {
                _TOKEN_KEYS[token_type]: lead_token,
                "caller_id": self._phone(caller_id, "caller_id"),
                "email": text(email, "email"),
                "contact_field_type": text(contact_field_type, "contact_field_type"),
                "schedule_callback_at": schedule_callback_at,
                "next_action_at": next_action_at,
                "apply_to": text(apply_to, "apply_to"),
                "traffic_source_id": optional_id(traffic_source_id, "traffic_source_id"),
                "sub_id": text(sub_id, "sub_id"),
                **flags,
                **integers,
                "data": None if data is None else dict(data),
            }
        )
        response = await self._http.request("POST", PATH, json_body=payload, headers=_NO_AUTH)
        return self.parse_record(response, Lead, ROOT)

    def list(
        self,
        *,
        serializer: str | None = None,
        page: int | None = None,
        per_page: int | None = None,
        created_at_from: datetime | str | None = None,
        created_at_to: datetime | str | None = None,
        fulltext: str | None = None,
        time_zone: str | None = None,
        columns: str | Iterable[str] | None = None,
        order: str | None = None,
        order_dir: str | None = None,
    ) -> AsyncPager[Lead]:
        """Every lead, page by page: ``async for lead in td.leads.list(...)``.

        ``time_zone`` (e.g. ``"UTC"``) says how TrackDrive reads the date range.
        """
        params = {
            "serializer": choice(serializer, SERIALIZERS, "serializer"),
            "created_at_from": created_at_from,
            "created_at_to": created_at_to,
            "fulltext": text(fulltext, "fulltext"),
            "time_zone": text(time_zone, "time_zone"),
            "columns": columns,
            "order": _order(order),
            "order_dir": choice(order_dir, ORDER_DIRECTIONS, "order_dir"),
        }
        return self._paginate(PATH, params, Lead, LIST_ROOT, page=page, per_page=per_page)

    async def update(
        self,
        id_or_uuid: int | str,
        *,
        caller_id: str | None = None,
        email: str | None = None,
        contact_field_type: str | None = None,
        blocked: bool | None = None,
        opt_out: bool | None = None,
        traffic_source_id: int | str | None = None,
        next_action_at: datetime | str | None = None,
        schedule_callback_at: datetime | str | None = None,
    ) -> Lead:
        """Change a lead (by integer id or UUID). None leaves a field as it is."""
        path = f"{PATH}/{record_id(id_or_uuid, 'id_or_uuid')}"
        payload = body(
            {
                "caller_id": self._phone(caller_id, "caller_id"),
                "email": text(email, "email"),
                "contact_field_type": text(contact_field_type, "contact_field_type"),
                "blocked": flag(blocked, "blocked"),
                "opt_out": flag(opt_out, "opt_out"),
                "traffic_source_id": optional_id(traffic_source_id, "traffic_source_id"),
                "next_action_at": next_action_at,
                "schedule_callback_at": schedule_callback_at,
            }
        )
        if not payload:
            raise ValidationError("nothing to update: pass at least one field to change")
        response = await self._http.request("PUT", path, json_body=payload)
        return self.parse_record(response, Lead, ROOT)
