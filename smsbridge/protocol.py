"""The provider-agnostic contract: ``MessagingProvider`` and the ``Capabilities`` it declares."""

from __future__ import annotations

from types import TracebackType
from typing import Protocol, runtime_checkable

import attrs

from .errors import InvalidMessage
from .limits.protocol import Limiter, Permit
from .models import BatchReceipt, Message, Receipt
from .transport.budget import AttemptBudget


@attrs.frozen(slots=True)
class RateLimit:
    """``requests`` per ``period`` seconds, as the provider enforces it (per credential)."""

    requests: int
    period: float = 1.0

    @property
    def per_second(self) -> float:
        return self.requests / self.period


@attrs.frozen(slots=True)
class Capabilities:
    """What a provider can do. The dispatcher reads these; it never special-cases a name."""

    max_body_length: int | None = None
    attachments: bool = False
    max_attachment_bytes: int | None = None
    attachment_types: frozenset[str] = frozenset()
    max_attachments_per_request: int = 0
    native_multi_recipient: bool = False
    max_recipients_per_request: int | None = None
    rate_limit: RateLimit | None = None
    delivery_webhooks: bool = False
    idempotent_send: bool = False
    calls: bool = False

    def check_body(self, body: object, provider: str) -> None:
        """Raise InvalidMessage when ``body`` is longer than ``max_body_length``; every
        provider's ``send`` calls this before building a request."""
        limit = self.max_body_length
        if limit is not None and isinstance(body, str) and len(body) > limit:
            raise InvalidMessage(
                f"the body is {len(body):,} characters; {provider} allows at most {limit:,}: "
                "shorten it (a long text is better sent as a link)"
            )


@runtime_checkable
class MessagingProvider(Protocol):
    """Send one message to one recipient. Implementations are async context managers."""

    @property
    def name(self) -> str: ...

    @property
    def capabilities(self) -> Capabilities: ...

    async def send(self, message: Message) -> Receipt: ...

    async def aclose(self) -> None: ...

    async def __aenter__(self) -> MessagingProvider: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


@runtime_checkable
class BatchSendingProvider(MessagingProvider, Protocol):
    """A provider with a native multi-recipient send (one request, no per-recipient ids).

    ``message.body`` goes to every recipient as it is: a batch's recipients are plain numbers
    (the dispatcher renders templates first and batches recipients whose text is identical).
    """

    async def send_batch(self, message: Message) -> BatchReceipt: ...


@attrs.define(slots=True)
class SendContext:
    """What a dispatcher hands one send explicitly: the rate-limit permit it already acquired
    (the request pipeline then does not wait a second time; whoever uses it sets it to None, so
    a retry or a failover's next provider acquires its own) and the recipient's retry budget,
    shared by every level that retries."""

    permit: Permit | None = None
    budget: AttemptBudget | None = None


@runtime_checkable
class PipelinedProvider(MessagingProvider, Protocol):
    """A provider whose ``send`` (and ``send_batch``, if any) takes ``context=SendContext``.

    The dispatcher checks this once per job: for such a provider it acquires the provider's own
    ``rate_limiter`` before it marks a recipient in flight and hands the permit down; any other
    provider is called as ``send(message)`` and keeps throttling itself.
    """

    @property
    def accepts_send_context(self) -> bool: ...

    @property
    def rate_limiter(self) -> Limiter | None: ...

    async def send(self, message: Message, *, context: SendContext | None = None) -> Receipt: ...
