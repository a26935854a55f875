"""One live run per job, across real processes; and a journal whose -wal file was lost."""

from __future__ import annotations

import asyncio
import os
import socket
import sqlite3
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import attrs
import pytest
from aiohttp import web

from smsbridge import Dispatcher, JobBusyError, Message
from smsbridge import _constants as C
from smsbridge.journal.store import Journal
from smsbridge.testing import FakeProvider

CHILD = Path(__file__).with_name("crash_child.py")
TIMEOUT = 60.0  # generous: 2 shared cores, and each child imports the SDK


@attrs.define
class GatedServer:
    """A provider endpoint that answers the first ``open_for`` sends, then holds the rest until
    ``gate`` is set: a job stays mid-way (requests in flight) for as long as a test needs."""

    url: str = ""
    open_for: int = 0
    gate: asyncio.Event = attrs.field(factory=asyncio.Event)
    received: int = 0
    accepted: list[str] = attrs.field(factory=list)

    async def send(self, request: web.Request) -> web.Response:
        data = await request.json()
        self.received += 1
        if self.received > self.open_for:
            await self.gate.wait()
        self.accepted.append(data["to"])
        return web.json_response({"id": f"m-{len(self.accepted)}"}, status=201)

    async def wait_received(self, count: int, child: asyncio.subprocess.Process) -> None:
        deadline = time.monotonic() + TIMEOUT
        while self.received < count:
            assert child.returncode is None, "the child ended before the job was mid-way"
            assert time.monotonic() < deadline, f"only {self.received} requests arrived"
            await asyncio.sleep(0.01)


@pytest.fixture
async def server() -> AsyncIterator[GatedServer]:
    gated = GatedServer()
    app = web.Application()
    app.router.add_post("/send", gated.send)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    gated.url = f"http://127.0.0.1:{port}"
    try:
        yield gated
    finally:
        gated.gate.set()
        await runner.cleanup()


@attrs.define
class Children:
    server: GatedServer
    journal: Path
    numbers_file: Path

    async def start(self, mode: str) -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            sys.executable, str(CHILD), self.server.url, str(self.journal),
            str(self.numbers_file), mode,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)

    async def run(self, mode: str) -> tuple[int, str]:
        child = await self.start(mode)
        out, err = await asyncio.wait_for(child.communicate(), TIMEOUT)
        assert child.returncode is not None
        return child.returncode, (out + err).decode()


@pytest.fixture
def children(
    server: GatedServer, tmp_path: Path, numbers: Callable[..., list[str]]
) -> Children:
    numbers_file = tmp_path / "numbers.txt"
    numbers_file.write_text("\n".join(numbers(200)))
    return Children(server, tmp_path / "job.sqlite", numbers_file)


def wal_of(journal: Path) -> Path:
    return Path(f"{journal}-wal")


def lose_wal(journal: Path) -> None:
    assert wal_of(journal).exists()
    wal_of(journal).unlink()
    Path(f"{journal}-shm").unlink(missing_ok=True)


async def kill(child: asyncio.subprocess.Process) -> None:
    child.kill()  # SIGKILL: no cleanup, no final journal writes
    await child.wait()


async def test_a_second_process_running_the_same_job_is_refused_naming_the_first(
    server: GatedServer, children: Children, numbers: Callable[..., list[str]],
) -> None:
    server.open_for = 20
    first = await children.start("send")
    await server.wait_received(28, first)  # 20 answered, 8 held in flight: mid-job

    code, output = await children.run("send")
    assert code != 0
    assert "JobBusyError" in output and "is already running" in output
    assert f"pid {first.pid} on host {socket.gethostname()}, started " in output
    assert server.received == 28  # the refused run sent nothing

    server.gate.set()
    _out, err = await asyncio.wait_for(first.communicate(), TIMEOUT)
    assert first.returncode == 0, err.decode()[-2000:]
    assert sorted(server.accepted) == sorted(numbers(200))  # each texted exactly once
    with Journal(children.journal) as journal:
        report = journal.report()
        assert report.complete and report.sent == 200 and report.unknown == 0


async def test_a_run_whose_process_was_killed_is_taken_over_at_once(
    server: GatedServer, children: Children, numbers: Callable[..., list[str]],
) -> None:
    server.open_for = 20
    first = await children.start("send")
    await server.wait_received(28, first)
    await kill(first)
    server.gate.set()
    await asyncio.sleep(0.05)  # the requests the dead run left behind complete

    code, output = await children.run("resume")  # same host, pid dead: no 60 s wait
    assert code == 0, output[-2000:]
    assert len(server.accepted) == len(set(server.accepted))  # nobody texted twice
    with Journal(children.journal) as journal:
        report = journal.report()
        assert report.complete and report.in_flight == 0 and report.pending == 0
        assert report.sent + report.unknown == 200 and report.unknown <= 8


