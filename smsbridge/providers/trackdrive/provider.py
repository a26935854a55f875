"""``TrackDriveProvider``: SMS, schedules, "call now" and leads through TrackDrive's REST API.

Auth is HTTP Basic ``base64(public_key:private_key)``, computed once; the keys are never kept
as attributes, shown in a repr, logged, or put in an error. The base URL is
``https://{subdomain}.trackdrive.com/api/v1``; the subdomain is validated (``[a-z0-9-]``) so it
cannot inject another host. ``base_url`` (e.g. the sandbox's) is used verbatim instead.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Literal, Self

import aiohttp
import attrs

from ... import _constants as C
from ...errors import AttachmentError, ConfigurationError, InvalidMessage
from ...limits.protocol import Limiter
from ...models import DeliveryStatus, Message, Receipt
from ...phone import masked_repr
from ...protocol import Capabilities, SendContext
from ...registry import ConnectionURL
from ...telemetry import Telemetry
from ...transport.http import HttpClient, Timeouts
from ...transport.retry import RetryPolicy
from .._base import BaseProvider
from .._credentials import check_credential, from_environment
from ._wire import PROVIDER, error_hook
from .leads import Leads
from .models import delivery_status
from .schedules import Schedules
from .text_messages import PATH, ROOT, TextMessages

_SUBDOMAIN = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_REGION = re.compile(r"[A-Za-z]{2}")
# Printable ASCII without spaces: anything else could break (or inject into) the header.
_KEY = re.compile(r"[\x21-\x7e]+")
SEND_OPTIONS = frozenset(
    {"lead_id", "number_id", "schedule_id", "offer_id", "manual", "delivery_webhook_url"}
)
URL_PARAMS = frozenset({"base_url", "default_region", "delivery_webhook_url", "limiter"})


@attrs.define(slots=True)
class _Sent:
    """The fields of a sent :class:`TextMessage` a receipt reads, parsed exactly as TextMessage
    parses them. A send does not parse the other dozen (dates included) only to drop them."""

    id: int | None = None
    message_uuid: str | None = None
    to: str | None = attrs.field(default=None, repr=masked_repr)
    status: str | None = None
    checksum: str | None = None
    raw: Mapping[str, Any] = attrs.field(default=MappingProxyType({}), repr=False)


# Read when the constructor is not given them (as OpenAI's and Stripe's clients do).
PUBLIC_KEY_ENV = "TRACKDRIVE_PUBLIC_KEY"
PRIVATE_KEY_ENV = "TRACKDRIVE_PRIVATE_KEY"
SUBDOMAIN_ENV = "TRACKDRIVE_SUBDOMAIN"


def _check_key(value: object, name: str) -> str:
    value = check_credential(
        value, f"TrackDrive {name}", hint="see API & Access Tokens in the TrackDrive app"
    )
    if not _KEY.fullmatch(value):
        raise ConfigurationError(
            f"TrackDrive {name} contains spaces or unprintable characters; copy it again"
        )
    return value


def _base_url(subdomain: str | None, base_url: str | None) -> str:
    if subdomain is not None and (
        not isinstance(subdomain, str) or not _SUBDOMAIN.fullmatch(subdomain)
    ):
        raise ConfigurationError(
            "TrackDrive subdomain must be lowercase letters, digits and inner hyphens only "
            "(the 'acme' of acme.trackdrive.com)"
        )
    if base_url is not None:
        return base_url
    if subdomain is None:
        raise ConfigurationError(
            "pass subdomain= (the 'acme' of acme.trackdrive.com) or base_url="
        )
    return C.TRACKDRIVE_BASE_URL_TEMPLATE.format(subdomain=subdomain)


class TrackDriveProvider(BaseProvider):
    """TrackDrive. ``text_messages``, ``schedules`` and ``leads`` hold the full API surface;
    :meth:`send` speaks the provider-agnostic :class:`~smsbridge.Message`.

    ``delivery_webhook_url`` (optional) is attached to every text message that does not name
    its own; TrackDrive calls it when the message's status changes.
    """

    name = PROVIDER
    capabilities = Capabilities(
        max_body_length=C.TRACKDRIVE_MAX_BODY_LENGTH,
        attachments=False,
        native_multi_recipient=False,
        rate_limit=None,  # TrackDrive documents no API rate limit; 429s are still honoured
        delivery_webhooks=True,
        idempotent_send=False,
        calls=True,
    )

    def __init__(
        self,
        public_key: str | None = None,
        private_key: str | None = None,
        subdomain: str | None = None,
        *,
        base_url: str | None = None,
        session: aiohttp.ClientSession | None = None,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        rate_limiter: Limiter | str | None = "auto",
        default_region: str | None = None,
        delivery_webhook_url: str | None = None,
        telemetry: Telemetry | Literal["auto"] | None = "auto",
    ) -> None:
        public_key = _check_key(from_environment(
            public_key, PUBLIC_KEY_ENV, required=True, name="TrackDrive public_key"),
            "public_key")
        private_key = _check_key(from_environment(
            private_key, PRIVATE_KEY_ENV, required=True, name="TrackDrive private_key"),
            "private_key")
        if base_url is None:
            subdomain = from_environment(subdomain, SUBDOMAIN_ENV, required=False,
                                         name="TrackDrive subdomain")
        if ":" in public_key:
            raise ConfigurationError("TrackDrive public_key cannot contain ':' (Basic auth)")
        if default_region is not None and (
            not isinstance(default_region, str) or not _REGION.fullmatch(default_region)
        ):
            raise ConfigurationError("default_region must be a two-letter region code like 'US'")
        url = _base_url(subdomain, base_url)
        token = base64.b64encode(f"{public_key}:{private_key}".encode()).decode("ascii")
        self._http = HttpClient(
            provider=PROVIDER,
            base_url=url,
            headers={
                "Authorization": f"Basic {token}",
                "Accept": "application/json",
                "Content-Type": "application/json",
            },
            timeouts=timeouts,
            retry=retry,
            session=session,
            rate_limiter=self._default_rate_limiter(
                rate_limiter, account=subdomain or url, secret=f"{public_key}:{private_key}"),
            error_hook=error_hook,
            expect=frozenset({200}),  # every documented TrackDrive success is HTTP 200
            telemetry=telemetry,
        )
        self.subdomain = subdomain
        self.default_region = default_region.upper() if default_region else None
        self.text_messages = TextMessages(
            self._http, self.default_region, delivery_webhook_url=delivery_webhook_url
        )
        self.schedules = Schedules(self._http, self.default_region)
        self.leads = Leads(self._http, self.default_region)

    @classmethod
    def from_url(cls, url: ConnectionURL, **overrides: Any) -> Self:
        """``trackdrive://PUBLIC_KEY:PRIVATE_KEY@SUBDOMAIN?base_url=...&default_region=US``."""
        unknown = set(url.params) - URL_PARAMS
        if unknown:
            raise ConfigurationError(
                f"unknown trackdrive:// parameter(s) {', '.join(sorted(unknown))}; "
                f"known: {', '.join(sorted(URL_PARAMS))}"
            )
        if not url.username or not url.password:
            raise ConfigurationError(
                # not url.redacted(): keys typed without their '@' would be the host
                "a TrackDrive URL carries both keys: trackdrive://PUBLIC_KEY:PRIVATE_KEY@SUBDOMAIN"
                f" (got {'one key' if url.username or url.password else 'no key'})"
            )
        kwargs: dict[str, Any] = {k: v for k, v in url.params.items() if v}
        if "limiter" in kwargs:
            kwargs["rate_limiter"] = kwargs.pop("limiter")
        kwargs.update(overrides)
        return cls(url.username, url.password, url.host or None, **kwargs)

    async def send(self, message: Message, *, context: SendContext | None = None) -> Receipt:
        """Send one SMS. ``sender`` becomes ``from``; ``options`` may carry ``lead_id``,
        ``number_id``, ``schedule_id``, ``offer_id``, ``manual`` and ``delivery_webhook_url``.

        ``Receipt.message_id`` is TrackDrive's text message ``id`` (as a string).
        """
        recipient = message.recipient
        self.capabilities.check_body(message.body, PROVIDER)
        if message.attachments:
            raise AttachmentError("TrackDrive text messages cannot carry attachments")
        options = message.options
        if options and options.keys() - SEND_OPTIONS:
            raise InvalidMessage(
                f"unknown TrackDrive option(s) {', '.join(sorted(options.keys() - SEND_OPTIONS))}"
                f"; known: {', '.join(sorted(SEND_OPTIONS))}"
            )
        texts = self.text_messages
        payload = texts.payload(message.body, to=recipient.phone, from_=message.sender, **options)
        response = await self._http.request("POST", PATH, params=payload, context=context,
                                            operation="send")
        record = texts.parse_record(response, _Sent, ROOT)
        status = delivery_status(record.status) if record.status else DeliveryStatus.ACCEPTED
        message_id = str(record.id) if record.id is not None else record.message_uuid
        return Receipt(
            provider=PROVIDER,
            message_id=message_id,
            status=status,
            to=record.to or recipient.phone,
            request_id=response.request_id,
            raw_status=record.status,
            raw=record.raw,
        )
