"""TrackDrive records as typed, frozen models. Every one keeps the server's object in ``raw``.

Parsing is tolerant: unknown fields are ignored (and stay in ``raw``), a field of an unexpected
type is kept as sent, and status fields are open strings (TrackDrive documents long, growing
lists of them). Phone numbers are masked in reprs; lead tokens are never shown.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from ...models import DeliveryStatus
from ...phone import masked_repr

# TrackDrive relays its SMS carrier's statuses (message_uuid is a Twilio-style SID), so the
# Twilio vocabulary is mapped; anything else is UNKNOWN with the raw word kept next to it.
_STATUS_MAP: Mapping[str, DeliveryStatus] = {
    "queued": DeliveryStatus.QUEUED,
    "accepted": DeliveryStatus.ACCEPTED,
    "scheduled": DeliveryStatus.SCHEDULED,
    "sending": DeliveryStatus.QUEUED,
    "sent": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "read": DeliveryStatus.DELIVERED,
    "undelivered": DeliveryStatus.FAILED,
    "failed": DeliveryStatus.FAILED,
    "canceled": DeliveryStatus.FAILED,
    "cancelled": DeliveryStatus.FAILED,
    "receiving": DeliveryStatus.RECEIVED,
    "received": DeliveryStatus.RECEIVED,
}


def delivery_status(raw_status: object) -> DeliveryStatus:
    """Map a TrackDrive text-message status onto :class:`DeliveryStatus` (UNKNOWN if new)."""
    if not isinstance(raw_status, str):
        return DeliveryStatus.UNKNOWN
    return _STATUS_MAP.get(raw_status.strip().lower(), DeliveryStatus.UNKNOWN)


def _masked(value: object) -> str:
    return masked_repr(value)


_EMPTY: Mapping[str, Any] = {}


def _phone(json_key: str | None = None) -> Any:
    metadata = {"json": json_key} if json_key else {}
    return attrs.field(default=None, repr=_masked, metadata=metadata)


@attrs.frozen(slots=True)
class Envelope:
    """What TrackDrive wraps a record in: the HTTP ``status`` it repeats, ``metadata`` (``root``,
    and for lists ``total_count``/``total_pages``...) and the record's ``checksum``."""

    status: int | None = None
    metadata: Mapping[str, Any] = attrs.field(default=_EMPTY)
    checksum: str | None = None


# The envelope a record came in (None when the server sent a bare record). Set from the
# envelope, never read from the record's own JSON: its key is one no JSON object carries.
_FROM_ENVELOPE = {"json": "\0envelope"}


@attrs.frozen(slots=True)
class TextMessage:
    """A text message as ``POST /text_messages`` returns it (and its delivery webhook sends)."""

    id: int | None = None
    from_: str | None = _phone("from")
    to: str | None = _phone()
    message: str | None = attrs.field(default=None, repr=False)
    number_id: int | None = None
    lead_id: int | None = None
    provider_configuration_id: int | None = None
    message_uuid: str | None = None
    ring_pool_id: int | None = None
    schedule_id: int | None = None
    offer_id: int | None = None
    status: str | None = None
    error_code: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    checksum: str | None = None
    raw: Mapping[str, Any] = attrs.field(default=_EMPTY, repr=False)
    envelope: Envelope | None = attrs.field(default=None, repr=False, eq=False,
                                            metadata=_FROM_ENVELOPE)

    @property
    def delivery_status(self) -> DeliveryStatus:
        return delivery_status(self.status)


