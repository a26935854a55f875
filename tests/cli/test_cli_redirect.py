"""The CLI (a real subprocess) against a provider address that redirects: nothing is reported
sent, the run fails, and the output says where the server pointed without its query string."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from aiohttp import web

from .conftest import VALID, cli_env, run_cli

TOKEN = "SECRET-TOKEN-c41d"


async def test_bulk_through_a_redirecting_base_url_fails_every_recipient_and_sends_none(
    serve, recipients_csv: Path, tmp_path: Path
) -> None:
    requests: list[str] = []

    async def moved(request: web.Request) -> web.StreamResponse:
        await request.read()
        requests.append(request.path)
        # What an http:// address answers when the service lives on https:// only.
        return web.Response(status=301, headers={
            "Location": f"https://secure.example{request.path}?session=leaky-q"})

    async with serve(moved) as url:
        connection = f"textus://{TOKEN}@acct?base_url={quote(url, safe='')}"
        journal = tmp_path / "job.sqlite"
        result = await run_cli("bulk", str(recipients_csv), "--body", "Hi", "--rate", "500",
                               "--journal", str(journal), env=cli_env(SMSBRIDGE_URL=connection))
    assert result.code == 1, result.output
    assert "reason: redirected" in result.out
    assert "sent 0  failed 40" in result.err  # 40 valid numbers; the 2 others are skipped
    assert len(requests) == len(VALID)  # one request each: never followed, never retried
    listed = await run_cli("report", str(journal), "--list", "failed", "--limit", "50")
    assert listed.code == 0, listed.output
    # Every failed row names where the server pointed.
    assert listed.out.count("https://secure.example/acct/messages") == len(VALID)
    for output in (result.output, listed.output):
        assert "leaky-q" not in output and TOKEN not in output
