"""OpenTelemetry spans and metrics for jobs, recipient attempts and HTTP requests.

Spans: ``smsbridge.job`` (a bulk job), ``smsbridge.send`` (one attempt for one recipient or batch)
and one HTTP client span per request, named and attributed after OpenTelemetry's HTTP client
semantic conventions (``http.request.method``, ``server.address``, ``server.port``, ``url.full``
without its query, ``http.response.status_code``, ``error.type``, ``http.request.resend_count``).
Numbers appear masked (``+1303*****34``); tokens, keys, bodies and query strings never appear.

Metrics: ``http.client.request.duration`` (s), ``smsbridge.outcomes`` (by status and reason),
``smsbridge.rate_limit.wait`` (s, time spent waiting for the limiter) and
``smsbridge.rate_limit.throttled`` (429 answers).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..phone import mask

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider
    from opentelemetry.trace import Span, TracerProvider

__all__ = ["AttemptSpan", "JobSpan", "RequestSpan", "Telemetry", "detect_telemetry"]

INSTRUMENTATION = "smsbridge"


def _version() -> str:
    from .. import __version__

    return __version__


def _server(url: str) -> tuple[str, int | None, str]:
    """``server.address``, ``server.port`` and ``url.full`` with no userinfo, query or fragment."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is None:
        port = {"https": 443, "http": 80}.get(parts.scheme)
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    return host, port, f"{parts.scheme}://{netloc}{parts.path}"


class RequestSpan:
    """One HTTP request in flight; :meth:`finish` once with its status or its error."""

    __slots__ = ("_attributes", "_span", "_started", "_telemetry")

    def __init__(self, telemetry: Telemetry, span: Span, attributes: dict[str, Any]) -> None:
        self._telemetry = telemetry
        self._span = span
        self._attributes = attributes
        self._started = time.monotonic()

    def finish(self, status: int | None = None, error: BaseException | None = None) -> None:
        from opentelemetry.trace import Status, StatusCode

        attributes = self._attributes
        if status is not None:
            self._span.set_attribute("http.response.status_code", status)
            attributes["http.response.status_code"] = status
        error_type = type(error).__name__ if error is not None else (
            str(status) if status is not None and status >= 400 else None)
        if error_type is not None:
            self._span.set_attribute("error.type", error_type)
            self._span.set_status(Status(StatusCode.ERROR, error_type))
            attributes["error.type"] = error_type
        self._telemetry.request_duration.record(time.monotonic() - self._started, attributes)
        if status == 429:
            self._telemetry.throttled.add(1, {"smsbridge.provider":
                                              attributes["smsbridge.provider"]})
        self._span.end()


class AttemptSpan:
    """One recipient (or batch) attempt; :meth:`finish` records its outcome."""

    __slots__ = ("_span", "_telemetry")

    def __init__(self, telemetry: Telemetry, span: Span) -> None:
        self._telemetry = telemetry
        self._span = span

    def finish(self, status: str, reason: str | None = None) -> None:
        self._span.set_attribute("smsbridge.outcome", status)
        if reason:
            self._span.set_attribute("smsbridge.reason", reason)


class JobSpan:
    """A bulk job; :meth:`finish` records its totals."""

    __slots__ = ("_span",)

    def __init__(self, span: Span) -> None:
        self._span = span

    def finish(self, counts: dict[str, int]) -> None:
        for status, count in counts.items():
            self._span.set_attribute(f"smsbridge.job.{status}", count)


