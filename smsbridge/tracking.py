"""Where a message went after it was accepted: the delivery tracker and the journal sink.

:class:`DeliveryTracker` lets code await a final status for a :class:`Receipt`
(``await tracker.wait(receipt, timeout=30)``); :class:`JournalSink` writes delivery events and
opt-outs into the send journal, so ``Journal.report()`` counts delivered / failed / awaiting and
the dispatcher skips opted-out numbers. Both are fed by ``webhooks.EventRouter``.
"""

from __future__ import annotations

import asyncio
import inspect
from collections import OrderedDict
from collections.abc import Collection
from datetime import datetime
from typing import Any, Protocol

from . import _constants as C
from ._logging import logger
from .errors import ConfigurationError, DeliveryTimeoutError, InvalidMessage
from .models import DeliveryEvent, DeliveryStatus, OptOutEvent, Receipt
from .phone import mask

__all__ = ["FINAL_STATUSES", "DeliveryTracker", "JournalLike", "JournalSink"]

FINAL_STATUSES: frozenset[DeliveryStatus] = frozenset(s for s in DeliveryStatus if s.is_final)


class JournalLike(Protocol):
    """The part of ``smsbridge.journal.Journal`` webhooks use (sync or async methods)."""

    def record_delivery(
        self,
        provider: str,
        message_id: str,
        status: DeliveryStatus,
        *,
        raw_status: str | None = ...,
        occurred_at: datetime | None = ...,
        error_code: str | None = ...,
    ) -> Any: ...

    def mark_event_seen(self, event_id: str) -> Any: ...

    def suppress(self, phone: str, *, reason: str = ..., source: str | None = ...) -> Any: ...

    def unsuppress(self, phone: str) -> Any: ...


async def _resolve(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


class JournalSink:
    """Applies webhook events to a journal. Works with sync and async journal methods."""

    def __init__(self, journal: JournalLike) -> None:
        self.journal = journal

    async def delivery(self, event: DeliveryEvent) -> bool:
        """Update the recipient row sent as ``event.message_id``; False if no row has that id."""
        if not event.message_id:
            return False
        matched = bool(
            await _resolve(
                self.journal.record_delivery(
                    event.provider,
                    event.message_id,
                    event.status,
                    raw_status=event.raw_status,
                    occurred_at=event.occurred_at,
                    error_code=event.error_code,
                )
            )
        )
        if not matched:
            logger.debug(
                "delivery event for %s message %s matches no journaled recipient",
                event.provider,
                event.message_id,
            )
        return matched

    async def opt_out(self, event: OptOutEvent) -> None:
        if event.opted_out:
            source = f"{event.provider}:{event.source}"
            await _resolve(self.journal.suppress(event.phone, reason="opted_out", source=source))
            logger.info("suppressed %s (%s opt-out)", mask(event.phone), source)
        else:
            await _resolve(self.journal.unsuppress(event.phone))
            logger.info("unsuppressed %s (%s opt-in)", mask(event.phone), event.provider)

    async def mark_event_seen(self, event_id: str) -> bool:
        return bool(await _resolve(self.journal.mark_event_seen(event_id)))

    async def forget_event(self, event_id: str) -> None:
        """Undo ``mark_event_seen`` after a failed handler so the provider's retry is applied."""
        forget = getattr(self.journal, "forget_event", None)
        if forget is None:
            logger.warning(
                "webhook event %s failed but the journal cannot forget it; "
                "a retry of it will be treated as a duplicate",
                event_id,
            )
            return
        await _resolve(forget(event_id))


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
