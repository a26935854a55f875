"""A shared suppression list given to the dispatcher is checked right before each claim."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from smsbridge import Dispatcher, Message, OutcomeStatus, Receipt
from smsbridge.journal.protocol import SuppressionList, resolve
from smsbridge.journal.store import Journal
from smsbridge.testing import FakeProvider


class StopArrivesMidJob(FakeProvider):
    """While the first message goes out, ``number`` texts STOP to another receiver, which
    records it in the shared ``store``."""

    def __init__(self, store: SuppressionList, number: str) -> None:
        super().__init__()
        self.store = store
        self.number = number

    async def send(self, message: Message) -> Receipt:
        receipt = await super().send(message)
        if self.calls == 1:
            await resolve(self.store.suppress(self.number, source="textus:webhook"))
        return receipt


async def test_a_stop_recorded_mid_job_in_a_shared_list_is_honoured_before_the_next_claim(
    numbers: Callable[..., list[str]], tmp_path: Path,
) -> None:
    to = numbers(6)
    with Journal(tmp_path / "optouts.sqlite") as shared, \
            Journal(tmp_path / "job.sqlite") as job_journal:
        provider = StopArrivesMidJob(shared, to[3])
        report = await Dispatcher(provider, concurrency=1, suppression=shared,
                                  journal=job_journal).send(Message(to=to, body="Hi"))
        recorded = job_journal.report()
    # Recipients 1..5 were prepared (queued) before the STOP arrived: only the claim-time
    # check can catch it.
    assert provider.sent_to(to[3]) == []
    stopped = report.outcomes[3]
    assert stopped.status is OutcomeStatus.SKIPPED and stopped.reason == "opted_out"
    assert [o.status for o in report.outcomes].count(OutcomeStatus.SENT) == 5
    assert recorded.reasons.get("opted_out") == 1  # final in the job's journal too
