"""Held and scheduled jobs killed with SIGKILL and resumed: nobody is texted outside the window
or before the scheduled time, nobody twice, nobody lost."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web

from smsbridge.journal.store import Journal

CHILD = Path(__file__).with_name("schedule_child.py")
EASTERN = [f"+1212555{i:04d}" for i in range(100, 110)]  # New York
PACIFIC = [f"+1415555{i:04d}" for i in range(100, 110)]  # San Francisco


class Server:
    def __init__(self) -> None:
        self.accepted: list[tuple[str, datetime]] = []
        self.url = ""

    async def send(self, request: web.Request) -> web.Response:
        data = await request.json()
        self.accepted.append((data["to"], datetime.fromisoformat(data["clock"])))
        return web.json_response({"id": f"m-{len(self.accepted)}"}, status=201)


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    state = Server()
    app = web.Application()
    app.router.add_post("/send", state.send)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    state.url = f"http://127.0.0.1:{port}"
    try:
        yield state
    finally:
        await runner.cleanup()


async def _child(server: Server, journal: Path, numbers: Path, start: datetime,
                 mode: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, str(CHILD), server.url, str(journal), str(numbers), start.isoformat(),
        mode, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)


def _local(at: datetime, zone: str) -> datetime:
    return at.astimezone(ZoneInfo(zone))


async def test_a_job_killed_while_holding_recipients_resumes_on_the_other_side_of_the_window(
    tmp_path: Path, server: Server,
) -> None:
    journal = tmp_path / "job.sqlite"
    numbers = tmp_path / "numbers.txt"
    numbers.write_text("\n".join(EASTERN + PACIFIC))
    # 21:00:00 in New York (closed until 08:00), 18:00 in San Francisco (open).
    evening = datetime(2026, 7, 16, 1, 0, tzinfo=UTC)
    first = await _child(server, journal, numbers, evening, "quiet")
    for _ in range(3000):  # bounded: at most 30 s
        if len(server.accepted) >= len(PACIFIC) or first.returncode is not None:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.5)  # the held recipients had every chance to be sent (wrongly)
    assert first.returncode is None, "the job ended instead of holding New York"
    first.kill()  # SIGKILL while it waits for 08:00 in New York
    await first.wait()
    assert sorted(phone for phone, _ in server.accepted) == PACIFIC
    with Journal(journal) as crashed:
        held = crashed.report()
        assert held.job.status == "running" and not held.complete
        assert {e.phone for e in crashed.recipients(state="sent")} == set(PACIFIC)

    # Resumed at 07:59:58 in New York: still closed for two seconds, then open.
    morning = datetime(2026, 7, 16, 11, 59, 58, tzinfo=UTC)
    second = await _child(server, journal, numbers, morning, "resume")
    out, err = await asyncio.wait_for(second.communicate(), timeout=60)
    assert second.returncode == 0, err.decode()[-2000:]

    phones = [phone for phone, _ in server.accepted]
    assert sorted(phones) == sorted(EASTERN + PACIFIC)  # everyone once, nobody twice
    for phone, at in server.accepted:
        zone = "America/New_York" if phone in EASTERN else "America/Los_Angeles"
        local = _local(at, zone)
        assert 8 <= local.hour < 21, f"texted at {local:%H:%M:%S} {zone}"
    resumed_at = [at for phone, at in server.accepted if phone in EASTERN]
    assert min(resumed_at) >= datetime(2026, 7, 16, 12, 0, tzinfo=UTC)
    with Journal(journal) as finished:
        report = finished.report()
    assert report.complete and report.sent == len(EASTERN + PACIFIC)
    assert b"sent" in out


async def test_a_scheduled_job_killed_while_waiting_still_waits_when_resumed(
    tmp_path: Path, server: Server,
) -> None:
    journal = tmp_path / "job.sqlite"
    numbers = tmp_path / "numbers.txt"
    numbers.write_text("\n".join(PACIFIC))
    start = datetime(2026, 12, 1, 13, 0, tzinfo=UTC)
    send_at = datetime(2026, 12, 1, 9, 0, tzinfo=ZoneInfo("America/New_York"))  # 14:00 UTC
    first = await _child(server, journal, numbers, start, f"scheduled:{send_at.isoformat()}")
    assert first.stdout is not None
    assert await asyncio.wait_for(first.stdout.readline(), timeout=30) == b"waiting\n"
    await asyncio.sleep(1.0)
    first.kill()  # SIGKILL an hour before the scheduled time
    await first.wait()
    assert server.accepted == []
    with Journal(journal) as stored:
        assert stored.report().job.settings["send_at"] == send_at.isoformat()

    # Resumed 1.5 s before the scheduled time: it waits, then sends.
    second = await _child(server, journal, numbers, datetime(2026, 12, 1, 13, 59, 58, 500000,
                                                             tzinfo=UTC), "resume")
    _, err = await asyncio.wait_for(second.communicate(), timeout=60)
    assert second.returncode == 0, err.decode()[-2000:]
    assert sorted(phone for phone, _ in server.accepted) == PACIFIC
    assert min(at for _, at in server.accepted) >= send_at
