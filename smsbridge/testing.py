"""Test kit: :class:`FakeProvider`, an in-memory provider with scripted or random faults.

    fake = FakeProvider(latency=0.01, faults={"rate_limit": 0.05, "accepted_then_timeout": 0.01},
                        seed=7)
    report = await Dispatcher(fake).send(Message(to=numbers, body="Hi"))
    assert fake.accepted_count() == report.sent + <accepted UNKNOWNs>
    assert max(fake.accepted_numbers().values()) == 1        # nobody texted twice

Faults (``Fault`` or its kind as a string): ``reject`` (a 4xx, 422 by default), ``rate_limit``
(429 with Retry-After), ``connect_error`` (refused before sending), ``server_error`` (a 5xx on
the send: UNKNOWN, nothing stored), ``timeout`` (no answer, nothing stored: UNKNOWN),
``accepted_then_timeout`` (stored, then no answer: UNKNOWN) and ``latency`` (slow, then fine).
They are chosen per call by ``rule(message, call_number)``, then the number's own script
(``per_number``), then the global ``script`` (one entry per call, ``None`` = succeed), then at
random with the ``faults`` probabilities (seeded). A fault named by a string gets the defaults
(``retry_after`` of the provider for ``rate_limit``, status 422 for ``reject``).
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping

import attrs

from . import _constants as C
from ._closing import AsyncClosing
from .errors import (
    ConnectError,
    DeliveryUnknownError,
    InvalidMessage,
    RequestTimeoutError,
    ServerError,
    SmsBridgeError,
    api_error_from_response,
)
from .models import BatchReceipt, DeliveryStatus, Message, Receipt
from .phone import masked_repr
from .protocol import Capabilities

__all__ = ["FAULT_KINDS", "AcceptedMessage", "FakeProvider", "Fault"]

FAULT_KINDS = frozenset({"reject", "rate_limit", "connect_error", "server_error", "timeout",
                         "accepted_then_timeout", "latency"})


@attrs.frozen(slots=True)
class Fault:
    """One injected behaviour. ``delay`` is slept first (the latency of the failure)."""

    kind: str = attrs.field()
    status: int = 422  # reject
    retry_after: float | None = 1.0  # rate_limit
    delay: float = 0.0
    message: str | None = None

    @kind.validator
    def _known(self, _attribute: object, value: str) -> None:
        if value not in FAULT_KINDS:
            raise ValueError(f"unknown fault {value!r}; use one of {sorted(FAULT_KINDS)}")

    @classmethod
    def parse(cls, value: Fault | str | None) -> Fault | None:
        if value is None or value == "ok":
            return None
        return value if isinstance(value, Fault) else cls(value)


@attrs.frozen(slots=True)
class AcceptedMessage:
    """One recipient of one accepted send (a batch gives one per recipient)."""

    to: str = attrs.field(repr=masked_repr)
    body: str
    message_id: str | None
    batch: bool
    accepted_at: float  # time.monotonic()
    message: Message = attrs.field(repr=False)


Script = Iterable[Fault | str | None]
Rule = Callable[[Message, int], Fault | str | None]


class FakeProvider(AsyncClosing):
    """A ``MessagingProvider`` and ``BatchSendingProvider`` that keeps what it accepts."""

    def __init__(
        self,
        *,
        name: str = "fake",
        latency: float | tuple[float, float] = 0.0,
        faults: Mapping[str, float] | None = None,
        script: Script | None = None,
        per_number: Mapping[str, Script] | None = None,
        rule: Rule | None = None,
        seed: int | None = None,
        capabilities: Capabilities | None = None,
        record: bool = True,
        retry_after: float | None = 1.0,
    ) -> None:
        for kind, probability in (faults or {}).items():
            Fault(kind)
            if not 0.0 <= probability <= 1.0:
                raise ValueError(f"fault probability for {kind!r} must be in [0, 1]")
        self._name = name
        self.capabilities = capabilities or Capabilities(
            max_body_length=C.DEFAULT_MAX_BODY_LENGTH,
            attachments=True, max_attachments_per_request=10, native_multi_recipient=True,
            max_recipients_per_request=1000)
        self.latency = latency
        self.faults = dict(faults or {})
        self.retry_after = retry_after
        self._script = deque(self._parse(f) for f in script) if script is not None else None
        self._per_number = {k: deque(self._parse(f) for f in v)
                            for k, v in (per_number or {}).items()}
        self.rule = rule
        self.record = record
        self._random = random.Random(seed)
        self._ids = itertools.count(1)
        self.closed = False
        self.clear()

    @property
    def name(self) -> str:
        return self._name

    def clear(self) -> None:
        """Forget everything recorded (counters included)."""
        self.accepted: list[AcceptedMessage] = []
        self.call_times: list[float] = []
        self.calls_per_number: Counter[str] = Counter()  # attempts, accepted or not
        self.injected: Counter[str] = Counter()
        self.calls = 0
        self.accepted_total = 0
        self.in_flight = 0
        self.max_concurrency = 0

    # --- inspection -----------------------------------------------------------------------

    def accepted_numbers(self) -> Counter[str]:
        """How many accepted messages each number got (anything above 1 is a double text)."""
        return Counter(a.to for a in self.accepted)

    def accepted_count(self, number: str | None = None) -> int:
        if number is None:
            return self.accepted_total
        return sum(1 for a in self.accepted if a.to == number)

    def sent_to(self, number: str) -> list[AcceptedMessage]:
        return [a for a in self.accepted if a.to == number]

    # --- MessagingProvider ----------------------------------------------------------------

    async def send(self, message: Message) -> Receipt:
        phone = message.recipient.phone
        ids = await self._call(message, [phone], batch=False)
        return Receipt(provider=self._name, message_id=ids[0], status=DeliveryStatus.ACCEPTED,
                       to=phone, request_id=f"req-{ids[0]}", raw_status="accepted")

    async def send_batch(self, message: Message) -> BatchReceipt:
        """One body for every recipient, as a real native batch: recipients carrying
        variables are refused (InvalidMessage) before anything is sent."""
        if any(r.variables for r in message.to):
            raise InvalidMessage(
                "a multi-recipient send has one body for everyone, so recipient variables "
                "cannot be filled; render the body first and send plain numbers")
        phones = [r.phone for r in message.to]
        ids = await self._call(message, phones, batch=True)
        return BatchReceipt(provider=self._name, to=tuple(phones), http_status=202,
                            request_id=f"req-{ids[0]}")

    async def aclose(self) -> None:
        self.closed = True

    def __repr__(self) -> str:
        return f"FakeProvider(name={self._name!r}, accepted={self.accepted_total})"

    # --- the behaviour --------------------------------------------------------------------

    async def _call(self, message: Message, phones: list[str], *, batch: bool) -> list[str]:
        self.capabilities.check_body(message.body, self._name)  # refused: not even a call
        self.calls += 1
        call_number = self.calls
        if self.record:
            self.call_times.append(time.monotonic())
            self.calls_per_number.update(phones)
        self.in_flight += 1
        self.max_concurrency = max(self.max_concurrency, self.in_flight)
        try:
            fault = self._choose(message, phones[0], call_number)
            if fault is not None:
                self.injected[fault.kind] += 1
            await asyncio.sleep(self._latency() + (fault.delay if fault else 0.0))
            if fault is not None and fault.kind not in ("latency", "accepted_then_timeout"):
                raise self._error(fault)
            ids = [f"fake-{next(self._ids)}" for _ in phones]
            self._accept(message, phones, ids, batch)
            if fault is not None and fault.kind == "accepted_then_timeout":
                raise self._error(fault)
            return ids
        finally:
            self.in_flight -= 1

    def _choose(self, message: Message, phone: str, call_number: int) -> Fault | None:
        if self.rule is not None:
            chosen = self.rule(message, call_number)
            if chosen is not None:
                return self._parse(chosen)
        own = self._per_number.get(phone)
        if own:
            return own.popleft()
        if self._script:
            return self._script.popleft()
        for kind, probability in self.faults.items():
            if probability and self._random.random() < probability:
                return self._parse(kind)
        return None

    def _parse(self, value: Fault | str | None) -> Fault | None:
        if isinstance(value, str) and value == "rate_limit":
            return Fault(value, retry_after=self.retry_after)
        return Fault.parse(value)

    def _latency(self) -> float:
        if isinstance(self.latency, tuple):
            low, high = self.latency
            return self._random.uniform(low, high)
        return self.latency

    def _accept(self, message: Message, phones: list[str], ids: list[str], batch: bool) -> None:
        self.accepted_total += len(phones)
        if not self.record:
            return
        now = time.monotonic()
        self.accepted.extend(
            AcceptedMessage(to=phone, body=message.body, message_id=None if batch else mid,
                            batch=batch, accepted_at=now, message=message)
            for phone, mid in zip(phones, ids, strict=True))

    def _error(self, fault: Fault) -> SmsBridgeError:
        name = self._name
        text = fault.message or f"injected {fault.kind}"
        if fault.kind == "reject":
            return api_error_from_response(provider=name, status=fault.status,
                                           body={"error": text}, request_id="req-fault")
        if fault.kind == "rate_limit":
            return api_error_from_response(provider=name, status=429, body={"error": text},
                                           request_id="req-fault", retry_after=fault.retry_after)
        if fault.kind == "connect_error":
            return ConnectError(f"{name}: could not connect ({text}); the request was not sent",
                                provider=name, retryable=True)
        cause: SmsBridgeError
        if fault.kind == "server_error":
            cause = ServerError(f"{name}: {text}", provider=name, status=503, retryable=True,
                                may_have_been_sent=True)
        else:
            cause = RequestTimeoutError(f"{name}: no response ({text}); the request may have been "
                                 "processed", provider=name, retryable=True,
                                 may_have_been_sent=True)
        return DeliveryUnknownError(
            f"{name}: the outcome is unknown — {cause} It was not retried.", provider=name,
            cause=cause)
