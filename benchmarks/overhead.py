"""Benchmark 4: CPU microseconds per message spent in smsbridge, and where they go.

Nothing leaves the process, so the figures are the library's own cost:

* the Dispatcher into an in-process ``FakeProvider`` (no latency), journal off and on;
* ``provider.send`` with a fake transport: the provider's ``HttpClient`` answers every request
  with the same bytes the throughput server sends, without aiohttp or a socket, so request
  building, JSON, the error hook, rate-limit bookkeeping and response parsing are all measured.

Each section runs once unprofiled (``time.process_time``: the total) and once under cProfile
(the shares). A function's self time goes to its category by file; helpers that belong to no
category (builtins, ``re``, ``enum``...) are charged to whoever called them, so a regex run by
phonenumbers counts as phone validation. Shares are applied to the unprofiled total, because
the profiler inflates call-heavy code. The phone cache is cleared before every run so each
message pays full validation, as a job of distinct recipients does.
"""

from __future__ import annotations

import asyncio
import cProfile
import json
import os
import pstats
import tempfile
import time
import timeit
from collections.abc import Awaitable, Callable
from typing import Any

from multidict import CIMultiDict, CIMultiDictProxy

from .server import _TEXTUS_TEMPLATE, _TRACKDRIVE_TEMPLATE
from .workload import BODY, CONCURRENCY, TEXTUS, TRACKDRIVE, Endpoint, numbers, run_bounded

Func = tuple[str, int, str]

# (category, path fragments). First match wins, so provider models count as models.
CATEGORIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("phone validation", ("/phonenumbers/", "smsbridge/phone.py")),
    ("JSON encode/decode", ("/json/",)),
    ("journal (SQLite)", ("smsbridge/journal/", "sqlite3")),
    ("models / parsing (attrs, cattrs)",
     ("smsbridge/_convert.py", "/cattrs/", "/attr/", "/attrs/", "<attrs generated",
      "smsbridge/models.py", "/models.py")),
    ("provider request/receipt", ("smsbridge/providers/",)),
    ("HTTP pipeline (_http, rate limit, retry)",
     ("smsbridge/transport/", "smsbridge/limits/local.py", "smsbridge/limits/state.py",
      "smsbridge/limits/protocol.py", "smsbridge/errors.py", "/aiolimiter/")),
    ("dispatcher (job engine, render, report)",
     ("smsbridge/dispatch/", "smsbridge/limits/throttle.py")),
    ("fake provider (test kit)", ("smsbridge/testing",)),
    ("telemetry (OpenTelemetry)", ("smsbridge/telemetry/", "/opentelemetry/")),
    ("logging", ("/logging/", "smsbridge/_logging.py")),
    ("aiohttp / yarl / multidict", ("/aiohttp/", "/yarl/", "/multidict/")),
    ("asyncio event loop", ("/asyncio/", "/selectors.py")),
    ("benchmark driver", ("/benchmarks/",)),
)
OTHER = "other"
OTHER_THREADS = "other threads (journal writer: SQLite)"


def _own_category(func: Func) -> str | None:
    filename, _, name = func
    where = filename if filename != "~" else name
    for category, fragments in CATEGORIES:
        if any(fragment in where for fragment in fragments):
            return category
    return None


def breakdown(stats: pstats.Stats) -> dict[str, float]:
    """Seconds of self time per category, helpers charged to their callers."""
    table: dict[Func, Any] = stats.stats  # type: ignore[attr-defined]
    memo: dict[Func, dict[str, float]] = {}

    def shares(func: Func, depth: int) -> dict[str, float]:
        """How ``func``'s self time splits over categories (fractions summing to 1)."""
        own = _own_category(func)
        if own is not None:
            return {own: 1.0}
        if func in memo:
            return memo[func]
        callers = table[func][4] if func in table else {}
        total = sum(entry[2] for entry in callers.values())
        if depth > 8 or not callers or total <= 0:
            return {OTHER: 1.0}
        memo[func] = {OTHER: 1.0}  # breaks cycles while this one is being resolved
        split: dict[str, float] = {}
        for caller, entry in callers.items():
            for category, fraction in shares(caller, depth + 1).items():
                split[category] = split.get(category, 0.0) + fraction * entry[2] / total
        memo[func] = split
        return split

    seconds: dict[str, float] = {}
    for func, (_, _, self_time, _, _) in table.items():
        for category, fraction in shares(func, 0).items():
            seconds[category] = seconds.get(category, 0.0) + self_time * fraction
    return seconds


