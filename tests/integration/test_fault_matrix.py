"""The fault matrix: 5,000 recipients through the Dispatcher (with a journal) while the sandbox
breaks 25 % of the send requests in every way the outcome rule has to survive.

On the send route: 10 % 5xx (half before anything is stored, half after the message was
stored), 5 % 429 with a short Retry-After, 2 % connection resets before the request is read,
2 % resets after the message was stored, 1 % hangs past the client's read timeout. The retry
budget is one provider retry and no dispatcher retry, so a recipient refused twice by a 429 is
FAILED and every outcome kind occurs.

What must hold: every recipient has exactly one outcome; the sandbox accepted no number twice;
every number it accepted is SENT or UNKNOWN (in the report and in the journal); every SENT
number was accepted, under the receipt's message id; no FAILED number was accepted. And the
arithmetic closes: the accepted-but-UNKNOWN numbers are exactly the stored-then-lost faults,
the unaccepted UNKNOWN ones exactly the other ambiguous faults.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from smsbridge import Dispatcher, Message, RetryPolicy
from smsbridge.errors import RateLimitError
from smsbridge.journal.store import Journal
from smsbridge.models import OutcomeStatus
from smsbridge.providers.textus import TextUsProvider
from smsbridge.providers.trackdrive import TrackDriveProvider
from smsbridge.sandbox import Sandbox
from smsbridge.transport.http import Timeouts

RECIPIENTS = [f"+1720{2_000_000 + i}" for i in range(5_000)]
RETRY_AFTER = 0.05
FAULTS = (
    ("error_5xx_before", 0.05),
    ("error_5xx_after", 0.05),
    ("rate_limit_429", 0.05),
    ("reset_before_read", 0.02),
    ("reset_after_store", 0.02),
    ("hang", 0.01),
)
STORED_THEN_LOST = ("error_5xx_after", "reset_after_store")
LOST_UNSTORED = ("error_5xx_before", "reset_before_read", "hang")
ROUTES = {"textus": "textus.send", "trackdrive": "trackdrive.text_messages"}


def provider_for(name: str, sb: Sandbox) -> TextUsProvider | TrackDriveProvider:
    """The provider with its own session, a short read timeout and a one-retry budget."""
    timeouts = Timeouts(connect=1, read=0.5, total=5)
    retry = RetryPolicy(max_retries=1, initial_backoff=0.01)
    if name == "textus":
        # The real TextUs budget (1,000 per 5 minutes) is off in this sandbox; 5,000 sends
        # under it would take 25 minutes.
        return TextUsProvider(sb.textus_token, sb.textus_account, base_url=sb.textus_url,
                              timeouts=timeouts, retry=retry, rate_limiter=None)
    return TrackDriveProvider(sb.trackdrive_public_key, sb.trackdrive_private_key,
                              base_url=sb.trackdrive_url, timeouts=timeouts, retry=retry)


@pytest.mark.parametrize("provider_name", ["textus", "trackdrive"])
async def test_every_recipient_has_one_honest_outcome_under_faults(
    provider_name: str, tmp_path: Path
) -> None:
    route = ROUTES[provider_name]
    async with Sandbox(seed=11, delivery_delay=600.0) as sb:
        for kind, ratio in FAULTS:
            sb.faults.add(route, kind, ratio, delay=RETRY_AFTER if kind == "rate_limit_429" else 0)
        with Journal(tmp_path / "job.sqlite") as journal:
            async with provider_for(provider_name, sb) as provider:
                dispatcher = Dispatcher(provider, concurrency=64, journal=journal,
                                        retry=RetryPolicy(max_retries=0))
                report = await dispatcher.send(Message(to=RECIPIENTS, body="Your code is 1234"))
            rows = {e.phone: e for e in journal.recipients(report.job_id)}
        accepted = sb.accepted_numbers(provider_name)
        stored_id = {r.to: r.message_id for r in sb.records if r.route == route}
        fired = {kind: sb.faults.injected[(route, kind)] for kind, _ in FAULTS}

    # exactly one outcome per recipient, in input order, and never SKIPPED here
    assert [o.phone for o in report.outcomes] == RECIPIENTS
    by_status = {status: {o.phone for o in report.by_status(status)} for status in OutcomeStatus}
    assert sum(map(len, by_status.values())) == len(RECIPIENTS)
    assert not by_status[OutcomeStatus.SKIPPED]
    sent, unknown, failed = (by_status[s] for s in (
        OutcomeStatus.SENT, OutcomeStatus.UNKNOWN, OutcomeStatus.FAILED))

    # the sandbox's side: no duplicate, and nothing accepted that the report calls failed
    assert len(accepted) == len(set(accepted))
    assert set(accepted) <= sent | unknown
    assert sent <= set(accepted)
    assert not failed & set(accepted)
    for outcome in report.by_status(OutcomeStatus.SENT):
        assert outcome.receipt is not None
        assert outcome.receipt.message_id == stored_id[outcome.phone]

    # every fault kind happened, and the ambiguous ones account for every UNKNOWN
    assert all(fired.values()), fired
    assert len(unknown & set(accepted)) == sum(fired[k] for k in STORED_THEN_LOST)
    assert len(unknown - set(accepted)) == sum(fired[k] for k in LOST_UNSTORED)
    assert failed, "two 429s in a row should exhaust the retry budget for a few recipients"
    assert all(isinstance(o.exception, RateLimitError)
               for o in report.by_status(OutcomeStatus.FAILED))

    # the journal says the same as the report, row for row
    assert {phone: row.state for phone, row in rows.items()} == {
        o.phone: o.status.value for o in report.outcomes}
    assert all(rows[n].state in ("sent", "unknown") for n in accepted)
    assert all(rows[n].message_id == stored_id[n] for n in sent)
