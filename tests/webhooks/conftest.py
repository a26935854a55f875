"""A sandbox, a journal and a webhook receiver on real loopback sockets, wired together."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import attrs
import pytest

from smsbridge.journal.store import Journal
from smsbridge.sandbox import Sandbox
from smsbridge.webhooks.server import WebhookReceiver

FAILURE_RATIO = 0.3


@attrs.define
class Stack:
    sandbox: Sandbox
    journal: Journal
    receiver: WebhookReceiver
    url: str  # where the receiver listens; the sandbox posts its webhooks here

    async def settle(self) -> None:
        """Every due delivery has fired its webhook and every webhook has been applied."""
        assert await self.sandbox.settle(timeout=10)
        await self.receiver.router.settle()


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    with Journal(tmp_path / "job.sqlite") as journal:
        receiver = WebhookReceiver(journal=journal)
        async with (
            Sandbox(seed=42, delivery_delay=0.05, delivery_failure_ratio=FAILURE_RATIO) as sandbox,
            receiver.serve() as url,
        ):
            yield Stack(sandbox, journal, receiver, url)