@attrs.frozen(slots=True)
class Schedule:
    """A schedule (a dialing/texting cadence). ``leads_api_key`` is its lead token: kept secret."""

    id: int | None = None
    uuid: str | None = None
    name: str | None = None
    description: str | None = None
    offer_id: int | None = None
    paused: bool | None = None
    sortable_order: int | None = None
    lead_duplicate_timeframe: Any = None
    schedule_type: str | None = None
    time_zone: str | None = None
    leads_api_key: str | None = attrs.field(default=None, repr=False)
    numbers_count: int | None = None
    calls_count: int | None = None
    recent_calls_count: int | None = None
    last_call_at: datetime | None = None
    use_do_not_call: bool | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    checksum: str | None = None
    raw: Mapping[str, Any] = attrs.field(default=_EMPTY, repr=False)
    envelope: Envelope | None = attrs.field(default=None, repr=False, eq=False,
                                            metadata=_FROM_ENVELOPE)


@attrs.frozen(slots=True)
class Call:
    """A call record, as ``POST /schedules/make_call`` returns it.

    ``status`` is an open string (``initiated``, ``waiting``, ``finished``, ``no-answer``...).
    ``offer`` and ``traffic_source`` may be names or nested objects depending on the serializer.
    """

    id: int | None = None
    uuid: str | None = None
    legacy_id: str | None = None
    status: str | None = None
    caller_number: str | None = _phone()
    number_called: str | None = _phone()
    caller_city: str | None = None
    caller_country: str | None = None
    schedule_id: int | None = None
    lead_id: str | None = None
    offer_id: int | None = None
    offer: Any = attrs.field(default=None, repr=False)
    buyer_id: int | None = None
    traffic_source_id: int | None = None
    traffic_source: Any = attrs.field(default=None, repr=False)
    total_duration: int | None = None
    hold_duration: int | None = None
    ivr_duration: int | None = None
    attempted_duration: int | None = None
    answered_duration: int | None = None
    agent_duration: int | None = None
    revenue: float | None = None
    payout: float | None = None
    traffic_source_payout: float | None = None
    buyer_revenue: float | None = None
    provider_cost: float | None = None
    trackdrive_cost: float | None = None
    buyer_converted: bool | None = None
    offer_converted: bool | None = None
    traffic_source_converted: bool | None = None
    recording_url: str | None = attrs.field(default=None, repr=False)
    created_at: datetime | None = None
    ended_at: datetime | None = None
    checksum: str | None = None
    raw: Mapping[str, Any] = attrs.field(default=_EMPTY, repr=False)
    envelope: Envelope | None = attrs.field(default=None, repr=False, eq=False,
                                            metadata=_FROM_ENVELOPE)


@attrs.frozen(slots=True)
class Lead:
    """A lead (a person on a schedule/offer). ``status`` is an open string (``scheduled``...)."""

    id: int | None = None
    uuid: str | None = None
    legacy_id: str | None = None
    type: str | None = None
    caller_id: str | None = _phone()
    name: str | None = attrs.field(default=None, repr=False)
    full_name: str | None = attrs.field(default=None, repr=False)
    email: str | None = attrs.field(default=None, repr=False)
    contact_field_type: str | None = None
    status: str | None = None
    human_status: str | None = None
    offer_id: int | None = None
    schedule_id: int | None = None
    traffic_source_id: int | None = None
    buyer_id: int | None = None
    sub_id: str | None = None
    country: str | None = None
    state_province: str | None = None
    zip_postal_code: str | None = attrs.field(default=None, repr=False)
    time_zone: str | None = None
    expires_in: int | None = None
    opt_out: bool | None = None
    blocked: bool | None = None
    has_next_action: bool | None = None
    next_action_at: datetime | None = None
    revenue: float | None = None
    payout: float | None = None
    offer_converted: bool | None = None
    buyer_converted: bool | None = None
    data: Mapping[str, Any] | None = attrs.field(default=None, repr=False)
    created_at: datetime | None = None
    updated_at: datetime | None = None
    deleted_at: datetime | None = None
    checksum: str | None = None
    raw: Mapping[str, Any] = attrs.field(default=_EMPTY, repr=False)
    envelope: Envelope | None = attrs.field(default=None, repr=False, eq=False,
                                            metadata=_FROM_ENVELOPE)


__all__ = ["Call", "Lead", "Schedule", "TextMessage", "delivery_status"]
