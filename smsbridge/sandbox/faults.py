"""Fault injection: per route, by ratio, from a seeded RNG.

``latency`` rules are rolled independently and add up. Every other kind is *exclusive*: one roll
per request walks the matching rules in the order they were added, so ``add(r, "error_5xx_before",
0.10)`` then ``add(r, "rate_limit_429", 0.05)`` fault exactly 10 % and 5 % of requests, never both.
"""

from __future__ import annotations

import asyncio
import enum
import math
import random
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from typing import Protocol

import attrs
from aiohttp import web

from ..errors import ConfigurationError
from ._web import Rejected, abort_connection

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
WILDCARD = "*"
_HANG_POLL = 0.25


class FaultKind(enum.StrEnum):
    LATENCY = "latency"  # sleep ``delay`` seconds, then answer normally
    ERROR_5XX_BEFORE = "error_5xx_before"  # 5xx, nothing stored
    ERROR_5XX_AFTER = "error_5xx_after"  # stored, then 5xx: the UNKNOWN case
    RATE_LIMIT_429 = "rate_limit_429"  # 429 + Retry-After, nothing stored
    RESET_BEFORE_READ = "reset_before_read"  # connection dropped before the body is read
    RESET_AFTER_STORE = "reset_after_store"  # stored, then the connection dropped unanswered
    HANG = "hang"  # nothing stored, no answer until the client gives up (or the sandbox stops)


FAULT_KINDS = tuple(FaultKind)


def _kind(kind: str | FaultKind) -> FaultKind:
    try:
        return FaultKind(kind)
    except ValueError:
        raise ConfigurationError(
            f"unknown fault kind {kind!r}; use one of: {', '.join(FAULT_KINDS)}"
        ) from None


@attrs.define(slots=True, eq=False)
class Fault:
    """One rule. ``count`` caps how many times it fires (None = unlimited)."""

    route: str
    kind: FaultKind = attrs.field(converter=_kind)
    ratio: float = 1.0
    delay: float = 0.0  # latency: seconds; rate_limit_429: the Retry-After value (default 1)
    count: int | None = None
    status: int = 500  # for the 5xx kinds
    fired: int = 0

    @property
    def exhausted(self) -> bool:
        return self.count is not None and self.fired >= self.count

    @classmethod
    def parse(cls, spec: str) -> Fault:
        """``ROUTE:KIND[:RATIO[:DELAY]]``, e.g. ``textus.send:error_5xx_after:0.1``."""
        parts = spec.split(":")
        if not 2 <= len(parts) <= 4:
            raise ConfigurationError(
                f"fault {spec!r} must look like ROUTE:KIND[:RATIO[:DELAY]], "
                "e.g. textus.send:error_5xx_after:0.1"
            )
        try:
            ratio = float(parts[2]) if len(parts) > 2 else 1.0
            delay = float(parts[3]) if len(parts) > 3 else 0.0
        except ValueError:
            raise ConfigurationError(f"fault {spec!r}: RATIO and DELAY must be numbers") from None
        return cls(parts[0], parts[1], ratio, delay)


class FaultResponder(Protocol):
    """How one emulated API answers a refusal, an injected 5xx or 429 (its own error bodies)."""

    def rejected(self, exc: Rejected) -> web.Response: ...

    def server_error(self, status: int) -> web.Response: ...

    def too_many_requests(self, retry_after: float) -> web.Response: ...


@attrs.frozen(slots=True)
class Injection:
    delay: float
    fault: Fault | None


