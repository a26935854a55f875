"""Child process of test_journal_crash: a journaled job sent over a real socket.

``python crash_child.py URL JOURNAL NUMBERS_FILE send|resume`` — the test kills it with SIGKILL
in the middle of ``send`` and then runs ``resume`` to finish the job from the journal alone.
A mode ending in ``-accept-lost-wal`` opens the journal with ``accept_lost_wal=True``.
"""

from __future__ import annotations

import asyncio
import sys

from smsbridge import DeliveryStatus, Dispatcher, Message, Receipt
from smsbridge._closing import AsyncClosing
from smsbridge.journal.store import Journal
from smsbridge.protocol import Capabilities
from smsbridge.transport.http import HttpClient


class HttpFake(AsyncClosing):
    """The smallest real provider: one POST per message through the SDK's request pipeline."""

    name = "httpfake"
    capabilities = Capabilities()

    def __init__(self, base_url: str) -> None:
        self.http = HttpClient(provider=self.name, base_url=base_url, headers={})

    async def send(self, message: Message) -> Receipt:
        phone = message.recipient.phone
        response = await self.http.request(
            "POST", "/send", json_body={"to": phone, "body": message.body})
        return Receipt(self.name, response.json()["id"], DeliveryStatus.ACCEPTED, phone)

    async def aclose(self) -> None:
        await self.http.aclose()


async def main(url: str, journal: str, numbers: list[str], mode: str) -> None:
    async with HttpFake(url) as provider:
        accept_lost_wal = mode.endswith("-accept-lost-wal")
        mode = mode.removesuffix("-accept-lost-wal")
        opened = Journal(journal, accept_lost_wal=accept_lost_wal)
        dispatcher = Dispatcher(provider, concurrency=8, journal=opened)
        if mode == "send":
            report = await dispatcher.send(Message(to=numbers, body="Hi"))
        else:
            report = await dispatcher.resume()
        opened.close()
    print(report.summary())


if __name__ == "__main__":
    url, journal, numbers_file, mode = sys.argv[1:5]
    with open(numbers_file) as source:
        numbers = source.read().split()
    asyncio.run(main(url, journal, numbers, mode))
