"""One worker process of a multi-process deployment: a bulk send through the sandbox, with the
rate limit (and, optionally, the opt-out list) shared through Redis.

``python bulk_worker.py CONFIG_JSON``: builds the provider with ``smsbridge.connect`` and the
account's shared Redis limiter, prints ``ready``, waits for a line on stdin (so every worker
starts together), sends, then prints one JSON line: ``{"outcomes": [[phone, status, reason,
attempts, error], ...]}``.

CONFIG keys: textus_url, token, account, redis, numbers, limit ([requests, period]),
concurrency, timeout (Redis), retries, suppression (bool: Dispatcher(suppression=redis)).
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import smsbridge
from smsbridge import Dispatcher, Message, RateLimit, RetryPolicy


async def main(config: dict[str, Any]) -> None:
    provider: Any = smsbridge.connect(
        f"textus://{config['token']}@{config['account']}?base_url={config['textus_url']}",
        retry=RetryPolicy(max_retries=config["retries"]))
    requests, period = config["limit"]
    provider.use_shared_rate_limiter(config["redis"], RateLimit(requests, period),
                                     timeout=config["timeout"])
    dispatcher = Dispatcher(
        provider, concurrency=config["concurrency"],
        retry=RetryPolicy(max_retries=config["retries"]),
        suppression=config["redis"] if config["suppression"] else None)
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    async with provider, dispatcher:
        report = await dispatcher.send(Message(to=config["numbers"], body="Hello"))
    print(json.dumps({"outcomes": [
        [o.recipient.phone, o.status.value, o.reason, o.attempts, o.error]
        for o in report.outcomes]}), flush=True)


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1])))
