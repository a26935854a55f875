"""smsbridge: async SMS and call-now through TrackDrive and TextUs, with a safe bulk dispatcher.

Public re-exports only. Heavier pieces (providers, dispatcher, sandbox, webhooks) are imported on
first use so ``import smsbridge`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._http import Timeouts
from ._pagination import AsyncPager, Page
from ._retry import RetryPolicy
from .errors import (
    AccountSuspendedError,
    APIError,
    AttachmentError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    ConnectError,
    DeliveryTimeoutError,
    DeliveryUnknownError,
    ErrorScope,
    IncompleteSourceError,
    InvalidMessage,
    InvalidPhoneNumber,
    JobBusyError,
    JournalError,
    JournalWalMissingError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RedirectError,
    ServerError,
    SmsBridgeError,
    TemplateError,
    TimeoutError,
    TransportError,
    UnexpectedStatusError,
    UnprocessableError,
    ValidationError,
    WebhookError,
    WebhookPayloadError,
    WebhookSignatureError,
    WebhookTooLargeError,
)
from .limits import Limiter, Permit
from .models import (
    Attachment,
    BatchReceipt,
    DeliveryEvent,
    DeliveryStatus,
    InboundMessage,
    Message,
    OptOutEvent,
    Outcome,
    OutcomeStatus,
    Receipt,
    Recipient,
)
from .protocol import (
    BatchSendingProvider,
    Capabilities,
    MessagingProvider,
    PipelinedProvider,
    RateLimit,
    SendContext,
)
from .ratelimit import RateLimiter
from .registry import ConnectionURL, connect, register_provider

if TYPE_CHECKING:
    from .dispatcher import BulkReport, Dispatcher, FailoverProvider, OutcomeStream, Progress
    from .journal import Journal
    from .providers.textus import TextUsProvider
    from .providers.trackdrive import TrackDriveProvider
    from .sandbox import Sandbox
    from .tracking import DeliveryTracker
    from .webhook_server import WebhookReceiver

__version__ = "0.1.0"

_LAZY = {
    "TextUsProvider": "smsbridge.providers.textus",
    "TrackDriveProvider": "smsbridge.providers.trackdrive",
    "Dispatcher": "smsbridge.dispatcher",
    "BulkReport": "smsbridge.dispatcher",
    "FailoverProvider": "smsbridge.dispatcher",
    "OutcomeStream": "smsbridge.dispatcher",
    "Progress": "smsbridge.dispatcher",
    "Journal": "smsbridge.journal",
    "WebhookReceiver": "smsbridge.webhook_server",
    "DeliveryTracker": "smsbridge.tracking",
    "Sandbox": "smsbridge.sandbox",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'smsbridge' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "APIError",
    "AccountSuspendedError",
    "AsyncPager",
    "Attachment",
    "AttachmentError",
    "AuthenticationError",
    "BadRequestError",
    "BatchReceipt",
    "BatchSendingProvider",
    "BulkReport",
    "Capabilities",
    "ConfigurationError",
    "ConflictError",
    "ConnectError",
    "ConnectionURL",
    "DeliveryEvent",
    "DeliveryStatus",
    "DeliveryTimeoutError",
    "DeliveryTracker",
    "DeliveryUnknownError",
    "Dispatcher",
    "ErrorScope",
    "FailoverProvider",
    "InboundMessage",
    "IncompleteSourceError",
    "InvalidMessage",
    "InvalidPhoneNumber",
    "JobBusyError",
    "Journal",
    "JournalError",
    "JournalWalMissingError",
    "Limiter",
    "Message",
    "MessagingProvider",
    "NotFoundError",
    "OptOutEvent",
    "Outcome",
    "OutcomeStatus",
    "OutcomeStream",
    "Page",
    "PermissionDeniedError",
    "Permit",
    "PipelinedProvider",
    "Progress",
    "RateLimit",
    "RateLimitError",
    "RateLimiter",
    "Receipt",
    "Recipient",
    "RedirectError",
    "RetryPolicy",
    "Sandbox",
    "SendContext",
    "ServerError",
    "SmsBridgeError",
    "TemplateError",
    "TextUsProvider",
    "TimeoutError",
    "Timeouts",
    "TrackDriveProvider",
    "TransportError",
    "UnexpectedStatusError",
    "UnprocessableError",
    "ValidationError",
    "WebhookError",
    "WebhookPayloadError",
    "WebhookReceiver",
    "WebhookSignatureError",
    "WebhookTooLargeError",
    "__version__",
    "connect",
    "register_provider",
]