class Telemetry:
    """Spans and metrics through the given (or the global) OpenTelemetry providers."""

    def __init__(self, tracer_provider: TracerProvider | None = None,
                 meter_provider: MeterProvider | None = None) -> None:
        from opentelemetry import metrics, trace

        tracer_provider = tracer_provider or trace.get_tracer_provider()
        meter_provider = meter_provider or metrics.get_meter_provider()
        self.tracer = tracer_provider.get_tracer(INSTRUMENTATION, _version())
        meter = meter_provider.get_meter(INSTRUMENTATION, _version())
        self.request_duration = meter.create_histogram(
            "http.client.request.duration", unit="s",
            description="Duration of HTTP client requests to the providers")
        self.outcomes = meter.create_counter(
            "smsbridge.outcomes", unit="{recipient}",
            description="Recipient outcomes by status and reason")
        self.rate_limit_wait = meter.create_histogram(
            "smsbridge.rate_limit.wait", unit="s",
            description="Time spent waiting for the rate limiter before a request")
        self.throttled = meter.create_counter(
            "smsbridge.rate_limit.throttled", unit="{response}",
            description="429 Too Many Requests answers")

    def __repr__(self) -> str:
        return "Telemetry()"

    def start_request(self, *, provider: str, operation: str | None, method: str, url: str,
                      attempt: int) -> RequestSpan:
        from opentelemetry.trace import SpanKind

        host, port, full = _server(url)
        metric_attributes: dict[str, Any] = {
            "http.request.method": method, "server.address": host,
            "smsbridge.provider": provider,
        }
        if operation is not None:
            metric_attributes["smsbridge.operation"] = operation
        if port is not None:
            metric_attributes["server.port"] = port
        span_attributes: dict[str, Any] = {**metric_attributes, "url.full": full}
        if attempt > 1:
            span_attributes["http.request.resend_count"] = attempt - 1
        span = self.tracer.start_span(method, kind=SpanKind.CLIENT, attributes=span_attributes)
        return RequestSpan(self, span, metric_attributes)

    @contextmanager
    def request(self, **kwargs: Any) -> Iterator[RequestSpan]:
        """``start_request`` as a context manager that ends the span on an exception."""
        span = self.start_request(**kwargs)
        try:
            yield span
        except BaseException as exc:
            span.finish(error=exc)
            raise

    @contextmanager
    def attempt(self, *, provider: str, to: str | None, attempt: int,
                recipients: int = 1) -> Iterator[AttemptSpan]:
        """The current span for one attempt: HTTP spans started inside become its children."""
        attributes: dict[str, Any] = {"smsbridge.provider": provider,
                                      "smsbridge.attempt": attempt,
                                      "smsbridge.recipients": recipients}
        if to is not None:
            attributes["smsbridge.recipient"] = mask(to)
        with self.tracer.start_as_current_span("smsbridge.send", attributes=attributes) as span:
            yield AttemptSpan(self, span)

    @contextmanager
    def job(self, *, job_id: str | None, provider: str, total: int | None) -> Iterator[JobSpan]:
        attributes: dict[str, Any] = {"smsbridge.provider": provider}
        if job_id is not None:
            attributes["smsbridge.job.id"] = job_id
        if total is not None:
            attributes["smsbridge.job.total"] = total
        with self.tracer.start_as_current_span("smsbridge.job", attributes=attributes) as span:
            yield JobSpan(span)

    def outcome(self, *, provider: str, status: str, reason: str | None) -> None:
        self.outcomes.add(1, {"smsbridge.provider": provider, "smsbridge.outcome": status,
                              "smsbridge.reason": reason or ""})

    def waited(self, *, provider: str, seconds: float) -> None:
        self.rate_limit_wait.record(seconds, {"smsbridge.provider": provider})


def _configured(provider: object) -> bool:
    # The API package's own providers are the proxies and no-ops used until an SDK is set up.
    return not type(provider).__module__.startswith(("opentelemetry.trace",
                                                     "opentelemetry.metrics"))


def detect_telemetry() -> Telemetry | None:
    """A :class:`Telemetry` on the global providers when OpenTelemetry is installed and an SDK
    tracer or meter provider is configured; ``None`` otherwise (no cost at all)."""
    try:
        from opentelemetry import metrics, trace
    except ImportError:
        return None
    if _configured(trace.get_tracer_provider()) or _configured(metrics.get_meter_provider()):
        return Telemetry()
    return None
