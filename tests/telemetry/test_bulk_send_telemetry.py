"""A bulk send against the sandbox, traced and metered through OpenTelemetry's SDK with its
in-memory exporters: the spans nest job → attempt → HTTP request, carry the provider, status,
attempt and outcome, and never a token or a full number."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from smsbridge import Dispatcher, Message, RetryPolicy
from smsbridge.providers.textus import TextUsProvider
from smsbridge.sandbox import Fault, Sandbox
from smsbridge.telemetry import Telemetry

NUMBERS = [f"+1303555{n:04d}" for n in range(1000, 1010)]


def points(reader: InMemoryMetricReader) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    data = reader.get_metrics_data()
    for resource in data.resource_metrics if data else ():
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                found.setdefault(metric.name, []).extend(metric.data.data_points)
    return found


async def test_a_bulk_send_is_traced_job_attempt_request_and_metered_without_secrets() -> None:
    exporter, reader = InMemorySpanExporter(), InMemoryMetricReader()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    telemetry = Telemetry(tracer_provider=tracer_provider,
                          meter_provider=MeterProvider(metric_readers=[reader]))
    async with Sandbox(seed=3, delivery_delay=0.05) as sb:
        sb.faults.add_rule(Fault("textus.send", "rate_limit_429", count=1, delay=0.01))
        provider = TextUsProvider(sb.textus_token, sb.textus_account, base_url=sb.textus_url,
                                  telemetry=telemetry,
                                  retry=RetryPolicy(max_retries=2, initial_backoff=0.01))
        async with provider:
            report = await Dispatcher(provider, concurrency=4, telemetry=telemetry).send(
                Message(to=[*NUMBERS, "not a number"], body="Hi"))
    assert report.sent == len(NUMBERS) and report.skipped == 1

    spans = exporter.get_finished_spans()
    (job,) = [s for s in spans if s.name == "smsbridge.job"]
    attempts = [s for s in spans if s.name == "smsbridge.send"]
    requests = [s for s in spans if s.name == "POST"]
    assert len(requests) == len(NUMBERS) + 1  # one 429, retried
    assert len(attempts) == len(NUMBERS)
    assert job.attributes is not None and job.attributes["smsbridge.job.sent"] == len(NUMBERS)
    by_id = {s.context.span_id: s for s in spans}
    for request in requests:
        assert request.parent is not None
        parent = by_id[request.parent.span_id]
        assert parent.name == "smsbridge.send"
        assert parent.parent is not None and parent.parent.span_id == job.context.span_id
    statuses = sorted(r.attributes["http.response.status_code"] for r in requests
                      if r.attributes)
    assert statuses == [201] * len(NUMBERS) + [429]
    assert all(a.attributes and a.attributes["smsbridge.outcome"] == "sent" for a in attempts)
    assert {a.attributes["smsbridge.recipient"] for a in attempts if a.attributes} == {
        n[:5] + "*****" + n[-2:] for n in NUMBERS}

    found = points(reader)
    outcomes = {(p.attributes["smsbridge.outcome"], p.attributes["smsbridge.reason"]): p.value
                for p in found["smsbridge.outcomes"]}
    assert outcomes == {("sent", ""): len(NUMBERS), ("skipped", "invalid_number"): 1}
    assert sum(p.count for p in found["http.client.request.duration"]) == len(NUMBERS) + 1
    assert sum(p.value for p in found["smsbridge.rate_limit.throttled"]) == 1
    assert sum(p.count for p in found["smsbridge.rate_limit.wait"]) >= 1

    exported = json.dumps([json.loads(s.to_json()) for s in spans])
    assert sb.textus_token not in exported
    assert not any(number in exported for number in NUMBERS)


def test_by_default_nothing_is_traced_until_opentelemetry_is_configured() -> None:
    # a fresh interpreter: OpenTelemetry's global providers are set once per process
    code = (
        "from smsbridge import Dispatcher\n"
        "from smsbridge.providers.textus import TextUsProvider\n"
        "provider = TextUsProvider('tok', 'acct')\n"
        "assert Dispatcher(provider).telemetry is None\n"
        "from opentelemetry import trace\n"
        "from opentelemetry.sdk.trace import TracerProvider\n"
        "trace.set_tracer_provider(TracerProvider())\n"
        "assert Dispatcher(TextUsProvider('tok', 'acct')).telemetry is not None\n"
        "print('ok')\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60)
    assert result.stdout.strip() == "ok", result.stderr
