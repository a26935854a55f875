"""A second process sharing a RedisLimiter: acquires for a while, prints each grant's time.

Usage: python limiter_child.py URL LIMITER_ID RATE LOOKAHEAD UNTIL_UNIX
Prints one wall-clock timestamp (time.time()) per granted permit, then "done".
"""

from __future__ import annotations

import asyncio
import sys
import time

from smsbridge.redis import RedisLimiter


async def main(url: str, limiter_id: str, rate: float, lookahead: float, until: float) -> None:
    limiter = RedisLimiter(url, limiter_id=limiter_id, max_rate=rate, burst=1,
                           lookahead=lookahead)
    grants: list[float] = []

    async def worker() -> None:
        while time.time() < until:
            await limiter.acquire()
            grants.append(time.time())

    await asyncio.gather(*(worker() for _ in range(3)))
    await limiter.aclose()
    for stamp in grants:
        print(repr(stamp))
    print("done", flush=True)


if __name__ == "__main__":
    url, limiter_id, rate, lookahead, until = sys.argv[1:6]
    asyncio.run(main(url, limiter_id, float(rate), float(lookahead), float(until)))
