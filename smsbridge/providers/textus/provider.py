"""``TextUsProvider``: the TextUs ("TextUs Next") API behind the smsbridge protocol.

Auth is a Bearer token; every request carries ``application/vnd.textus+jsonld``; paths are
scoped by the account slug; ids are root-relative IRIs resolved against ``base_url``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any, Literal, Self

import aiohttp

from ... import _constants as C
from ..._convert import is_object
from ..._logging import logger
from ...errors import ConfigurationError
from ...limits.protocol import Limiter
from ...limits.state import RateLimitState
from ...models import Attachment, BatchReceipt, DeliveryStatus, Message, Receipt, Recipient
from ...phone import mask
from ...protocol import Capabilities, RateLimit, SendContext
from ...registry import ConnectionURL
from ...telemetry import Telemetry
from ...transport.http import HttpClient, Response, Timeouts
from ...transport.retry import RetryPolicy
from ...transport.urls import redact_userinfo
from .._base import BaseProvider
from .._credentials import check_credential, from_environment
from ._errors import PROVIDER, error_hook
from ._resource import Scope
from ._validation import ALLOWED_TYPES, check_region, check_slug
from .integrations import Integrations
from .messages import Messages, Outgoing
from .models import delivery_status
from .resources import Accounts, Contacts, Conversations, OptOuts

_URL_OPTIONS = ("base_url", "region", "verify_attachment_size", "limiter")
_TRUE = frozenset({"1", "true", "yes", "on"})
_NO_BODY: Mapping[str, Any] = MappingProxyType({})


# Read when the constructor is not given them (as OpenAI's and Stripe's clients do).
TOKEN_ENV = "TEXTUS_TOKEN"
ACCOUNT_ENV = "TEXTUS_ACCOUNT"


class TextUsProvider(BaseProvider):
    """Send SMS/MMS through TextUs and read its accounts, conversations, contacts and opt-outs.

    ``account`` is the slug used in ``/:account/...`` paths (``provider.accounts.list()`` shows
    yours); without it, sends need a sender number or ``options={"email": ...}``.
    """

    name = PROVIDER
    capabilities = Capabilities(
        max_body_length=C.TEXTUS_MAX_BODY_LENGTH,
        attachments=True,
        max_attachment_bytes=C.TEXTUS_MAX_ATTACHMENT_BYTES,
        attachment_types=ALLOWED_TYPES,
        max_attachments_per_request=C.TEXTUS_MAX_ATTACHMENTS_PER_REQUEST,
        native_multi_recipient=True,
        rate_limit=RateLimit(C.TEXTUS_RATE_LIMIT_REQUESTS, C.TEXTUS_RATE_LIMIT_PERIOD),
        delivery_webhooks=True,
        idempotent_send=False,
    )

    def __init__(
        self,
        token: str | None = None,
        account: str | None = None,
        *,
        base_url: str | None = None,
        session: aiohttp.ClientSession | None = None,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        rate_limiter: Limiter | str | None = "auto",
        default_region: str | None = None,
        verify_attachment_size: bool = False,
        telemetry: Telemetry | Literal["auto"] | None = "auto",
    ) -> None:
        token = check_credential(
            from_environment(token, TOKEN_ENV, required=True, name="TextUs API token"),
            "the TextUs API token", hint="create one under Profile -> API Tokens"
        )
        account = from_environment(account, ACCOUNT_ENV, required=False, name="TextUs account")
        self.account = check_slug(account) if account is not None else None
        self._http = HttpClient(
            provider=PROVIDER,
            base_url=base_url or C.TEXTUS_BASE_URL,
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": C.TEXTUS_MEDIA_TYPE,
                "Content-Type": C.TEXTUS_MEDIA_TYPE,
            },
            timeouts=timeouts,
            retry=retry,
            session=session,
            error_hook=error_hook,
            # What most TextUs operations document; the others name their own codes.
            expect=frozenset({200}),
            telemetry=telemetry,
        )
        self._http.rate_limiter = self._default_rate_limiter(
            rate_limiter, account=self.account or "", secret=token)
        scope = Scope(self._http, self.account, check_region(default_region))
        self.messages = Messages(scope, verify_attachment_size=verify_attachment_size)
        self.accounts = Accounts(scope)
        self.conversations = Conversations(scope)
        self.contacts = Contacts(scope)
        self.opt_outs = OptOuts(scope)
        self.integrations = Integrations(scope)

    @classmethod
    def from_url(cls, url: ConnectionURL, **overrides: Any) -> Self:
        """``textus://TOKEN@ACCOUNT?base_url=...&region=US&verify_attachment_size=1``.

        ``&limiter=redis://localhost:6379/0`` shares the account's rate limit through Redis
        with every process using the same token.
        """
        token = url.username or url.password
        if not token:
            raise ConfigurationError(
                # not url.redacted(): a token typed without its '@' would be the host
                "the textus:// connection URL has no token; write textus://TOKEN@ACCOUNT"
            )
        unknown = sorted(set(url.params) - set(_URL_OPTIONS))
        if unknown:
            raise ConfigurationError(
                f"unknown TextUs connection URL option(s) {unknown}; known: {list(_URL_OPTIONS)}"
            )
        kwargs: dict[str, Any] = {
            "account": url.host or None,
            "base_url": url.params.get("base_url"),
            "default_region": url.params.get("region"),
        }
        if "limiter" in url.params:  # ?limiter=redis://host:6379/0: one budget for all processes
            kwargs["rate_limiter"] = url.params["limiter"]
        if "verify_attachment_size" in url.params:
            flag = url.params["verify_attachment_size"].strip().lower()
            kwargs["verify_attachment_size"] = flag in _TRUE
        kwargs.update(overrides)
        return cls(token, **kwargs)

    def __repr__(self) -> str:
        base_url = redact_userinfo(self._http.base_url)
        return f"TextUsProvider(account={self.account!r}, base_url={base_url!r})"

    @property
    def rate_limit_state(self) -> RateLimitState | None:
        """The server's latest ``X-RateLimit-*`` figures (None before the first response)."""
        return self._http.last_rate_limit

    async def send(self, message: Message, *, context: SendContext | None = None) -> Receipt:
        """Send to exactly one recipient: ``POST /:account/messages`` -> 201 Message."""
        self.capabilities.check_body(message.body, PROVIDER)
        outgoing = await self.messages.prepare(message, batch=False)
        response = await self.messages.submit(outgoing, context)
        return _receipt(outgoing, response)

    async def send_batch(
        self, message: Message, *, context: SendContext | None = None
    ) -> BatchReceipt:
        """One multi-recipient request (``to`` as a list) -> 202 with no per-recipient ids."""
        self.capabilities.check_body(message.body, PROVIDER)
        outgoing = await self.messages.prepare(message, batch=True)
        response = await self.messages.submit(outgoing, context)
        return BatchReceipt(
            provider=PROVIDER,
            to=outgoing.to,
            http_status=response.status,
            request_id=response.request_id,
        )

    async def send_many(
        self,
        numbers: Iterable[str | Recipient],
        body: str = "",
        *,
        sender: str | None = None,
        attachments: Iterable[Attachment] = (),
        **options: Any,
    ) -> BatchReceipt:
        """``send_batch`` for a plain list of numbers; ``options`` as in ``Message.options``."""
        message = Message(
            to=list(numbers), body=body, sender=sender, attachments=attachments, options=options
        )
        return await self.send_batch(message)


def _receipt(outgoing: Outgoing, response: Response) -> Receipt:
    """The receipt of a single send. Only ``id`` and the state are read (not a full parse)."""
    body = response.json()
    to = outgoing.to[0]
    if not is_object(body):
        if body is not None:
            logger.warning(
                "%s: %s %d body is not JSON; the message was accepted but its id is unknown",
                PROVIDER, outgoing.path, response.status,
            )
        body = _NO_BODY
    message_id = body.get("id")
    raw_status = body.get("deliveryState") or body.get("status")
    if not isinstance(raw_status, str):
        raw_status = None
    if raw_status is not None:
        status = delivery_status(raw_status)
    elif outgoing.scheduled or "scheduled" in (body.get("flags") or ()):
        status = DeliveryStatus.SCHEDULED
    else:
        status = DeliveryStatus.ACCEPTED  # 201/202 without a Message: accepted, id unknown
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug("%s: message %s to %s is %s", PROVIDER, message_id, mask(to), raw_status)
    return Receipt(
        provider=PROVIDER,
        message_id=message_id if isinstance(message_id, str) else None,
        status=status,
        to=to,
        request_id=response.request_id,
        raw_status=raw_status,
        raw=body,
    )
