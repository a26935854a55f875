"""``--redis URL`` / ``$SMSBRIDGE_REDIS_URL``: the CLI's rate limit and opt-out list shared with
every other process through a real redis-server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from redis_server import RedisServer

from smsbridge.redis import RedisSuppressionList
from smsbridge.sandbox import Sandbox

from .conftest import VALID, cli_env, run_cli, write_csv

PASSWORD = "cli-redis-pass-0123456789"


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis", password=PASSWORD)
    server.start()
    yield server
    server.stop()


async def test_bulk_with_redis_shares_the_limit_and_skips_numbers_opted_out_elsewhere(
    sandbox: Sandbox, redis_server: RedisServer, tmp_path: Path
) -> None:
    shared = RedisSuppressionList(redis_server.url)
    await shared.suppress(VALID[1], reason="opted_out", source="another receiver")
    await shared.aclose()
    csv_path = write_csv(tmp_path / "people.csv", [[p, "x"] for p in VALID[:4]])
    result = await run_cli(
        "bulk", str(csv_path), "--body", "Hi", "--rate", "50",
        "--url", sandbox.textus_connection_url,
        env=cli_env(SMSBRIDGE_REDIS_URL=redis_server.url),
    )
    assert result.code == 0, result.output
    masked = f"redis://:***@127.0.0.1:{redis_server.port}/0"
    assert f"rate limit shared through Redis at {masked} (50.00 requests/s" in result.err
    assert PASSWORD not in result.output
    assert sorted(sandbox.accepted_numbers()) == [VALID[0], VALID[2], VALID[3]]


async def test_bulk_with_redis_away_sends_nothing_and_fails_everyone_as_not_sent(
    sandbox: Sandbox, redis_server: RedisServer, tmp_path: Path
) -> None:
    redis_server.kill()
    csv_path = write_csv(tmp_path / "people.csv", [[p, "x"] for p in VALID[:2]])
    result = await run_cli(
        "bulk", str(csv_path), "--body", "Hi", "--url", sandbox.textus_connection_url,
        "--redis", redis_server.url,
    )
    assert result.code == 1, result.output
    assert "reason: store_unavailable" in result.out
    assert "Failed" in result.out and "│          2 │ 100.0% │" in result.out
    masked = f"redis://:***@127.0.0.1:{redis_server.port}/0"
    assert f"store_unavailable: Redis at {masked} did not answer" in result.out
    assert PASSWORD not in result.output
    assert sandbox.accepted_numbers() == []


async def test_send_with_redis_refuses_a_number_on_the_shared_opt_out_list(
    sandbox: Sandbox, redis_server: RedisServer
) -> None:
    shared = RedisSuppressionList(redis_server.url)
    await shared.suppress(VALID[5], reason="opted_out", source="another receiver")
    await shared.aclose()
    refused = await run_cli("send", "--to", VALID[5], "--body", "Hi",
                            "--url", sandbox.textus_connection_url, "--redis", redis_server.url)
    sent = await run_cli("send", "--to", VALID[6], "--body", "Hi",
                         "--url", sandbox.textus_connection_url, "--redis", redis_server.url)
    assert refused.code == 1 and "opted out" in refused.output, refused.output
    assert sent.code == 0, sent.output
    assert sandbox.accepted_numbers() == [VALID[6]]
    assert PASSWORD not in refused.output + sent.output


async def test_a_redis_option_that_is_not_a_redis_url_is_a_usage_error(
    sandbox: Sandbox,
) -> None:
    result = await run_cli("send", "--to", VALID[0], "--body", "Hi",
                           "--url", sandbox.textus_connection_url, "--redis", "localhost:6379")
    assert result.code == 2 and "--redis" in result.output
    assert sandbox.accepted_numbers() == []


async def test_recipients_redis_held_back_are_sent_by_resume_retry_failed_once_it_is_back(
    sandbox: Sandbox, redis_server: RedisServer, tmp_path: Path
) -> None:
    csv_path = write_csv(tmp_path / "people.csv", [[p, "x"] for p in VALID[:3]])
    journal = tmp_path / "job.sqlite"
    redis_server.kill()
    first = await run_cli(
        "bulk", str(csv_path), "--body", "Hi", "--journal", str(journal),
        "--url", sandbox.textus_connection_url, "--redis", redis_server.url,
    )
    assert first.code == 1 and "reason: store_unavailable" in first.out, first.output
    assert sandbox.accepted_numbers() == []
    redis_server.start()
    again = await run_cli(
        "resume", str(journal), "--retry-failed", "--url", sandbox.textus_connection_url,
        "--redis", redis_server.url,
    )
    assert again.code == 0, again.output
    assert "all runs: sent 3, failed 0, unknown 0" in again.out
    assert sorted(sandbox.accepted_numbers()) == VALID[:3]  # each once
