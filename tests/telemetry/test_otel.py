"""Telemetry through OpenTelemetry's SDK with its in-memory exporters (no global state)."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from smsbridge.telemetry import Telemetry


@pytest.fixture
def spans() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def reader() -> InMemoryMetricReader:
    return InMemoryMetricReader()


@pytest.fixture
def telemetry(spans: InMemorySpanExporter, reader: InMemoryMetricReader) -> Telemetry:
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    return Telemetry(tracer_provider=tracer_provider,
                     meter_provider=MeterProvider(metric_readers=[reader]))


def metric_points(reader: InMemoryMetricReader) -> dict[str, list[Any]]:
    data = reader.get_metrics_data()
    found: dict[str, list[Any]] = {}
    for resource in data.resource_metrics if data else ():
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                found.setdefault(metric.name, []).extend(metric.data.data_points)
    return found


def test_request_span_follows_http_client_conventions_without_query_or_userinfo(
        telemetry: Telemetry, spans: InMemorySpanExporter) -> None:
    url = "https://user:pw@acme.trackdrive.com:8443/api/v1/text_messages?to=%2B13035551234&x=1"
    telemetry.start_request(provider="trackdrive", operation="send", method="POST", url=url,
                            attempt=2).finish(status=200)
    (span,) = spans.get_finished_spans()
    assert span.name == "POST"
    assert span.kind is SpanKind.CLIENT
    attributes = dict(span.attributes or {})
    assert attributes["http.request.method"] == "POST"
    assert attributes["server.address"] == "acme.trackdrive.com"
    assert attributes["server.port"] == 8443
    assert attributes["url.full"] == "https://acme.trackdrive.com:8443/api/v1/text_messages"
    assert attributes["http.response.status_code"] == 200
    assert attributes["http.request.resend_count"] == 1
    assert attributes["smsbridge.operation"] == "send"
    assert "error.type" not in attributes
    flat = repr(span.to_json())
    assert "pw" not in flat and "3035551234" not in flat


def test_error_status_and_exception_mark_the_span_and_the_duration_metric(
        telemetry: Telemetry, spans: InMemorySpanExporter, reader: InMemoryMetricReader) -> None:
    telemetry.start_request(provider="textus", operation="send", method="POST",
                            url="https://next.textus.com/x", attempt=1).finish(status=429)
    with pytest.raises(ConnectionError), telemetry.request(
            provider="textus", operation="send", method="POST", url="https://next.textus.com/x",
            attempt=2):
        raise ConnectionError("refused")
    throttled, failed = spans.get_finished_spans()
    assert throttled.attributes is not None and throttled.attributes["error.type"] == "429"
    assert throttled.status.status_code is StatusCode.ERROR
    assert failed.attributes is not None and failed.attributes["error.type"] == "ConnectionError"
    points = metric_points(reader)
    durations = points["http.client.request.duration"]
    assert sum(p.count for p in durations) == 2
    assert {p.attributes.get("error.type") for p in durations} == {"429", "ConnectionError"}
    assert sum(p.value for p in points["smsbridge.rate_limit.throttled"]) == 1


def test_attempt_span_is_the_parent_of_its_requests_and_masks_the_number(
        telemetry: Telemetry, spans: InMemorySpanExporter, reader: InMemoryMetricReader) -> None:
    with telemetry.job(job_id="j1", provider="textus", total=1) as job:
        with telemetry.attempt(provider="textus", to="+13035551234", attempt=1) as attempt:
            telemetry.start_request(provider="textus", operation="send", method="POST",
                                    url="https://next.textus.com/m", attempt=1).finish(201)
            attempt.finish("sent")
        telemetry.outcome(provider="textus", status="sent", reason=None)
        job.finish({"sent": 1, "failed": 0})
    request, send, job_span = spans.get_finished_spans()
    assert request.parent is not None and request.parent.span_id == send.context.span_id
    assert send.parent is not None and send.parent.span_id == job_span.context.span_id
    assert send.attributes is not None
    assert send.attributes["smsbridge.recipient"] == "+1303*****34"
    assert send.attributes["smsbridge.outcome"] == "sent"
    assert job_span.attributes is not None and job_span.attributes["smsbridge.job.sent"] == 1
    (outcome,) = metric_points(reader)["smsbridge.outcomes"]
    assert outcome.value == 1 and outcome.attributes["smsbridge.outcome"] == "sent"


def test_detect_is_none_until_an_sdk_provider_is_configured() -> None:
    # a fresh interpreter: the global providers are process-wide and set only once
    code = (
        "from smsbridge.telemetry import detect_telemetry\n"
        "assert detect_telemetry() is None\n"
        "from opentelemetry import trace\n"
        "from opentelemetry.sdk.trace import TracerProvider\n"
        "trace.set_tracer_provider(TracerProvider())\n"
        "assert detect_telemetry() is not None\n"
        "print('ok')\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60)
    assert result.stdout.strip() == "ok", result.stderr
