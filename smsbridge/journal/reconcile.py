"""Reconciling UNKNOWN sends with the provider's own delivery reports.

A send is UNKNOWN when its request may have reached the provider but no answer came back (the
connection dropped after the provider stored the message, a 5xx after storing it): the journal
holds no message id for it. When a delivery event then arrives for a message id the journal
does not know, the event's recipient number can tie it to that send. If exactly one recipient
row of that provider and number could be the message behind the event, and that row is
UNKNOWN, the event proves the provider accepted the message: the row becomes SENT with reason
``reconciled`` and the message id attached, so no resume (not even with
``resend_unknown=True``) sends it again, and later events for that id match it directly.

A row "could be the message" when it has no message id of its own, its last attempt started
before the event (within ``JOURNAL_RECONCILE_CLOCK_SKEW``), and it is UNKNOWN, in flight (its
answer is not recorded yet) or SENT without an id (a native batch, which returns no ids).
Several such rows are ambiguous, and an in-flight one may be about to get this very id: in
both cases nothing is reconciled (the webhook router retries an unmatched event a few times).
"""

from __future__ import annotations

import sqlite3
import time

RECONCILED = "reconciled"

_CANDIDATES = (
    "SELECT job_id, state, provider, coalesce(attempted_at, created_at), reason "
    "FROM recipients WHERE job_id IN (SELECT job_id FROM jobs) AND phone = ? "
    "AND message_id IS NULL AND state IN ('unknown', 'in_flight', 'sent')"
)
_RECONCILE = (
    "UPDATE recipients SET state = 'sent', reason = ?, error = ?, provider = ?, "
    "message_id = ?, updated_at = ? "
    "WHERE job_id = ? AND phone = ? AND state = 'unknown' AND message_id IS NULL"
)


def reconcile(
    conn: sqlite3.Connection, provider: str, message_id: str, phone: str,
    occurred_at: float | None, *, skew: float,
) -> bool:
    """Attach ``message_id`` to the one UNKNOWN send it can belong to; False if none or
    ambiguous. ``phone`` is E.164; ``occurred_at`` the event's time (None when unknown)."""
    job_providers: dict[str, str | None] = dict(
        conn.execute("SELECT job_id, provider FROM jobs").fetchall())
    candidates = [
        (job_id, state, reason)
        for job_id, state, row_provider, started, reason in conn.execute(_CANDIDATES, (phone,))
        # A row in flight has no provider yet: its job's tells which one it is going to.
        if (row_provider or job_providers.get(job_id)) == provider
        and (occurred_at is None or started is None or started <= occurred_at + skew)
    ]
    if len(candidates) != 1 or candidates[0][1] != "unknown":
        return False
    job_id, _state, reason = candidates[0]
    error = (f"the send was unknown ({reason or 'no answer'}) until {provider}'s delivery "
             f"report for message {message_id} proved it was accepted")
    updated = conn.execute(_RECONCILE, (RECONCILED, error, provider, message_id, time.time(),
                                        job_id, phone)).rowcount
    return bool(updated == 1)
