"""Framework-agnostic webhook core: normalised events, de-duplication, parse dispatch, routing.

Each provider's ``webhooks`` module verifies and parses its own wire format into the events
below; :class:`EventRouter` applies them exactly once (webhooks arrive at least once) to the
journal, the delivery tracker and the user's handlers. ``webhooks.server.WebhookReceiver`` is the
thin ``aiohttp.web`` adapter on top; any other framework can call :func:`parse_webhook` and
:meth:`EventRouter.dispatch` directly.
"""

from __future__ import annotations

import hmac
import inspect
import json
import re
import secrets as _secrets
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

import attrs

from .. import _constants as C
from .._logging import logger
from ..compliance.keywords import InboundKind, classify_inbound, match_keyword
from ..errors import ConfigurationError, InvalidPhoneNumber, SmsBridgeError, WebhookPayloadError
from ..journal.protocol import EventLedger, SuppressionList, resolve
from ..models import _EMPTY, DeliveryEvent, InboundMessage, OptOutEvent
from ..phone import normalize
from ..registry import webhook_route
from .replies import OptOutReply
from .tracking import DeliveryTracker, JournalLike, JournalSink, apply_opt_out


@attrs.frozen(slots=True)
class WebhookEvent:
    """Any other provider event (a call completed, a contact created, an unknown action)."""

    provider: str
    action: str
    event_id: str | None = None
    occurred_at: datetime | None = None
    raw: Mapping[str, Any] = attrs.field(default=_EMPTY, repr=False)


Event = DeliveryEvent | InboundMessage | OptOutEvent | WebhookEvent
Handler = Callable[[Any], Awaitable[object] | object]

def parse_webhook(
    provider: str,
    body: bytes,
    headers: Mapping[str, str] | None = None,
    *,
    secrets: Sequence[str] = (),
) -> list[Event]:
    """Verify (where the provider signs) and parse one webhook request body into events.

    ``headers`` must be case-insensitive (every web framework's header mapping is) or use the
    canonical spelling. TextUs needs ``secrets`` (its integration ``webhookSecret``s); TrackDrive
    posts are unsigned, so guard that URL with a secret path token (see ``WebhookReceiver``).
    Raises ``WebhookSignatureError`` (answer 401) or ``WebhookPayloadError`` (answer 400).
    """
    result: list[Event] = webhook_route(provider).parse(body, headers or {}, secrets=secrets)
    return result


MIN_TOKEN_LENGTH = 22  # ~128 bits of token_urlsafe output
_TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]+")


def new_token() -> str:
    """A fresh unguessable path token for an unsigned provider's webhook URL."""
    return _secrets.token_urlsafe(C.WEBHOOK_TOKEN_BYTES)


def validate_token(token: str) -> str:
    """Return ``token`` if it is long and URL-path safe; raise ConfigurationError otherwise."""
    if not isinstance(token, str) or not _TOKEN_PATTERN.fullmatch(token):
        raise ConfigurationError(
            "trackdrive_token must be URL-safe ([A-Za-z0-9_-]); generate one with "
            "smsbridge.providers.trackdrive.webhooks.new_token()"
        )
    if len(token) < MIN_TOKEN_LENGTH:
        raise ConfigurationError(
            f"trackdrive_token is too short to be unguessable (need at least {MIN_TOKEN_LENGTH} "
            "characters); generate one with new_token()"
        )
    return token


def check_token(given: str, expected: str) -> bool:
    """Constant-time comparison of a path token with the configured one."""
    return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode("utf-8"))


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header from a case-insensitive mapping, or from a plain dict with any key case."""
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    return next((v for k, v in headers.items() if k.lower() == lowered), None)


def json_object(text: bytes | str, what: str) -> Mapping[str, Any]:
    """Parse a webhook body that must be a JSON object; WebhookPayloadError otherwise."""
    too_deep = False
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError):
        raise WebhookPayloadError(f"the {what} webhook body is not valid JSON") from None
    except RecursionError:  # nesting deeper than the parser's stack: hostile, not a server fault
        too_deep = True
    if too_deep or _depth_exceeds(data, C.WEBHOOK_MAX_JSON_DEPTH):
        raise WebhookPayloadError(
            f"the {what} webhook body nests JSON deeper than {C.WEBHOOK_MAX_JSON_DEPTH} levels; "
            "no provider sends that"
        )
    if not isinstance(data, Mapping):
        raise WebhookPayloadError(f"the {what} webhook body is not a JSON object")
    return data


def _depth_exceeds(data: Any, limit: int) -> bool:
    """True when objects and arrays nest more than ``limit`` deep. Iterative, so a hostile body
    cannot exhaust the stack here (or later, in code that walks the payload recursively)."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def text_or_none(value: Any) -> str | None:
    """A scalar payload value as stripped text; None for missing, empty, objects and lists."""
    if value is None or isinstance(value, Mapping | list | bool):
        return None
    text = str(value).strip()
    return text or None


