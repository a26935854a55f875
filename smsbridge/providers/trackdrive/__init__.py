"""TrackDrive: SMS (``text_messages``), schedules and "call now" (``schedules.make_call``), leads.

Importing this package registers the ``trackdrive://`` connection-URL scheme.
"""

from __future__ import annotations

from ...registry import register_provider, register_webhook_route
from . import webhooks
from .errors import (
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
from .leads import Leads
from .models import Call, Envelope, Lead, Schedule, TextMessage, delivery_status
from .provider import TrackDriveProvider
from .schedules import Schedules
from .text_messages import TextMessages

register_webhook_route(webhooks.ROUTE)
register_provider("trackdrive", TrackDriveProvider.from_url)

__all__ = [
    "Call",
    "CallGuardError",
    "ContactSuppressedError",
    "CpsLimitError",
    "DuplicateLeadError",
    "Envelope",
    "InvalidNumberError",
    "Lead",
    "Leads",
    "NoMatchingDistributionError",
    "RecentlyDialedError",
    "Schedule",
    "ScheduleUnavailableError",
    "Schedules",
    "TextMessage",
    "TextMessages",
    "TrackDriveProvider",
    "UnknownLeadError",
    "delivery_status",
]
