"""The optional one-time confirmation text sent when a number opts out.

Carriers expect a short reply to STOP ("You are unsubscribed..."). :class:`OptOutReply` sends it
through the provider the opt-out came from, at most once per number per opt-out, and never to a
number that had already opted out: :class:`~smsbridge.webhooks.core.EventRouter` calls it only
when the opt-out newly applied to its suppression list, and the reply claims
``opt-out-reply:<number>`` in the event ledger first (shared in Redis or the journal, so two
receivers never both confirm). An opt-in releases the claim, so a later opt-out is confirmed
again. It is a transactional text: it is sent directly, not through a job, so it is never
journaled or counted as a marketing send, and the suppression list does not stop it.
"""

from __future__ import annotations

from collections.abc import Sequence

from .._logging import logger
from ..errors import ConfigurationError, InvalidPhoneNumber, SmsBridgeError
from ..journal.protocol import EventLedger, resolve
from ..models import Message, OptOutEvent
from ..phone import mask, normalize
from ..protocol import MessagingProvider

__all__ = ["DEFAULT_OPT_OUT_REPLY", "OptOutReply"]

DEFAULT_OPT_OUT_REPLY = (
    "You have been unsubscribed and will receive no more messages from us. Reply START to "
    "subscribe again."
)
_KEY = "opt-out-reply:"


class OptOutReply:
    """Confirm each opt-out once, through the provider it came from.

    ``providers``: the provider(s) to reply through, matched by ``name`` to the opt-out's
    provider (an opt-out from a provider not given is not confirmed, and a warning says so).
    ``text``: the confirmation (default :data:`DEFAULT_OPT_OUT_REPLY`). ``sender``: the number to
    reply from (provider-specific; default the provider's own).
    """

    def __init__(
        self,
        providers: MessagingProvider | Sequence[MessagingProvider],
        text: str = DEFAULT_OPT_OUT_REPLY,
        *,
        sender: str | None = None,
    ) -> None:
        listed = (providers,) if isinstance(providers, MessagingProvider) else tuple(providers)
        if not listed or not all(isinstance(p, MessagingProvider) for p in listed):
            raise ConfigurationError("OptOutReply needs at least one MessagingProvider")
        if not isinstance(text, str) or not text.strip():
            raise ConfigurationError("the opt-out confirmation text must not be empty")
        self._providers = {p.name: p for p in listed}
        self.text = text
        self.sender = sender
        # Without a shared ledger: numbers confirmed by this process.
        self._local: set[str] = set()
        self.sent = 0

    def __repr__(self) -> str:
        return f"OptOutReply(providers={sorted(self._providers)!r})"

    async def confirm(self, event: OptOutEvent, ledger: EventLedger | None) -> bool:
        """Send the confirmation unless this opt-out was already confirmed; True when sent."""
        provider = self._providers.get(event.provider)
        if provider is None:
            logger.warning("no provider %r given to OptOutReply: the opt-out of %s is not "
                           "confirmed", event.provider, mask(event.phone))
            return False
        try:
            phone = normalize(event.phone)
        except InvalidPhoneNumber:
            return False
        if not await self._claim(phone, ledger):
            return False
        try:
            await provider.send(Message(to=[phone], body=self.text, sender=self.sender))
        except SmsBridgeError as exc:
            # Not retried: a second text to someone who just said STOP is the worse mistake.
            logger.warning("the opt-out confirmation to %s failed: %s", mask(phone), exc)
            return False
        self.sent += 1
        logger.info("confirmed the opt-out of %s via %s", mask(phone), provider.name)
        return True

    async def reset(self, phone: str, ledger: EventLedger | None) -> None:
        """The number opted back in: its next opt-out is confirmed again."""
        try:
            phone = normalize(phone)
        except InvalidPhoneNumber:
            return
        self._local.discard(phone)
        if ledger is not None:
            await resolve(ledger.forget_event(_KEY + phone))

    async def _claim(self, phone: str, ledger: EventLedger | None) -> bool:
        if ledger is not None:
            return bool(await resolve(ledger.mark_event_seen(_KEY + phone)))
        if phone in self._local:
            return False
        self._local.add(phone)
        return True
