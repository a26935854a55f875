"""Benchmark 5: how much of a server-enforced rate limit the Dispatcher uses, and how many 429s.

The sandbox enforces TextUs's limit (``rate`` requests per 1-second fixed window, per token) and
answers 429 + Retry-After beyond it. The Dispatcher sends to an endless stream of recipients for
``seconds``; then the stream ends and the job drains. Figures:

* ``achieved``: messages the sandbox accepted inside the timed span, per second;
* ``steady``: accepted per whole sandbox window strictly inside the span (no partial windows at
  either end, so the initial burst allowance does not flatter the figure);
* ``use``: achieved / allowed; ``429s``: every 429 the sandbox sent (counted on the wire by an
  aiohttp trace on the provider's session, so retried ones count too).
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import aiohttp

from .workload import BODY, CONCURRENCY, number


def _status_counter() -> tuple[aiohttp.TraceConfig, Counter[int]]:
    statuses: Counter[int] = Counter()

    async def on_end(_session: aiohttp.ClientSession, _ctx: SimpleNamespace,
                     params: aiohttp.TraceRequestEndParams) -> None:
        statuses[params.response.status] += 1

    trace = aiohttp.TraceConfig()
    trace.on_request_end.append(on_end)
    return trace, statuses


async def measure_rate_limit_use(
    seconds: float, rate: int, *, concurrency: int = CONCURRENCY
) -> dict[str, Any]:
    from smsbridge import Dispatcher, OutcomeStatus, RateLimiter
    from smsbridge.providers.textus import TextUsProvider
    from smsbridge.sandbox import Sandbox

    trace, statuses = _status_counter()
    outcomes: Counter[str] = Counter()
    async with Sandbox(textus_rate_limit=(rate, 1.0)) as sandbox:
        session = aiohttp.ClientSession(trace_configs=[trace])
        # The account's limit is set on the provider (it is per credential): its limiter
        # throttles every request and follows X-RateLimit-Remaining / -Reset; the Dispatcher
        # (rate_limit=None) uses that limiter rather than stacking a second bucket on it.
        provider = TextUsProvider(
            sandbox.textus_token, sandbox.textus_account, base_url=sandbox.textus_url,
            session=session, rate_limiter=RateLimiter(rate, 1.0),
        )
        dispatcher = Dispatcher(provider, concurrency=concurrency, rate_limit=None)
        started = time.time()
        deadline = time.monotonic() + seconds

        async def recipients() -> AsyncIterator[str]:
            i = 0
            while time.monotonic() < deadline:
                yield number(i)
                i += 1

        try:
            async for outcome in dispatcher.stream(recipients(), body=BODY):
                outcomes[str(outcome.status)] += 1
        finally:
            await provider.aclose()
            await session.close()
        ended = started + seconds
        accepted = sorted(r.accepted_at for r in sandbox.records if r.route == "textus.send")
    in_span = [t for t in accepted if started <= t < ended]
    first_window, last_window = math.ceil(started), math.floor(ended)
    whole = [t for t in accepted if first_window <= t < last_window]
    windows = max(last_window - first_window, 0)
    achieved = len(in_span) / seconds
    steady = len(whole) / windows if windows else 0.0
    return {
        "allowed": float(rate),
        "seconds": seconds,
        "accepted": len(accepted),
        "accepted_in_span": len(in_span),
        "achieved": achieved,
        "steady": steady,
        "use": achieved / rate,
        "steady_use": steady / rate,
        "429s": statuses.get(429, 0),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "outcomes": dict(outcomes),
        "sent": outcomes.get(str(OutcomeStatus.SENT), 0),
    }