def _clear_phone_cache() -> None:
    from smsbridge import phone

    phone._normalize.cache_clear()


def measure_section(
    title: str, messages: int, make_run: Callable[[], Callable[[], Awaitable[int]]],
    repeats: int = 3,
) -> dict[str, Any]:
    """``make_run()`` builds a fresh job; its coroutine returns how many messages it handled.

    The unprofiled total is the fastest of ``repeats`` runs: on a shared machine the other
    processes only ever add time, so the minimum is the best estimate of the cost itself.

    cProfile sees only the event-loop thread; CPU spent on other threads (the journal's writer
    thread) is measured as process time minus this thread's time and reported as its own part.
    """

    async def timed() -> tuple[float, float, int]:
        run = make_run()
        _clear_phone_cache()
        process, thread = time.process_time(), time.thread_time()
        handled = await run()
        return time.process_time() - process, time.thread_time() - thread, handled

    async def profiled() -> pstats.Stats:
        run = make_run()
        _clear_phone_cache()
        profiler = cProfile.Profile()
        profiler.enable()
        await run()
        profiler.disable()
        return pstats.Stats(profiler)

    cpu, loop_cpu, handled = min(asyncio.run(timed()) for _ in range(max(repeats, 1)))
    if handled != messages:
        raise RuntimeError(f"{title}: handled {handled} of {messages} messages")
    seconds = breakdown(asyncio.run(profiled()))
    profiled_total = sum(seconds.values()) or 1.0
    loop_us = loop_cpu / messages * 1e6
    parts: list[dict[str, Any]] = [
        {"part": name, "us": loop_us * s / profiled_total}
        for name, s in seconds.items()
    ]
    other_threads_us = (cpu - loop_cpu) / messages * 1e6
    # A trace of CPU on other threads (aiohttp's resolver, the interpreter) is not the journal.
    name = OTHER_THREADS if other_threads_us > 0.01 * loop_us else OTHER
    existing = next((part for part in parts if part["part"] == name), None)
    if existing is None:
        parts.append({"part": name, "us": other_threads_us})
    else:
        existing["us"] += other_threads_us
    total_us = cpu / messages * 1e6
    for part in parts:
        part["share"] = part["us"] / total_us if total_us else 0.0
    parts.sort(key=lambda part: -part["us"])
    return {"title": title, "messages": messages, "total_us": total_us, "parts": parts}


# --- the sections ------------------------------------------------------------------------------


def _dispatcher_run(messages: int, journal_dir: str | None,
                    telemetry: Any = None) -> Callable[[], Awaitable[int]]:
    from smsbridge import Dispatcher
    from smsbridge.testing import FakeProvider

    recipients = numbers(messages)
    journal = None
    if journal_dir is not None:
        journal = os.path.join(journal_dir, f"overhead-{time.monotonic_ns()}.sqlite")
    dispatcher = Dispatcher(FakeProvider(record=False), concurrency=CONCURRENCY,
                            rate_limit=None, journal=journal, telemetry=telemetry)

    async def run() -> int:
        handled = 0
        async for _outcome in dispatcher.stream(recipients, body=BODY):
            handled += 1
        return handled

    return run


