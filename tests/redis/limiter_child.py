"""Another process sharing a RedisLimiter.

``python limiter_child.py hammer URL LIMITER_ID RATE LOOKAHEAD UNTIL_UNIX``: acquire with three
workers until UNTIL_UNIX; print each grant's wall-clock time (time.time()), then "done".

``python limiter_child.py pause URL LIMITER_ID RATE SECONDS``: pause the shared limit for
SECONDS; print the wall-clock time the pause was set, then "done".
"""

from __future__ import annotations

import asyncio
import sys
import time

from smsbridge.redis import RedisLimiter


async def hammer(limiter: RedisLimiter, until: float) -> None:
    grants: list[float] = []

    async def worker() -> None:
        while time.time() < until:
            await limiter.acquire()
            grants.append(time.time())

    await asyncio.gather(*(worker() for _ in range(3)))
    for stamp in grants:
        print(repr(stamp))


async def main(mode: str, url: str, limiter_id: str, rate: float, *rest: float) -> None:
    async with RedisLimiter(url, limiter_id=limiter_id, max_rate=rate, burst=1,
                            lookahead=rest[0] if mode == "hammer" else 1.0) as limiter:
        if mode == "hammer":
            await hammer(limiter, rest[1])
        else:
            await limiter.pause(rest[0])
            print(repr(time.time()))
    print("done", flush=True)


if __name__ == "__main__":
    mode, url, limiter_id, rate, *rest = sys.argv[1:]
    asyncio.run(main(mode, url, limiter_id, float(rate), *map(float, rest)))
