"""A bulk job through the Dispatcher with a journal, the sandbox firing delivery webhooks at
the receiver on a real port, and the journal ending with the sandbox's delivered/failed counts;
opt-outs (keyword or API) followed by a job that skips the number."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest

from smsbridge import BulkReport, Dispatcher, Message
from smsbridge.journal.store import Journal
from smsbridge.models import DeliveryStatus, OutcomeStatus
from smsbridge.providers.textus import TextUsProvider
from smsbridge.providers.textus.webhooks import SIGNATURE_HEADER, sign
from smsbridge.providers.trackdrive import TrackDriveProvider
from smsbridge.sandbox import Sandbox
from smsbridge.webhooks import OptOutReply
from smsbridge.webhooks.server import WebhookReceiver

if TYPE_CHECKING:
    from conftest import Stack  # tests/webhooks/conftest.py

NUMBERS = [f"+1720555{n:04d}" for n in range(1000, 1040)]
FAST = 1000.0  # messages per second: no pacing against the sandbox


def textus(stack: Stack) -> TextUsProvider:
    sb = stack.sandbox
    # The sandbox enforces no rate limit; TextUs's real one (1000 per 5 minutes, paced evenly
    # by default) would make a 40-message job take 12 s.
    return TextUsProvider(
        sb.textus_token, sb.textus_account, base_url=sb.textus_url, rate_limiter=None
    )


def trackdrive(stack: Stack) -> TrackDriveProvider:
    sb = stack.sandbox
    return TrackDriveProvider(
        sb.trackdrive_public_key,
        sb.trackdrive_private_key,
        sb.trackdrive_subdomain,
        base_url=sb.trackdrive_url,
        delivery_webhook_url=stack.receiver.trackdrive_webhook_url(stack.url),
    )


async def wire_textus(stack: Stack, provider: TextUsProvider) -> None:
    hook = await provider.integrations.create_webhook(stack.receiver.textus_webhook_url(stack.url))
    assert hook.webhook_secret
    stack.receiver.add_textus_secret(hook.webhook_secret)


async def send_wired_job(stack: Stack, provider_name: str) -> BulkReport:
    """A journaled job to NUMBERS through ``provider_name``, its delivery webhooks wired."""
    provider: Any = textus(stack) if provider_name == "textus" else trackdrive(stack)
    async with provider:
        if provider_name == "textus":
            await wire_textus(stack, provider)
        dispatcher = Dispatcher(provider, journal=stack.journal, concurrency=8, rate_limit=FAST)
        return await dispatcher.send(Message(to=NUMBERS, body="Your code is ready"))


def sandbox_truth(stack: Stack, provider: str) -> dict[str, str]:
    """message id -> final state, as the sandbox settled it."""
    if provider == "textus":
        return {m.iri: m.state for m in stack.sandbox.textus.messages.values()}
    return {str(m.id): m.status for m in stack.sandbox.trackdrive.text_messages.values()}


@pytest.mark.parametrize("provider_name", ["textus", "trackdrive"])
async def test_bulk_job_journal_ends_with_the_delivered_and_failed_counts(
    stack: Stack, provider_name: str
) -> None:
    report = await send_wired_job(stack, provider_name)
    assert report.sent == len(NUMBERS)
    await stack.settle()

    truth = sandbox_truth(stack, provider_name)
    expected = Counter(truth.values())
    assert expected["delivered"] and expected["failed"]  # the seeded sandbox fails ~30%
    summary = stack.journal.report(report.job_id)
    assert summary.delivered == expected["delivered"]
    assert summary.delivery_failed == expected["failed"]
    assert summary.awaiting == 0
    # Each journaled recipient carries the status of its own message, not just the right totals.
    for entry in summary.entries():
        assert entry.message_id is not None
        assert entry.delivery_status == DeliveryStatus(truth[entry.message_id])


async def test_without_verified_webhooks_every_sent_message_stays_awaiting(stack: Stack) -> None:
    stack.receiver.add_textus_secret("textus-a-stale-secret")
    async with textus(stack) as provider:
        await provider.integrations.create_webhook(stack.receiver.textus_webhook_url(stack.url))
        dispatcher = Dispatcher(provider, journal=stack.journal, rate_limit=FAST)
        report = await dispatcher.send(Message(to=NUMBERS[:5], body="Hi"))
    await stack.settle()
    summary = stack.journal.report(report.job_id)
    assert (summary.delivered, summary.delivery_failed, summary.awaiting) == (0, 0, 5)


@pytest.mark.parametrize("how", ["keyword", "api"])
async def test_opt_out_then_a_job_skips_that_number(stack: Stack, how: str) -> None:
    opted = NUMBERS[7]
    async with textus(stack) as provider:
        await wire_textus(stack, provider)
        if how == "keyword":
            stack.sandbox.textus.receive(opted, "Stop")
        else:
            await provider.opt_outs.create(opted)
        await stack.settle()
        assert stack.journal.is_suppressed(opted)

        dispatcher = Dispatcher(provider, journal=stack.journal, rate_limit=FAST)
        report = await dispatcher.send(Message(to=NUMBERS[:10], body="Weekly offer"))
    by_phone = {o.phone: o for o in report.outcomes}
    assert by_phone[opted].status is OutcomeStatus.SKIPPED
    assert by_phone[opted].reason == "opted_out"
    assert report.sent == 9
    sends = stack.sandbox.accepted_numbers("textus", route="textus.send")
    assert opted not in sends and len(sends) == 9


def _keyword_webhook(number: str, keyword: str, at: str, event_id: str) -> bytes:
    """A TextUs message.received webhook whose text is an opt-out/in keyword, sent at ``at``."""
    return json.dumps({
        "@type": "WebhookDelivery", "id": event_id, "action": "message.received",
        "timestamp": at, "conversation": {"phoneNumber": number},
        "message": {"id": f"/messages/{event_id}", "body": keyword, "displayTimestamp": at},
    }).encode()


async def test_an_older_start_redelivered_after_a_newer_stop_keeps_the_number_skipped(
    stack: Stack,
) -> None:
    opted = NUMBERS[3]
    secret = "textus-opt-order-secret-0123"
    stack.receiver.add_textus_secret(secret)
    stop = _keyword_webhook(opted, "STOP", "2026-03-01T12:05:00Z", "/deliveries/stop")
    start = _keyword_webhook(opted, "START", "2026-03-01T12:00:00Z", "/deliveries/start")
    async with aiohttp.ClientSession() as http:
        for body in (stop, start):  # the START happened first but is (re)delivered last
            headers = {SIGNATURE_HEADER: sign(body, secret), "Content-Type": "application/json"}
            async with http.post(stack.url + stack.receiver.textus_path, data=body,
                                 headers=headers) as answer:
                assert answer.status == 200
    assert stack.journal.is_suppressed(opted)

    async with textus(stack) as provider:
        dispatcher = Dispatcher(provider, journal=stack.journal, rate_limit=FAST)
        report = await dispatcher.send(Message(to=NUMBERS[:5], body="Weekly offer"))
    by_phone = {o.phone: o for o in report.outcomes}
    assert by_phone[opted].status is OutcomeStatus.SKIPPED
    assert by_phone[opted].reason == "opted_out"
    sends = stack.sandbox.accepted_numbers("textus", route="textus.send")
    assert opted not in sends and len(sends) == 4


async def test_revoke_opt_out_and_stop_all_each_suppress_for_the_next_job_with_one_reply(
    tmp_path: Path,
) -> None:
    reply_text = "You are unsubscribed from Acme alerts. Reply START to resubscribe."
    revoking = {NUMBERS[1]: "Revoke", NUMBERS[2]: "opt out", NUMBERS[3]: "STOP ALL"}
    async with Sandbox(seed=42, delivery_delay=0.05) as sandbox:
        sb = sandbox
        replier = TextUsProvider(sb.textus_token, sb.textus_account, base_url=sb.textus_url,
                                 rate_limiter=None)
        with Journal(tmp_path / "job.sqlite") as journal:
            receiver = WebhookReceiver(journal=journal,
                                       opt_out_reply=OptOutReply(replier, reply_text))
            async with replier, receiver.serve() as url:
                hook = await replier.integrations.create_webhook(
                    receiver.textus_webhook_url(url))
                assert hook.webhook_secret
                receiver.add_textus_secret(hook.webhook_secret)
                for number, words in revoking.items():
                    sandbox.textus.receive(number, words)
                sandbox.textus.receive(NUMBERS[1], "Revoke")  # said twice: no second reply
                # every webhook answered: opt-outs are applied before the answer (not settling
                # the router: the replies' own delivery reports match no job row and would be
                # retried for 20 s)
                assert await sandbox.settle(timeout=10)
                for number in revoking:
                    assert journal.is_suppressed(number), revoking[number]

                dispatcher = Dispatcher(replier, journal=journal, rate_limit=FAST)
                report = await dispatcher.send(Message(to=NUMBERS[:6], body="Weekly offer"))

    replies = [r.to for r in sandbox.records
               if r.route == "textus.send" and reply_text in json.dumps(r.body)]
    assert sorted(replies) == sorted(revoking)  # one confirmation each
    by_phone = {o.phone: o for o in report.outcomes}
    for number in revoking:
        assert by_phone[number].status is OutcomeStatus.SKIPPED
        assert by_phone[number].reason == "opted_out"
    assert report.sent == 3
    offers = [r.to for r in sandbox.records
              if r.route == "textus.send" and "Weekly offer" in json.dumps(r.body)]
    assert sorted(offers) == [NUMBERS[0], NUMBERS[4], NUMBERS[5]]
    assert journaled_recipients(tmp_path / "job.sqlite") == {report.job_id: 6}


def journaled_recipients(path: Path) -> dict[str, int]:
    """The confirmations are not job recipients: the journal holds the job's six alone."""
    with Journal(path) as journal:
        return {job.job_id: sum(1 for _ in journal.recipients(job.job_id))
                for job in journal.jobs()}
