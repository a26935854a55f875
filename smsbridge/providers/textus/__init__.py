"""TextUs ("TextUs Next") provider: ``TextUsProvider`` and its resource models.

Importing this package registers the ``textus://`` scheme, so ``smsbridge.connect()`` works even
where the package's entry points are not installed.
"""

from __future__ import annotations

from ...registry import register_provider, register_webhook_route
from . import webhooks
from .models import (
    Account,
    Contact,
    ContactNote,
    ContactPhone,
    Conversation,
    Integration,
    MessageAttachment,
    OptOut,
    delivery_status,
)
from .models import Message as TextUsMessage
from .provider import TextUsProvider

register_webhook_route(webhooks.ROUTE)
register_provider("textus", TextUsProvider.from_url)

__all__ = [
    "Account",
    "Contact",
    "ContactNote",
    "ContactPhone",
    "Conversation",
    "Integration",
    "MessageAttachment",
    "OptOut",
    "TextUsMessage",
    "TextUsProvider",
    "delivery_status",
]
