"""``python -m smsbridge.sandbox`` as a user runs it: starts, answers, stops cleanly on Ctrl-C."""

from __future__ import annotations

import asyncio
import re
import signal
import sys

import aiohttp

from smsbridge.sandbox import Sandbox


async def start(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "smsbridge.sandbox", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )


async def test_standalone_sandbox_prints_urls_answers_and_stops_on_ctrl_c() -> None:
    proc = await start("--port", "0", "--seed", "1", "--fault", "textus.send:latency:1:0.01")
    assert proc.stdout is not None
    try:
        lines: list[str] = []
        async with asyncio.timeout(15):
            while not lines or "Ctrl-C" not in lines[-1]:
                lines.append((await proc.stdout.readline()).decode())
        banner = "".join(lines)
        url = re.search(r"TextUs\s+(http://\S+/textus)", banner)
        assert url is not None
        assert "textus://sandbox-textus-token@sandbox?base_url=" in banner
        assert "trackdrive://tdpub_sandbox:tdprv_sandbox@sandbox?base_url=" in banner
        async with aiohttp.ClientSession() as session, session.post(
            url.group(1) + "/sandbox/messages",
            json={"to": "+13035551234", "body": "Hi"},
            headers={"Authorization": "Bearer sandbox-textus-token"},
            timeout=aiohttp.ClientTimeout(total=5),
        ) as resp:
            assert resp.status == 201
        proc.send_signal(signal.SIGINT)
        async with asyncio.timeout(10):
            out, err = await proc.communicate()
        assert proc.returncode == 0, err.decode()
        assert "sandbox stopped" in out.decode()
        assert "Traceback" not in err.decode()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_standalone_sandbox_reports_a_taken_port_and_bad_arguments() -> None:
    async with Sandbox() as busy:
        proc = await start("--port", str(busy.port))
        async with asyncio.timeout(15):
            _, err = await proc.communicate()
        assert proc.returncode == 1
        assert "cannot listen" in err.decode() and "Traceback" not in err.decode()
    proc = await start("--fault", "textus.send:explode")
    async with asyncio.timeout(15):
        _, err = await proc.communicate()
    assert proc.returncode == 2 and "unknown fault kind" in err.decode()
