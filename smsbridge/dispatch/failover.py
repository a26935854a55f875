"""``FailoverProvider``: try the next provider only when the previous one surely did not send.

A provider is skipped over, per message, only for a failure that (a) certainly had no effect
(``may_have_been_sent`` is false) and (b) another provider could fix: a refused connection or
other transport failure before sending, a rate limit that outlived the provider's retries, a
5xx that surely was not processed, or this provider's credentials being rejected (401/403).
Never after an UNKNOWN outcome (``DeliveryUnknownError``): two providers could both text the
person. Validation errors and other 4xx rejections are about the message, not the provider, and
are raised at once. The receipt's ``provider`` names the provider that sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Self

from .._closing import AsyncClosing
from .._logging import logger
from ..errors import (
    AuthenticationError,
    ConfigurationError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    SmsBridgeError,
    TransportError,
)
from ..limits.throttle import pipelined
from ..models import Message, Receipt
from ..protocol import Capabilities, MessagingProvider, SendContext

__all__ = ["DEFAULT_FAILOVER_ON", "FailoverProvider"]

DEFAULT_FAILOVER_ON: tuple[type[SmsBridgeError], ...] = (
    TransportError,
    RateLimitError,
    ServerError,
    AuthenticationError,
    PermissionDeniedError,
)


def _min(values: Sequence[int | None]) -> int | None:
    known = [v for v in values if v is not None]
    return min(known) if known else None


def merge_capabilities(capabilities: Sequence[Capabilities]) -> Capabilities:
    """What every provider of the chain can do (a message may end up with any of them)."""
    attachments = all(c.attachments for c in capabilities)
    type_sets = [c.attachment_types for c in capabilities if c.attachment_types]
    types = frozenset.intersection(*type_sets) if attachments and type_sets else frozenset()
    return Capabilities(
        max_body_length=_min([c.max_body_length for c in capabilities]),
        attachments=attachments,
        max_attachment_bytes=_min([c.max_attachment_bytes for c in capabilities]),
        attachment_types=types,
        max_attachments_per_request=min(c.max_attachments_per_request for c in capabilities),
        native_multi_recipient=False,
        max_recipients_per_request=1,
        rate_limit=None,  # each provider throttles its own requests
        delivery_webhooks=all(c.delivery_webhooks for c in capabilities),
        idempotent_send=all(c.idempotent_send for c in capabilities),
        calls=False,
    )


class FailoverProvider(AsyncClosing):
    """A :class:`MessagingProvider` over ``[primary, secondary, ...]``, tried in order.

    ``failover_on`` lists the error types that move on to the next provider (always only when
    the error says the message surely was not sent).
    """

    rate_limiter = None  # the providers inside throttle themselves
    #: The dispatcher's context (the recipient's retry budget) reaches pipelined members.
    accepts_send_context = True

    def __init__(
        self,
        providers: Sequence[MessagingProvider],
        *,
        failover_on: tuple[type[SmsBridgeError], ...] = DEFAULT_FAILOVER_ON,
        name: str = "failover",
    ) -> None:
        providers = tuple(providers)
        if not providers:
            raise ConfigurationError("FailoverProvider needs at least one provider")
        for provider in providers:
            if not isinstance(provider, MessagingProvider):
                raise ConfigurationError(
                    f"{type(provider).__name__} is not a MessagingProvider (name, capabilities, "
                    "send, aclose)")
        self.providers = providers
        self.failover_on = failover_on
        self._name = name
        self._capabilities = merge_capabilities([p.capabilities for p in providers])

    @property
    def name(self) -> str:
        return self._name

    @property
    def capabilities(self) -> Capabilities:
        return self._capabilities

    def __repr__(self) -> str:
        return f"FailoverProvider([{', '.join(p.name for p in self.providers)}])"

    def should_fail_over(self, error: SmsBridgeError) -> bool:
        """True when the next provider may be tried after ``error``."""
        return not error.may_have_been_sent and isinstance(error, self.failover_on)

    async def send(self, message: Message, *, context: SendContext | None = None) -> Receipt:
        # The chain's limit is its smallest member's: checked once, before the first attempt.
        self._capabilities.check_body(message.body, self._name)
        tried: list[str] = []
        last = len(self.providers) - 1
        for position, provider in enumerate(self.providers):
            try:
                if context is not None and pipelined(provider):
                    return await provider.send(message, context=context)  # type: ignore[call-arg]
                return await provider.send(message)
            except SmsBridgeError as error:
                if position == last or not self.should_fail_over(error):
                    if tried:
                        error.add_note("failover: tried before " + provider.name + ": "
                                       + "; ".join(tried))
                    raise
                tried.append(f"{provider.name} ({type(error).__name__})")
                logger.info("failover: %s did not send (%s); trying %s", provider.name,
                            type(error).__name__, self.providers[position + 1].name)
        raise AssertionError("unreachable")  # pragma: no cover

    async def aclose(self) -> None:
        results = await asyncio.gather(*(p.aclose() for p in self.providers),
                                       return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result

    async def __aenter__(self) -> Self:
        for provider in self.providers:
            await provider.__aenter__()
        return self