class Faults:
    """The rules in force (``sb.faults``). Safe to change while the sandbox runs."""

    def __init__(self, routes: Iterable[str], rng: random.Random) -> None:
        self.routes = frozenset(routes)
        self._rng = rng
        self._rules: list[Fault] = []
        self._by_route: dict[str, list[Fault]] = {}
        self._stop: asyncio.Future[None] | None = None
        self.injected: Counter[tuple[str, str]] = Counter()  # (route, kind) -> times fired

    def add(
        self,
        route: str,
        kind: str | FaultKind,
        ratio: float = 1.0,
        *,
        delay: float = 0.0,
        count: int | None = None,
        status: int = 500,
    ) -> Fault:
        """Inject ``kind`` into ``ratio`` of the requests on ``route`` (or ``"*"``)."""
        return self.add_rule(Fault(route, kind, ratio, delay, count, status))

    def add_rule(self, fault: Fault) -> Fault:
        if fault.route != WILDCARD and fault.route not in self.routes:
            raise ConfigurationError(
                f"unknown sandbox route {fault.route!r}; use '*' or one of: "
                f"{', '.join(sorted(self.routes))}"
            )
        if not 0.0 <= fault.ratio <= 1.0:
            raise ConfigurationError(f"fault ratio must be within 0..1 (got {fault.ratio!r})")
        if fault.delay < 0 or not math.isfinite(fault.delay):
            raise ConfigurationError(f"fault delay must be >= 0 seconds (got {fault.delay!r})")
        if fault.kind is FaultKind.LATENCY and fault.delay <= 0:
            raise ConfigurationError("a latency fault needs delay > 0 (seconds to wait)")
        if fault.count is not None and fault.count < 1:
            raise ConfigurationError(f"fault count must be >= 1 or None (got {fault.count!r})")
        if not 500 <= fault.status <= 599:
            raise ConfigurationError(f"fault status must be a 5xx code (got {fault.status!r})")
        self._rules.append(fault)
        self._rebuild()
        return fault

    def remove(self, fault: Fault) -> None:
        if fault in self._rules:
            self._rules.remove(fault)
            self._rebuild()

    def clear(self, route: str | None = None) -> None:
        """Remove every rule, or only the rules added for ``route``."""
        self._rules = [] if route is None else [f for f in self._rules if f.route != route]
        self._rebuild()

    @property
    def rules(self) -> tuple[Fault, ...]:
        return tuple(self._rules)

    def _rebuild(self) -> None:
        self._rules = [f for f in self._rules if not f.exhausted]
        self._by_route = {
            route: rules
            for route in self.routes
            if (rules := [f for f in self._rules if f.route in (route, WILDCARD)])
        }

    def pick(self, route: str) -> Injection | None:
        """What to do to this request; None (the fast path) when nothing applies."""
        rules = self._by_route.get(route)
        if not rules:
            return None
        rng = self._rng
        roll = rng.random()
        delay, chosen, reach, spent = 0.0, None, 0.0, False
        for fault in rules:
            if fault.kind is FaultKind.LATENCY:
                if fault.ratio >= 1.0 or rng.random() < fault.ratio:
                    delay += fault.delay
                    spent |= self._fire(route, fault)
            elif chosen is None:
                reach += fault.ratio
                if roll < reach:
                    chosen = fault
                    spent |= self._fire(route, fault)
        if spent:
            self._rebuild()
        if chosen is None and delay == 0.0:
            return None
        return Injection(delay, chosen)

    def _fire(self, route: str, fault: Fault) -> bool:
        fault.fired += 1
        self.injected[(route, fault.kind.value)] += 1
        return fault.exhausted

    # --- lifecycle: held requests (latency, hang) are released when the sandbox stops
    def bind(self) -> None:
        self._stop = asyncio.get_running_loop().create_future()

    def release(self) -> None:
        if self._stop is not None and not self._stop.done():
            self._stop.set_result(None)

    async def _held(self, seconds: float) -> bool:
        """Wait ``seconds``; True when the sandbox began stopping meanwhile."""
        if self._stop is None:
            await asyncio.sleep(seconds)
            return False
        done, _ = await asyncio.wait((self._stop,), timeout=seconds)
        return bool(done)

    async def _hang(self, request: web.Request) -> None:
        while True:
            transport = request.transport
            if transport is None or transport.is_closing():
                return  # the client gave up
            if await self._held(_HANG_POLL):
                return

    async def run(
        self,
        injection: Injection,
        request: web.Request,
        handler: Handler,
        responder: FaultResponder,
    ) -> web.StreamResponse:
        if injection.delay and await self._held(injection.delay):
            return abort_connection(request)
        fault = injection.fault
        if fault is None:
            return await handler(request)
        kind = fault.kind
        if kind is FaultKind.ERROR_5XX_BEFORE:
            return responder.server_error(fault.status)
        if kind is FaultKind.RATE_LIMIT_429:
            return responder.too_many_requests(fault.delay or 1.0)
        if kind is FaultKind.RESET_BEFORE_READ:
            return abort_connection(request)
        if kind is FaultKind.HANG:
            await self._hang(request)
            return abort_connection(request)
        await handler(request)  # the request is processed and stored; its answer is lost
        if kind is FaultKind.ERROR_5XX_AFTER:
            return responder.server_error(fault.status)
        return abort_connection(request)
