"""Webhooks: the framework-agnostic core (``core``: events, parsing, de-dup, routing), delivery
tracking (``tracking``) and the ``aiohttp.web`` receiver (``server``).

The core knows no provider: each provider registers a :class:`WebhookRoute` (its path and its
parser) through the provider registry.
"""

from ..models import DeliveryEvent, InboundMessage, OptOutEvent
from .core import (
    Event,
    EventRouter,
    MemoryDeduplicator,
    WebhookEvent,
    keyword_opt_out,
    parse_webhook,
)
from .replies import DEFAULT_OPT_OUT_REPLY, OptOutReply

__all__ = [
    "DEFAULT_OPT_OUT_REPLY",
    "DeliveryEvent",
    "Event",
    "EventRouter",
    "InboundMessage",
    "MemoryDeduplicator",
    "OptOutEvent",
    "OptOutReply",
    "WebhookEvent",
    "keyword_opt_out",
    "parse_webhook",
]