async def test_a_journal_whose_wal_was_lost_after_a_crash_is_refused_not_resent(
    server: GatedServer, children: Children,
) -> None:
    server.open_for = 60
    first = await children.start("send")
    await server.wait_received(68, first)
    await kill(first)
    server.gate.set()
    await asyncio.sleep(0.05)
    sent_before = len(server.accepted)
    lose_wal(children.journal)  # the journal copied or restored without its log

    # Before: re-running the job on the file alone resent every message sent so far.
    for mode in ("resume", "send"):
        code, output = await children.run(mode)
        assert code != 0
        assert "JournalWalMissingError" in output
        assert "job.sqlite-wal" in output and "job.sqlite-shm" in output
        assert "accept_lost_wal=True" in output and "--accept-lost-wal" in output
        assert len(server.accepted) == sent_before  # refused before any send

    # Accepting the loss is explicit, and then the journal is taken as it is (the stored
    # recipients may have been in the lost log too: the job's source is sent again).
    code, output = await children.run("send-accept-lost-wal")
    assert code == 0, output[-2000:]
    with Journal(children.journal) as journal:
        assert journal.report().complete


async def test_a_crashed_journal_with_its_wal_opened_elsewhere_first_still_resumes(
    server: GatedServer, children: Children,
) -> None:
    server.open_for = 20
    first = await children.start("send")
    await server.wait_received(28, first)
    await kill(first)
    server.gate.set()
    await asyncio.sleep(0.05)
    with Journal(children.journal) as looked_at:  # e.g. `smsbridge report` after the crash
        assert looked_at.report().job.status == "running"
    # That last connection folded the intact log into the file and removed it: not a loss.
    assert not wal_of(children.journal).exists()
    code, output = await children.run("resume")
    assert code == 0, output[-2000:]
    assert len(server.accepted) == len(set(server.accepted))


def _foreign_run(path: Path, job_id: str, *, heartbeat_age: float) -> None:
    """A run of ``job_id`` held by a process on another host, last heard of ``heartbeat_age``
    seconds ago."""
    now = time.time()
    with Journal(path):  # create the schema
        pass
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT OR REPLACE INTO runs VALUES (?, 'elsewhere', 'other-host', 4242, ?, ?)",
            (job_id, now - 600, now - heartbeat_age))


async def test_a_run_on_another_host_is_refused_while_its_heartbeat_is_fresh(
    journal_path: Path,
) -> None:
    _foreign_run(journal_path, "weekly", heartbeat_age=10)
    fake = FakeProvider()
    with Journal(journal_path) as journal, pytest.raises(JobBusyError) as caught:
        await Dispatcher(fake, journal=journal, job_id="weekly").send(
            Message(to=["+13035550100"], body="Hi"))
    error = caught.value
    assert (error.host, error.pid, error.job_id) == ("other-host", 4242, "weekly")
    assert "pid 4242 on host other-host, started " in str(error)
    assert fake.calls == 0


async def test_a_run_on_another_host_silent_for_over_a_minute_is_taken_over(
    journal_path: Path,
) -> None:
    _foreign_run(journal_path, "weekly", heartbeat_age=C.JOURNAL_RUN_STALE_AFTER + 5)
    fake = FakeProvider()
    with Journal(journal_path) as journal:
        report = await Dispatcher(fake, journal=journal, job_id="weekly").send(
            Message(to=["+13035550100"], body="Hi"))
    assert report.sent == 1
    with sqlite3.connect(journal_path) as conn:  # the finished run left no live run behind
        assert conn.execute("SELECT count(*) FROM runs").fetchone() == (0,)


async def test_a_live_run_refreshes_its_heartbeat_and_a_second_run_in_process_is_refused(
    journal_path: Path, numbers: Callable[..., list[str]], monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(C, "JOURNAL_RUN_HEARTBEAT", 0.05)
    fake = FakeProvider(latency=0.02)
    message = Message(to=numbers(100), body="Hi")
    journal = Journal(journal_path)
    job = asyncio.create_task(Dispatcher(fake, journal=journal, concurrency=2).send(message))
    for _ in range(3000):  # bounded: at most 30 s
        if fake.calls >= 4:
            break
        await asyncio.sleep(0.01)
    with sqlite3.connect(journal_path) as conn:
        first_beat = conn.execute("SELECT heartbeat_at, pid FROM runs").fetchone()
    assert first_beat[1] == os.getpid()
    with pytest.raises(JobBusyError):
        await Dispatcher(FakeProvider(), journal=journal_path).send(message)
    await asyncio.sleep(0.3)
    with sqlite3.connect(journal_path) as conn:
        later_beat = conn.execute("SELECT heartbeat_at FROM runs").fetchone()
    assert later_beat[0] > first_beat[0]
    report = await job
    journal.close()
    assert report.sent == 100