def e164_or_raw(number: object) -> str | None:
    """Webhook numbers in E.164 when they parse (so they match the journal), else as sent."""
    if not isinstance(number, str) or not number.strip():
        return None
    try:
        return normalize(number)
    except InvalidPhoneNumber:
        return number.strip()


def keyword_opt_out(message: InboundMessage) -> OptOutEvent | None:
    """The opt-out (STOP, REVOKE, "opt out"...) or opt-in (START, UNSTOP, YES) a message is.

    Only a message that *is* the keyword counts ("stop", " STOP! ", "Opt-Out"), not one that
    contains it ("don't stop texting me"); the words are the one table in
    ``smsbridge.compliance.keywords``.
    """
    if not message.sender:
        return None
    match = match_keyword(message.body)
    if match is None or match.kind not in (InboundKind.OPT_OUT, InboundKind.OPT_IN):
        return None
    opted_out = match.kind is InboundKind.OPT_OUT
    keyword = match.keyword
    return OptOutEvent(
        provider=message.provider,
        phone=message.sender,
        opted_out=opted_out,
        occurred_at=message.received_at,
        event_id=f"{message.event_id}#keyword" if message.event_id else None,
        source="keyword",
        keyword=keyword,
        raw=message.raw,
    )


class Deduplicator(Protocol):
    """Claims an event id before it is applied; releases it if applying failed."""

    async def claim(self, event_id: str) -> bool: ...

    async def release(self, event_id: str) -> None: ...


class MemoryDeduplicator:
    """Bounded LRU of applied event ids plus the ids being applied right now."""

    def __init__(self, maxsize: int = C.WEBHOOK_DEDUP_SIZE) -> None:
        if maxsize < 1:
            raise ConfigurationError("the de-duplication memory needs room for at least one id")
        self._maxsize = maxsize
        self._seen: OrderedDict[str, None] = OrderedDict()

    def __len__(self) -> int:
        return len(self._seen)

    async def claim(self, event_id: str) -> bool:
        if event_id in self._seen:
            self._seen.move_to_end(event_id)
            return False
        self._seen[event_id] = None
        if len(self._seen) > self._maxsize:
            self._seen.popitem(last=False)
        return True

    async def release(self, event_id: str) -> None:
        self._seen.pop(event_id, None)


class JournalDeduplicator:
    """Memory first (cheap, catches concurrent duplicates), then the ledger (the journal, or a
    store shared by every receiver: survives restarts, and sees the other receivers' events)."""

    def __init__(self, ledger: EventLedger, memory: MemoryDeduplicator) -> None:
        self._ledger = ledger
        self._memory = memory

    async def claim(self, event_id: str) -> bool:
        if not await self._memory.claim(event_id):
            return False
        try:
            # False: seen before a restart (or by another receiver); the memory keeps it from now.
            return bool(await resolve(self._ledger.mark_event_seen(event_id)))
        except BaseException:
            # Not recorded (a shared ledger away): the provider's retry must find it unclaimed
            # here too, or a redelivered STOP would be dropped as a duplicate.
            await self._memory.release(event_id)
            raise

    async def release(self, event_id: str) -> None:
        await self._memory.release(event_id)
        await resolve(self._ledger.forget_event(event_id))

    async def confirm(self, event_id: str) -> None:
        """The event was applied. A ledger whose claims lapse (``RedisEventLedger``) keeps it
        now; one whose marks are final (the journal) has nothing to do."""
        confirm = getattr(self._ledger, "confirm_event", None)
        if confirm is not None:
            await resolve(confirm(event_id))


async def call_handler(handler: Handler | None, event: object) -> None:
    """Call a user handler that may be sync or async."""
    if handler is None:
        return
    result = handler(event)
    if inspect.isawaitable(result):
        await result


