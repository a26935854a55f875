"""smsbridge: async SMS and call-now through TrackDrive and TextUs, with a safe bulk dispatcher.

Public re-exports only. Heavier pieces (providers, dispatcher, sandbox, webhooks) are imported on
first use so ``import smsbridge`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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
    RequestTimeoutError,
    ServerError,
    SmsBridgeError,
    StoreUnavailableError,
    TemplateError,
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
from .limits.local import RateLimiter
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
from .registry import ConnectionURL, connect, register_provider
from .transport.http import Timeouts
from .transport.pagination import AsyncPager, Page
from .transport.retry import RetryPolicy

if TYPE_CHECKING:
    from .compliance import QuietHours, count_segments, smart_encoding
    from .dispatch.dispatcher import (
        BulkReport,
        Dispatcher,
        FailoverProvider,
        OutcomeStream,
        Progress,
    )
    from .journal.store import Journal
    from .providers.textus import TextUsProvider
    from .providers.trackdrive import TrackDriveProvider
    from .sandbox import Sandbox
    from .webhooks.replies import OptOutReply
    from .webhooks.server import WebhookReceiver
    from .webhooks.tracking import DeliveryTracker

__version__ = "0.1.0"

_LAZY = {
    "TextUsProvider": "smsbridge.providers.textus",
    "TrackDriveProvider": "smsbridge.providers.trackdrive",
    "Dispatcher": "smsbridge.dispatch.dispatcher",
    "BulkReport": "smsbridge.dispatch.dispatcher",
    "FailoverProvider": "smsbridge.dispatch.dispatcher",
    "OutcomeStream": "smsbridge.dispatch.dispatcher",
    "Progress": "smsbridge.dispatch.dispatcher",
    "Journal": "smsbridge.journal.store",
    "WebhookReceiver": "smsbridge.webhooks.server",
    "DeliveryTracker": "smsbridge.webhooks.tracking",
    "Sandbox": "smsbridge.sandbox",
    "QuietHours": "smsbridge.compliance",
    "count_segments": "smsbridge.compliance",
    "smart_encoding": "smsbridge.compliance",
    "OptOutReply": "smsbridge.webhooks.replies",
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
    "OptOutReply",
    "Outcome",
    "OutcomeStatus",
    "OutcomeStream",
    "Page",
    "PermissionDeniedError",
    "Permit",
    "PipelinedProvider",
    "Progress",
    "QuietHours",
    "RateLimit",
    "RateLimitError",
    "RateLimiter",
    "Receipt",
    "Recipient",
    "RedirectError",
    "RequestTimeoutError",
    "RetryPolicy",
    "Sandbox",
    "SendContext",
    "ServerError",
    "SmsBridgeError",
    "StoreUnavailableError",
    "TemplateError",
    "TextUsProvider",
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
    "count_segments",
    "register_provider",
    "smart_encoding",
]
