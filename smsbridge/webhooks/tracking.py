"""Where a message went after it was accepted: the delivery tracker and the journal sink.

:class:`DeliveryTracker` lets code await a final status for a :class:`Receipt`
(``await tracker.wait(receipt, timeout=30)``); :class:`JournalSink` writes delivery events and
opt-outs into the send journal, so ``Journal.report()`` counts delivered / failed / awaiting and
the dispatcher skips opted-out numbers. Both are fed by ``webhooks.EventRouter``.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any, Protocol

from .. import _constants as C
from .._logging import logger
from ..errors import ConfigurationError, DeliveryTimeoutError, InvalidMessage, InvalidPhoneNumber
from ..journal.protocol import EventLedger, SuppressionList, resolve
from ..models import DeliveryEvent, DeliveryStatus, OptOutEvent, Receipt
from ..phone import mask

__all__ = ["FINAL_STATUSES", "DeliveryTracker", "JournalLike", "JournalSink", "apply_opt_out"]

FINAL_STATUSES: frozenset[DeliveryStatus] = frozenset(s for s in DeliveryStatus if s.is_final)


class JournalLike(SuppressionList, EventLedger, Protocol):
    """What webhooks apply events to: a suppression list, an event ledger and the deliveries
    (the SQLite ``Journal`` is all three). Methods may be sync or async."""

    def record_delivery(
        self,
        provider: str,
        message_id: str,
        status: DeliveryStatus,
        *,
        raw_status: str | None = ...,
        occurred_at: datetime | None = ...,
        error_code: str | None = ...,
        to: str | None = ...,
    ) -> Any: ...


async def apply_opt_out(suppression: SuppressionList, event: OptOutEvent) -> bool:
    """Apply an opt-out or opt-in to ``suppression`` at the event's own time: a redelivered
    older event never overrides a newer one (the list decides, and says whether it
    applied). True when it applied."""
    source = f"{event.provider}:{event.source}"
    try:
        if event.opted_out:
            applied = await resolve(
                suppression.suppress(
                    event.phone, reason="opted_out", source=source,
                    occurred_at=event.occurred_at,
                )
            )
        else:
            applied = await resolve(
                suppression.unsuppress(event.phone, occurred_at=event.occurred_at)
            )
    except InvalidPhoneNumber:  # a short code or garbage: nothing we could text anyway
        logger.warning("ignored a %s opt-out/in for an invalid number", source)
        return False
    kind = "opt-out" if event.opted_out else "opt-in"
    if applied is False:  # a journal that returns None (older JournalLike) applied it
        logger.info("ignored an older %s of %s (%s): a newer opt-out/in is on record",
                    kind, mask(event.phone), source)
        return False
    verb = "suppressed" if event.opted_out else "unsuppressed"
    logger.info("%s %s (%s)", verb, mask(event.phone), source)
    return True


class JournalSink:
    """Applies webhook events to a journal. Works with sync and async journal methods.

    The event's recipient number goes along (``to``), so the journal can reconcile a send it
    holds as UNKNOWN with the provider's report of that message (see
    ``Journal.record_delivery``). A delivery that matches no journaled recipient yet is retried
    a few times in the background (``retry_delays``): its webhook may have beaten the journal
    write of the message id, or of the UNKNOWN outcome it reconciles. Call :meth:`aclose` to
    stop those retries (the receiver does on shutdown).
    """

    def __init__(
        self,
        journal: JournalLike,
        *,
        retry_delays: Sequence[float] = C.WEBHOOK_UNMATCHED_RETRY_DELAYS,
        max_pending: int = C.WEBHOOK_UNMATCHED_MAX_PENDING,
        suppression: SuppressionList | None = None,
        ledger: EventLedger | None = None,
    ) -> None:
        self.journal = journal
        # Shared by several receivers (e.g. in Redis): opt-outs and event ids go there instead.
        self.suppression: SuppressionList = journal if suppression is None else suppression
        self.ledger: EventLedger = journal if ledger is None else ledger
        self._retry_delays = tuple(retry_delays)
        self._max_pending = max_pending
        self._retries: set[asyncio.Task[bool]] = set()

    @property
    def pending(self) -> int:
        """Unmatched deliveries still being retried."""
        return len(self._retries)

    async def delivery(self, event: DeliveryEvent) -> bool:
        """Update the recipient row sent as ``event.message_id``; False if no row has that id."""
        if not event.message_id:
            return False
        if await self._record(event):
            return True
        if self._retry_delays and len(self._retries) < self._max_pending:
            task = asyncio.create_task(self._retry(event), name="smsbridge-delivery-retry")
            self._retries.add(task)
            task.add_done_callback(self._retries.discard)
        return False

    async def _record(self, event: DeliveryEvent) -> bool:
        assert event.message_id is not None
        return bool(
            await resolve(
                self.journal.record_delivery(
                    event.provider,
                    event.message_id,
                    event.status,
                    raw_status=event.raw_status,
                    occurred_at=event.occurred_at,
                    error_code=event.error_code,
                    to=event.to,
                )
            )
        )

    async def _retry(self, event: DeliveryEvent) -> bool:
        try:
            for delay in self._retry_delays:
                await asyncio.sleep(delay)
                if await self._record(event):
                    return True
        except Exception:  # a background task: log, never raise into the void
            logger.exception("recording a delayed delivery event in the journal failed")
            return False
        logger.debug(
            "delivery event for %s message %s matches no journaled recipient",
            event.provider,
            event.message_id,
        )
        return False

    async def settle(self) -> None:
        """Wait until every retried delivery has matched a recipient or given up."""
        while self._retries:
            await asyncio.gather(*self._retries, return_exceptions=True)

    async def aclose(self) -> None:
        """Stop retrying unmatched deliveries."""
        for task in self._retries:
            task.cancel()
        await asyncio.gather(*self._retries, return_exceptions=True)

    async def opt_out(self, event: OptOutEvent) -> None:
        """Apply an opt-out or opt-in at the event's own time (see :func:`apply_opt_out`)."""
        await apply_opt_out(self.suppression, event)

    async def mark_event_seen(self, event_id: str) -> bool:
        return bool(await resolve(self.ledger.mark_event_seen(event_id)))

    async def forget_event(self, event_id: str) -> None:
        """Undo ``mark_event_seen`` after a failed handler so the provider's retry is applied."""
        await resolve(self.ledger.forget_event(event_id))


