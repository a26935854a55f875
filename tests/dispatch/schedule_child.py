"""Child process of test_dispatcher_schedule_crash: a journaled job judged by a shifted clock.

``python schedule_child.py URL JOURNAL NUMBERS_FILE CLOCK_START MODE`` — the clock starts at
CLOCK_START (ISO, aware) and runs at real speed. MODE: ``quiet`` (send with the federal quiet
hours), ``scheduled:ISO`` (send with ``send_at``), ``resume`` (no compliance arguments: what the
journal stored applies). Every request carries the clock's time, so the test can check when, by
the dispatcher's own clock, each text went out.
"""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import datetime, timedelta

from smsbridge import DeliveryStatus, Dispatcher, Message, Receipt
from smsbridge._closing import AsyncClosing
from smsbridge.journal.store import Journal
from smsbridge.protocol import Capabilities
from smsbridge.transport.http import HttpClient


class ShiftedClock:
    def __init__(self, start: datetime) -> None:
        self.start = start
        self.origin = time.monotonic()

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=time.monotonic() - self.origin)


class HttpFake(AsyncClosing):
    """One POST per message through the SDK's request pipeline, stamped with the clock."""

    name = "httpfake"
    capabilities = Capabilities()

    def __init__(self, base_url: str, clock: ShiftedClock) -> None:
        self.http = HttpClient(provider=self.name, base_url=base_url, headers={})
        self.clock = clock

    async def send(self, message: Message) -> Receipt:
        phone = message.recipient.phone
        response = await self.http.request(
            "POST", "/send",
            json_body={"to": phone, "body": message.body, "clock": self.clock().isoformat()})
        return Receipt(self.name, response.json()["id"], DeliveryStatus.ACCEPTED, phone)

    async def aclose(self) -> None:
        await self.http.aclose()


async def main(url: str, journal: str, numbers: list[str], start: str, mode: str) -> None:
    clock = ShiftedClock(datetime.fromisoformat(start))
    async with HttpFake(url, clock) as provider:
        opened = Journal(journal)
        if mode == "quiet":
            dispatcher = Dispatcher(provider, concurrency=4, journal=opened,
                                    quiet_hours="federal", clock=clock)
            report = await dispatcher.send(Message(to=numbers, body="Hi"))
        elif mode.startswith("scheduled:"):
            dispatcher = Dispatcher(provider, concurrency=4, journal=opened, clock=clock)
            send_at = datetime.fromisoformat(mode.removeprefix("scheduled:"))
            print("waiting", flush=True)
            report = await dispatcher.send(Message(to=numbers, body="Hi"), send_at=send_at)
        else:
            dispatcher = Dispatcher(provider, concurrency=4, journal=opened, clock=clock)
            report = await dispatcher.resume()
        opened.close()
    print(report.summary(), flush=True)


if __name__ == "__main__":
    url, journal, numbers_file, start, mode = sys.argv[1:6]
    with open(numbers_file) as source:
        numbers = source.read().split()
    asyncio.run(main(url, journal, numbers, start, mode))
