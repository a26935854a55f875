"""Smoke tests: every benchmark runs at a tiny size and reports complete, consistent figures.

Timings are never asserted (the machines are shared); only that each run sent what it should,
that the harness refuses to report when the server is the bottleneck, and that the report holds.
"""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from benchmarks.__main__ import main
from benchmarks.capacity import Capacity, check_headroom, encode_request, measure_capacity
from benchmarks.memory import checkpoints_for, measure_memory
from benchmarks.overhead import OTHER_THREADS, measure_overhead
from benchmarks.ratelimit_use import measure_rate_limit_use
from benchmarks.server import _TRACKDRIVE_TEMPLATE, ServerProcess
from benchmarks.throughput import (
    RAW_CLIENTS,
    RawAiohttp,
    make_provider,
    measure_throughput,
    summarize,
)
from benchmarks.workload import BODY, ENDPOINTS, TEXTUS, TRACKDRIVE, RunResult, number
from smsbridge import Message


@pytest.fixture(scope="module")
def server():
    with ServerProcess() as process:
        yield process


async def test_server_answers_both_shapes_so_the_real_providers_parse_them(server):
    async with make_provider(server.url, TEXTUS) as textus:
        receipt = await textus.send(Message(to=number(1), body="hi"))
    assert receipt.message_id is not None and receipt.message_id.startswith("/messages/b")
    assert receipt.raw_status == "queued" and receipt.request_id is not None
    async with make_provider(server.url, TRACKDRIVE) as trackdrive:
        receipt = await trackdrive.send(Message(to=number(2), body="hi"))
    assert receipt.to == number(2) and receipt.message_id is not None
    assert receipt.message_id.isdigit()


async def test_raw_baselines_send_trackdrive_the_sdks_documented_query_string_request(serve):
    seen: list[tuple[str, str, bytes]] = []

    async def handle(request: web.Request) -> web.Response:
        seen.append((request.method, request.raw_path, await request.read()))
        to = request.query.get("to", "")
        return web.Response(body=(_TRACKDRIVE_TEMPLATE % (1, to, 1)).encode(),
                            content_type="application/json")

    async with serve(handle) as url:
        async with make_provider(url, TRACKDRIVE) as trackdrive:
            await trackdrive.send(Message(to=number(5), body=BODY))
        raw = RawAiohttp()
        await raw.open(url, TRACKDRIVE)
        try:
            assert await raw.run([number(5)], 1) == 1
        finally:
            await raw.close()
    sdk, baseline = seen
    assert sdk == baseline
    assert sdk[1] == ("/trackdrive/api/v1/text_messages?message=Hello+from+the+benchmark"
                      f"&to=%2B{number(5)[1:]}") and sdk[2] == b""
    capacity = encode_request(TRACKDRIVE.url(url), TRACKDRIVE.headers,
                              TRACKDRIVE.payload(number(5)), in_query=True)
    assert capacity.startswith(f"POST {sdk[1]} HTTP/1.1\r\n".encode())
    assert capacity.endswith(b"Content-Length: 0\r\n\r\n")


async def test_server_refuses_a_request_without_credentials(server):
    before = server.stats()
    async with aiohttp.ClientSession() as session, session.post(
        TEXTUS.url(server.url), json=TEXTUS.payload(number(3))
    ) as resp:
        assert resp.status == 401
    after = server.stats()
    assert after["rejected"] == before["rejected"] + 1
    assert after["requests"] == before["requests"]


async def test_capacity_client_completes_requests_on_every_connection(server):
    capacity = await measure_capacity("textus", TEXTUS.url(server.url), TEXTUS.headers,
                                      TEXTUS.payload(number(4)), connections=4, seconds=0.2)
    assert capacity.requests >= 4 and capacity.per_second > 0


def test_headroom_check_refuses_when_the_server_is_the_bottleneck():
    run = RunResult("textus", RAW_CLIENTS[0], 1000, 1000, seconds=0.25, cpu_seconds=0.25)
    slow = [Capacity("textus", 2_000, 1.0), Capacity("textus", 2_500, 1.0)]
    figures, refused = check_headroom({"textus": slow}, [run], 3.0)
    assert figures["textus"]["capacity"] == 2_500 and not figures["textus"]["ok"]
    assert refused and "server capacity" in refused[0]
    noisy = [Capacity("textus", 2_000, 1.0), Capacity("textus", 30_000, 1.0)]
    figures, refused = check_headroom({"textus": noisy}, [run], 3.0)  # best sample counts
    assert figures["textus"]["ok"] and refused == []


async def test_throughput_runs_every_client_and_every_message_is_accepted(server):
    runs = await measure_throughput(server, ENDPOINTS, messages=60, concurrency=8, rounds=1,
                                    warm_up=8)
    assert {r.client for r in runs} == {*RAW_CLIENTS, "provider.send", "dispatcher",
                                        "dispatcher + journal"}
    assert all(r.ok == r.messages == 60 for r in runs)
    rows = summarize(runs)
    assert len(rows) == 2 * 5
    for endpoint in ("textus", "trackdrive"):  # the faster raw client is the 1.0 reference
        raw = [r["ratio_to_raw"] for r in rows if r["endpoint"] == endpoint
               and r["client"] in RAW_CLIENTS]
        assert max(raw) == pytest.approx(1.0)


def test_memory_samples_each_checkpoint_in_fresh_processes():
    assert checkpoints_for(1_200_000) == [100_000, 500_000, 1_000_000, 1_200_000]
    assert checkpoints_for(3_000) == [3_000]
    result = measure_memory(3_000)
    assert [c["recipients"] for c in result["checkpoints"]] == [3_000]
    assert result["peak_mb"] >= result["baseline_mb"] > 0


def test_overhead_sections_add_up_to_their_total():
    result = measure_overhead(150)
    titles = [s["title"] for s in result["sections"]]
    assert len(titles) == 5 and any("journal on" in t for t in titles)
    for section in result["sections"]:
        parts = {p["part"] for p in section["parts"]}
        assert "phone validation" in parts
        assert sum(p["us"] for p in section["parts"]) == pytest.approx(section["total_us"])
    journal = next(s for s in result["sections"] if "journal on" in s["title"])
    assert any(p["part"] in ("journal (SQLite)", OTHER_THREADS) for p in journal["parts"])
    assert {m["operation"].split(",")[0] for m in result["micro"]} >= {"phone.normalize"}
    traced = next(s for s in result["sections"] if "OpenTelemetry on" in s["title"])
    assert any(p["part"] == "telemetry (OpenTelemetry)" and p["us"] > 0 for p in traced["parts"])
    untraced = next(s for s in result["sections"] if s["title"].endswith("journal off"))
    assert not any(p["part"] == "telemetry (OpenTelemetry)" for p in untraced["parts"])


async def test_rate_limit_use_counts_accepted_messages_and_429s():
    result = await measure_rate_limit_use(0.6, 100, concurrency=4)
    assert result["accepted"] >= result["accepted_in_span"] > 0
    assert result["sent"] == result["accepted"]
    assert result["429s"] == result["statuses"].get("429", 0)


def test_main_prints_the_tables_and_writes_the_json(tmp_path: Path, capsys):
    output = tmp_path / "results.json"
    code = main(["--only", "overhead", "--overhead-messages", "100", "--quiet",
                 "--output", str(output)])
    assert code == 0
    data = json.loads(output.read_text())
    assert data["meta"]["nproc"] and data["overhead"]["sections"]
    printed = capsys.readouterr().out
    assert "4. Overhead" in printed and str(output) in printed