_Key = tuple[str, str]
_Waiter = tuple[Collection[DeliveryStatus], "asyncio.Future[DeliveryEvent]"]


class DeliveryTracker:
    """Resolves waiters when a delivery event for their message arrives.

    Events that arrive before anyone waits (a fast carrier) are remembered, the most recent
    ``memory`` messages' latest event each, so ``wait`` after the fact returns at once. A final
    status is never replaced by a late, out-of-order intermediate one.
    """

    def __init__(self, *, memory: int = C.DELIVERY_TRACKER_MEMORY) -> None:
        if memory < 1:
            raise ConfigurationError("DeliveryTracker memory must be at least 1")
        self._memory = memory
        self._latest: OrderedDict[_Key, DeliveryEvent] = OrderedDict()
        self._waiters: dict[_Key, list[_Waiter]] = {}

    def __call__(self, event: DeliveryEvent) -> None:
        self.record(event)

    def record(self, event: DeliveryEvent) -> None:
        if not event.message_id:
            return
        key = (event.provider, event.message_id)
        previous = self._latest.get(key)
        if previous is None or not previous.status.is_final or event.status.is_final:
            self._latest[key] = event
        self._latest.move_to_end(key)
        if len(self._latest) > self._memory:
            self._latest.popitem(last=False)
        waiters = self._waiters.get(key)
        if not waiters:
            return
        remaining = []
        for until, future in waiters:
            if future.done():
                continue
            if event.status in until:
                future.set_result(event)
            else:
                remaining.append((until, future))
        if remaining:
            self._waiters[key] = remaining
        else:
            del self._waiters[key]

    def latest(self, provider: str, message_id: str) -> DeliveryEvent | None:
        """The latest event seen for a message (final ones win), if it is still remembered."""
        return self._latest.get((provider, message_id))

    async def wait(
        self,
        receipt: Receipt,
        timeout: float | None = C.DELIVERY_WAIT_TIMEOUT,  # noqa: ASYNC109 - the documented API
        *,
        until: Collection[DeliveryStatus] = FINAL_STATUSES,
    ) -> DeliveryEvent:
        """Wait for a final status (delivered / failed) of the message behind ``receipt``.

        ``until`` widens or narrows what counts (e.g. add ``DeliveryStatus.UNKNOWN`` to stop at a
        TextUs ``message.unknown``). Raises :class:`DeliveryTimeoutError` after ``timeout``
        seconds (None waits forever); its ``last_event`` is the latest non-final event seen.
        """
        if not receipt.message_id:
            raise InvalidMessage(
                f"this {receipt.provider} receipt has no message id (a native batch or saved-reply "
                "send returns none), so its delivery cannot be tracked; send to one recipient "
                "without saved_reply to get a trackable id"
            )
        return await self.wait_for(receipt.provider, receipt.message_id, timeout, until=until)

    async def wait_for(
        self,
        provider: str,
        message_id: str,
        timeout: float | None = C.DELIVERY_WAIT_TIMEOUT,  # noqa: ASYNC109 - the documented API
        *,
        until: Collection[DeliveryStatus] = FINAL_STATUSES,
    ) -> DeliveryEvent:
        """Like :meth:`wait`, for a provider name and message id."""
        key = (provider, message_id)
        known = self._latest.get(key)
        if known is not None and known.status in until:
            return known
        future: asyncio.Future[DeliveryEvent] = asyncio.get_running_loop().create_future()
        entry: _Waiter = (until, future)
        self._waiters.setdefault(key, []).append(entry)
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            last = self._latest.get(key)
            seen = f"last status seen: {last.raw_status or last.status}" if last else "no event"
            raise DeliveryTimeoutError(
                f"no final delivery status for {provider} message {message_id} within "
                f"{timeout:g}s ({seen}); check that the provider can reach the webhook receiver "
                "and that delivery events are enabled",
                message_id=message_id,
                last_event=last,
            ) from None
        finally:
            waiters = self._waiters.get(key)
            if waiters is not None and entry in waiters:
                waiters.remove(entry)
                if not waiters:
                    del self._waiters[key]
