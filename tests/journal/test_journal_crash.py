"""A journaled job killed with SIGKILL mid-way and resumed: no duplicates, nobody unaccounted."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from pathlib import Path

from aiohttp import web

from smsbridge.journal.store import Journal

CHILD = Path(__file__).with_name("crash_child.py")


async def test_a_job_killed_with_sigkill_resumes_without_duplicates_or_losses(
    tmp_path: Path, numbers: Callable[..., list[str]],
) -> None:
    total = 600
    accepted: list[str] = []

    async def send(request: web.Request) -> web.Response:
        data = await request.json()
        await asyncio.sleep(0.004)  # a kill now: the request was in flight, nothing stored
        accepted.append(data["to"])
        await asyncio.sleep(0.004)  # a kill now: stored, but the client never heard back
        return web.json_response({"id": f"m-{len(accepted)}"}, status=201)

    app = web.Application()
    app.router.add_post("/send", send)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    url = f"http://127.0.0.1:{port}"
    journal = tmp_path / "job.sqlite"
    numbers_file = tmp_path / "numbers.txt"
    numbers_file.write_text("\n".join(numbers(total)))

    async def child(mode: str) -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            sys.executable, str(CHILD), url, str(journal), str(numbers_file), mode,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)

    try:
        first = await child("send")
        for _ in range(3000):  # bounded: at most 30 s
            if len(accepted) >= 150 or first.returncode is not None:
                break
            await asyncio.sleep(0.01)
        first.kill()  # SIGKILL: no cleanup, no final journal writes
        await first.wait()
        await asyncio.sleep(0.05)  # requests the dead client left behind complete
        killed_after = len(accepted)
        assert 150 <= killed_after < total, "the job was not killed mid-way"

        with Journal(journal) as crashed:
            before = crashed.report()
            assert before.job.status == "running" and before.pending > 0

        second = await child("resume")
        out, err = await asyncio.wait_for(second.communicate(), timeout=60)
        assert second.returncode == 0, err.decode()[-2000:]
    finally:
        await runner.cleanup()

    assert len(accepted) == len(set(accepted))  # nobody texted twice
    with Journal(journal) as finished:
        report = finished.report()
        rows = {entry.phone: entry for entry in finished.recipients()}
    assert report.complete and report.pending == 0 and report.in_flight == 0
    assert set(rows) == set(numbers(total))  # nobody unaccounted
    sent = {phone for phone, row in rows.items() if row.state == "sent"}
    unknown = {phone for phone, row in rows.items() if row.state == "unknown"}
    assert sent | unknown == set(rows)
    assert sent <= set(accepted)  # every SENT really went out once
    assert set(accepted) - sent <= unknown  # anything else that went out is reported UNKNOWN
    assert all(row.reason == "interrupted" for phone, row in rows.items() if phone in unknown)
    assert len(unknown) <= 8  # at most the in-flight window of the killed run
    assert b"sent" in out
