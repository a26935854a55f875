"""Batch mode with a personalised body: render first, then one native send per shared body."""

from __future__ import annotations

from pathlib import Path

from smsbridge import Dispatcher, Message, OutcomeStatus, Recipient
from smsbridge.journal.store import Journal
from smsbridge.providers.textus import TextUsProvider
from smsbridge.sandbox import Sandbox
from smsbridge.testing import FakeProvider

NAMES = ["Ann", "Bob", "Ann", "Bob", "Cy", "Ann", "Bob", "Dee", "Ann", "Bob"]
PEOPLE = [Recipient(f"+1303555{1000 + i}", {"name": name}) for i, name in enumerate(NAMES)]


def rendered(recipient: Recipient) -> str:
    return f"Hi {recipient.variables['name']}"


async def test_a_templated_body_is_rendered_then_batched_by_identical_text() -> None:
    fake = FakeProvider()
    report = await Dispatcher(fake, batch_size=10).send(Message(to=PEOPLE, body="Hi {name}"))

    assert report.sent == 10 and report.ok
    assert fake.calls == 4  # Ann x4 and Bob x4 in one batch each; Cy and Dee on their own
    batches = sorted(report.batches.values(), key=len)
    assert [len(b) for b in batches] == [4, 4]
    for accepted in fake.accepted:
        person = next(p for p in PEOPLE if p.phone == accepted.to)
        assert accepted.body == rendered(person)  # everyone got their own name
        assert accepted.batch == (person.variables["name"] in ("Ann", "Bob"))
        if accepted.batch:
            assert all(not r.variables for r in accepted.message.to)  # plain numbers only
    singles = [o for o in report if o.batch_id is None]
    assert sorted(o.phone for o in singles) == [PEOPLE[4].phone, PEOPLE[7].phone]
    assert all(o.receipt is not None and o.receipt.message_id for o in singles)


async def test_batch_size_splits_a_large_group_and_every_batch_has_one_body() -> None:
    fake = FakeProvider()
    to = [Recipient(f"+1720555{1000 + i}", {"team": "red" if i < 7 else "blue"})
          for i in range(9)]
    report = await Dispatcher(fake, batch_size=3).send(Message(to=to, body="Go {team}!"))

    assert report.sent == 9
    assert sorted(len(v) for v in report.batches.values()) == [2, 3, 3]  # red 3+3, blue 2
    assert sum(o.batch_id is None for o in report) == 1  # the seventh red: on its own
    for numbers in report.batches.values():
        assert len({a.body for a in fake.accepted if a.to in numbers}) == 1


async def test_textus_batches_a_templated_body_against_the_sandbox(tmp_path: Path) -> None:
    async with Sandbox(seed=3, delivery_delay=0.05) as sb:
        provider = TextUsProvider(sb.textus_token, sb.textus_account, base_url=sb.textus_url)
        async with provider, Dispatcher(provider, batch_size=25,
                                        journal=tmp_path / "job.sqlite") as dispatcher:
            report = await dispatcher.send(Message(to=PEOPLE, body="Hi {name}"))
        records = list(sb.records)

    assert [o.status for o in report] == [OutcomeStatus.SENT] * 10, [o.error for o in report]
    by_body: dict[str, list[str]] = {}
    for record in records:  # one record per accepted message
        by_body.setdefault(record.body["body"], []).append(record.to)
    assert {body: sorted(to) for body, to in by_body.items()} == {
        f"Hi {name}": sorted(p.phone for p in PEOPLE if p.variables["name"] == name)
        for name in ("Ann", "Bob", "Cy", "Dee")}
    requests = {(r.body["body"], tuple(r.body["to"])) for r in records
                if isinstance(r.body["to"], list)}
    assert len(requests) == 2  # Ann's batch and Bob's
    with Journal(tmp_path / "job.sqlite") as journal:
        entries = {e.phone: e for e in journal.recipients()}
    assert all(e.state == "sent" for e in entries.values())
    assert entries[PEOPLE[4].phone].message_id is not None  # Cy: a plain send has an id
    assert entries[PEOPLE[0].phone].batch_id in report.batches