def canned_response(endpoint: Endpoint, n: int = 1) -> tuple[int, dict[str, str], bytes]:
    """The status, headers and body the throughput server sends for ``endpoint``."""
    if endpoint is TEXTUS:
        body = (_TEXTUS_TEMPLATE % (f"{n:x}", f"{n:x}")).encode()
        reset = int(time.time()) + 300
        headers = {"Content-Type": "application/vnd.textus+jsonld",
                   "X-RateLimit-Limit": "1000000", "X-RateLimit-Remaining": "999999",
                   "X-RateLimit-Reset": str(reset), "X-Request-Id": f"bench-{n}"}
        return 201, headers, body
    body = (_TRACKDRIVE_TEMPLATE % (n, "+13032001234", n)).encode()
    return 200, {"Content-Type": "application/json; charset=utf-8"}, body


def install_fake_transport(provider: Any, endpoint: Endpoint) -> None:
    """Answer every request of ``provider`` in-process with the server's canned response."""
    from smsbridge.transport.http import Response

    status, header_map, content = canned_response(endpoint)
    headers = CIMultiDictProxy(CIMultiDict(header_map))
    content_type = header_map["Content-Type"].split(";")[0]
    request_id = header_map.get("X-Request-Id")

    async def send_once(method: str, url: str, params: Any, data: Any, request_headers: Any,
                        attempt: int, started: float) -> Response:
        return Response(method=method, url=url, status=status, headers=headers,
                        content=content, content_type=content_type, request_id=request_id,
                        elapsed=0.0, attempts=attempt)

    provider.http._send_once = send_once


def _provider_run(endpoint: Endpoint, messages: int) -> Callable[[], Awaitable[int]]:
    from smsbridge import Message

    from .throughput import make_provider

    recipients = numbers(messages)

    async def run() -> int:
        provider = make_provider("http://127.0.0.1:9", endpoint)
        install_fake_transport(provider, endpoint)
        try:
            return await run_bounded(
                recipients, CONCURRENCY,
                lambda to: provider.send(Message(to=to, body=BODY)),
            )
        finally:
            await provider.aclose()

    return run


