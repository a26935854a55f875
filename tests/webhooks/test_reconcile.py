"""End to end: sends left UNKNOWN by a dropped connection are reconciled by the delivery
webhooks of the messages the sandbox did store; the ones it never stored stay UNKNOWN."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from smsbridge import Dispatcher
from smsbridge.models import DeliveryStatus, OutcomeStatus

from .test_end_to_end import FAST, send_wired_job, textus, trackdrive

if TYPE_CHECKING:
    from conftest import Stack  # tests/webhooks/conftest.py

ROUTES = {"textus": "textus.send", "trackdrive": "trackdrive.text_messages"}


@pytest.mark.parametrize("provider_name", ["textus", "trackdrive"])
async def test_unknown_sends_the_provider_stored_are_reconciled_by_their_delivery_webhooks(
    stack: Stack, provider_name: str
) -> None:
    sb = stack.sandbox
    route = ROUTES[provider_name]
    sb.faults.add(route, "reset_after_store", 0.2)  # stored, then the connection drops
    sb.faults.add(route, "error_5xx_before", 0.2)  # a 500 on a POST: UNKNOWN, nothing stored
    report = await send_wired_job(stack, provider_name)
    await stack.settle()

    unknown = {o.phone for o in report if o.status is OutcomeStatus.UNKNOWN}
    stored = set(sb.accepted_numbers(provider_name))
    reconcilable, never_stored = unknown & stored, unknown - stored
    assert reconcilable and never_stored  # both kinds of UNKNOWN happened
    message_ids = {r.to: r.message_id for r in sb.records}
    entries = {e.phone: e for e in stack.journal.recipients(report.job_id)}
    for phone in reconcilable:
        entry = entries[phone]
        assert (entry.state, entry.reason) == ("sent", "reconciled")
        assert entry.message_id is not None and entry.message_id == str(message_ids[phone])
        assert entry.delivery_status in (DeliveryStatus.DELIVERED, DeliveryStatus.FAILED)
    for phone in never_stored:
        assert entries[phone].state == "unknown" and entries[phone].message_id is None
    summary = stack.journal.report(report.job_id)
    assert summary.reconciled == len(reconcilable)
    assert summary.unknown == len(never_stored)
    assert summary.sent == report.sent + len(reconcilable)
    assert summary.awaiting == 0  # every stored message, reconciled ones too, has its status

    # A resume that resends UNKNOWN sends texts only the ones the sandbox never got.
    sb.faults.clear()
    async with (textus(stack) if provider_name == "textus" else trackdrive(stack)) as again:
        resumed = await Dispatcher(again, journal=stack.journal, resend_unknown=True,
                                   rate_limit=FAST).resume(report.job_id)
    assert {o.phone for o in resumed if o.status is OutcomeStatus.SENT} == never_stored
    assert resumed.reasons()["already_sent"] == report.sent + len(reconcilable)
    accepted = sb.accepted_numbers(provider_name)
    assert len(accepted) == len(set(accepted))  # nobody texted twice