class EventRouter:
    """Applies parsed events once each: journal, tracker, then the user's handlers.

    With a journal, a delivery updates the recipient row it belongs to, an opt-out (or an
    inbound STOP-style keyword) updates the suppression list the dispatcher honours, and event
    ids are remembered in the journal so replays after a restart are ignored too.
    ``suppression`` and ``ledger`` (e.g. in Redis, shared by every receiver and dispatcher)
    take the opt-outs and the event ids instead of the journal, with or without one.
    ``on_help``: called with each inbound HELP / INFO message (their own kind: neither an
    opt-out nor an opt-in); ``on_inbound`` still sees every inbound message.
    ``opt_out_reply``: an :class:`OptOutReply` sends one confirmation text per opt-out (needs
    a journal or ``suppression``, to know who had opted out before).
    """

    def __init__(
        self,
        *,
        on_delivery: Handler | None = None,
        on_inbound: Handler | None = None,
        on_opt_out: Handler | None = None,
        on_event: Handler | None = None,
        journal: JournalLike | None = None,
        tracker: DeliveryTracker | None = None,
        dedup: Deduplicator | None = None,
        suppression: SuppressionList | None = None,
        ledger: EventLedger | None = None,
        on_help: Handler | None = None,
        opt_out_reply: OptOutReply | None = None,
    ) -> None:
        self.on_delivery = on_delivery
        self.on_help = on_help
        self.on_inbound = on_inbound
        self.on_opt_out = on_opt_out
        self.on_event = on_event
        self.tracker = tracker if tracker is not None else DeliveryTracker()
        self._sink = None if journal is None else JournalSink(
            journal, suppression=suppression, ledger=ledger)
        self._suppression = suppression if self._sink is None else self._sink.suppression
        events_ledger = ledger if self._sink is None else self._sink.ledger
        if dedup is None:
            memory = MemoryDeduplicator()
            dedup = memory if events_ledger is None else JournalDeduplicator(events_ledger, memory)
        self._dedup = dedup
        if opt_out_reply is not None and not isinstance(opt_out_reply, OptOutReply):
            raise ConfigurationError("opt_out_reply must be an OptOutReply or None")
        if opt_out_reply is not None and self._suppression is None:
            raise ConfigurationError(
                "opt_out_reply needs a journal or suppression=: without a suppression list "
                "nothing tells a first opt-out from a repeated one, and a number that opted "
                "out before must not be texted again")
        self._reply = opt_out_reply
        # Where "this opt-out was confirmed" is recorded: shared (Redis, journal) when there is
        # a ledger, so two receivers never both confirm.
        self._reply_ledger = events_ledger

    async def dispatch(self, events: Iterable[Event]) -> int:
        """Apply each event not seen before; returns how many were applied (not duplicates).

        If a handler raises, the event id is released so the provider's retry applies it again,
        and the exception propagates (a receiver answers 500 so the provider retries).
        """
        applied = 0
        for event in events:
            event_id = event.event_id
            if event_id is not None and not await self._dedup.claim(event_id):
                logger.debug("webhook event %s already applied; ignoring the replay", event_id)
                continue
            try:
                await self._apply(event)
            except BaseException:
                if event_id is not None:
                    await self._dedup.release(event_id)
                raise
            applied += 1
            confirm = getattr(self._dedup, "confirm", None)
            if event_id is not None and confirm is not None:
                try:
                    await confirm(event_id)
                except SmsBridgeError as exc:  # applied already: a lapsed claim re-applies it
                    logger.warning("webhook event applied but its de-dup record was not kept "
                                   "(%s); a redelivery may apply it again", type(exc).__name__)
        return applied

    @property
    def journal_sink(self) -> JournalSink | None:
        return self._sink

    async def settle(self) -> None:
        """Wait until deliveries that beat their journal row have been recorded or given up."""
        if self._sink is not None:
            await self._sink.settle()

    async def aclose(self) -> None:
        """Stop background work (retries of deliveries not yet matched in the journal)."""
        if self._sink is not None:
            await self._sink.aclose()

    async def _apply(self, event: Event) -> None:
        if isinstance(event, DeliveryEvent):
            if self._sink is not None:
                await self._sink.delivery(event)
            self.tracker.record(event)
            await call_handler(self.on_delivery, event)
        elif isinstance(event, InboundMessage):
            await call_handler(self.on_inbound, event)
            if self.on_help is not None and classify_inbound(event.body) is InboundKind.HELP:
                await call_handler(self.on_help, event)
            opt = keyword_opt_out(event)
            if opt is not None:
                await self._apply_opt_out(opt)
        elif isinstance(event, OptOutEvent):
            await self._apply_opt_out(event)
        else:
            await call_handler(self.on_event, event)

    async def _apply_opt_out(self, event: OptOutEvent) -> None:
        suppression = self._suppression
        reply = self._reply
        opted_out_before = True
        if reply is not None and suppression is not None and event.opted_out:
            try:
                opted_out_before = bool(await resolve(suppression.is_suppressed(event.phone)))
            except InvalidPhoneNumber:
                opted_out_before = True  # nothing we could text anyway
        applied = False
        if suppression is not None:
            applied = await apply_opt_out(suppression, event)
        await call_handler(self.on_opt_out, event)
        if reply is not None and applied:
            if event.opted_out and not opted_out_before:
                await reply.confirm(event, self._reply_ledger)
            elif not event.opted_out:
                await reply.reset(event.phone, self._reply_ledger)