def micro_timings(samples: int = 5_000) -> list[dict[str, Any]]:
    """The pieces of one send, each timed alone (microseconds, best of three).

    Reaches into a few private helpers (the dispatcher's Preparer, the providers' request and
    response steps) on purpose: these are the steps the profile attributes time to.
    """
    from smsbridge import Message, Outcome, OutcomeStatus, Receipt, Recipient, phone
    from smsbridge._convert import from_json
    from smsbridge.dispatch.preparer import Preparer
    from smsbridge.dispatch.template import Template
    from smsbridge.models import DeliveryStatus
    from smsbridge.providers.textus.models import Message as TextUsMessage
    from smsbridge.providers.trackdrive.models import TextMessage
    from smsbridge.providers.trackdrive.provider import _Sent

    from .throughput import make_provider

    nums = numbers(samples, 500_000)
    uncached = phone._normalize.__wrapped__
    _, _, textus_body = canned_response(TEXTUS)
    textus_parsed = json.loads(textus_body)
    payload = TEXTUS.payload(nums[0])  # TrackDrive's raw request has no body to encode
    trackdrive = make_provider("http://127.0.0.1:9", TRACKDRIVE)
    install_fake_transport(trackdrive, TRACKDRIVE)
    status, headers, td_body = canned_response(TRACKDRIVE)
    response = asyncio.run(trackdrive.http._send_once("POST", "u", None, None, {}, 1, 0.0))
    hook = trackdrive.http._error_hook
    record = trackdrive.text_messages.parse_record
    recipient = Recipient(nums[0])
    receipt = Receipt(provider="trackdrive", message_id="1", status=DeliveryStatus.QUEUED,
                      to=nums[0])

    def best(fn: Callable[[], object]) -> float:
        return min(timeit.repeat(fn, number=samples, repeat=3)) / samples * 1e6

    def best_fresh(make: Callable[[], Callable[[], object]]) -> float:
        """For stateful steps: a fresh state (and an empty phone cache) for every repeat."""
        times = []
        for _ in range(3):
            _clear_phone_cache()
            fn = make()
            times.append(timeit.timeit(fn, number=samples))
        return min(times) / samples * 1e6

    def new_numbers() -> Callable[[], object]:
        it = iter(nums)
        return lambda: uncached(next(it), "US")

    def preparer() -> Callable[[], object]:
        prep = Preparer(Template(BODY), region=None, suppression=None, is_suppressed=None,
                        max_body_length=None)
        indexed = iter(enumerate(nums))
        return lambda: prep.prepare(*next(indexed))

    rows = [
        ("phone.normalize, a new US number", best_fresh(new_numbers)),
        ("phone.normalize, cached", best(lambda: phone.normalize(nums[0]))),
        ("dispatcher: Preparer.prepare (E.164, de-dup, render)", best_fresh(preparer)),
        ("Message(to=..., body=...)", best(lambda: Message(to=nums[0], body=BODY))),
        ("trackdrive: text_messages.payload(...)",
         best(lambda: trackdrive.text_messages.payload(BODY, to=nums[0]))),
        ("json.dumps(TextUs request payload) [raw does it too]",
         best(lambda: json.dumps(payload, separators=(",", ":")))),
        ("json.loads(TextUs response) [raw does it too]", best(lambda: json.loads(textus_body))),
        ("trackdrive: error hook + envelope -> TextMessage (create())",
         best(lambda: (hook(response), record(response, TextMessage, "text_message")))),
        ("trackdrive: error hook + envelope -> receipt fields (send())",
         best(lambda: (hook(response), record(response, _Sent, "text_message")))),
        ("textus: from_json(Message, parsed response)",
         best(lambda: from_json(TextUsMessage, textus_parsed))),
        ("Receipt(...)", best(lambda: Receipt(provider="trackdrive", message_id="1",
                                              status=DeliveryStatus.QUEUED, to=nums[0]))),
        ("Outcome(...)", best(lambda: Outcome(recipient, OutcomeStatus.SENT, receipt=receipt,
                                              provider="trackdrive", attempts=1))),
    ]
    del status, headers, td_body
    return [{"operation": name, "us": us} for name, us in rows]


def _in_memory_telemetry() -> Any:
    """smsbridge's Telemetry on OpenTelemetry's SDK with in-memory exporters, or None when the
    SDK is not installed (the ``otel`` extra brings only the API)."""
    try:
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    except ImportError:
        return None
    from smsbridge.telemetry import Telemetry

    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(InMemorySpanExporter()))
    return Telemetry(tracer_provider=tracer_provider,
                     meter_provider=MeterProvider(metric_readers=[InMemoryMetricReader()]))


def measure_overhead(messages: int) -> dict[str, Any]:
    sections = []
    with tempfile.TemporaryDirectory(prefix="smsbridge-overhead-") as tmp:
        sections.append(measure_section(
            "Dispatcher -> FakeProvider, journal off", messages,
            lambda: _dispatcher_run(messages, None)))
        sections.append(measure_section(
            "Dispatcher -> FakeProvider, SQLite journal on", messages,
            lambda: _dispatcher_run(messages, tmp)))
    telemetry = _in_memory_telemetry()
    if telemetry is not None:  # what tracing costs when it is on; the sections above are off
        sections.append(measure_section(
            "Dispatcher -> FakeProvider, journal off, OpenTelemetry on (in-memory SDK)",
            messages, lambda: _dispatcher_run(messages, None, telemetry)))
    for endpoint in (TEXTUS, TRACKDRIVE):
        sections.append(measure_section(
            f"{endpoint.name} provider.send, fake transport (no aiohttp, no socket)", messages,
            lambda e=endpoint: _provider_run(e, messages)))  # type: ignore[misc]
    return {"sections": sections, "micro": micro_timings(min(messages, 5_000))}
