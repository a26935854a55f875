"""``provider.messages``: send, send without an account, schedule, get and retry messages.

Every send is validated completely (numbers, body, options, attachments) before the request goes
out; :meth:`Messages.prepare` is the one place that turns a :class:`smsbridge.Message` into a
TextUs request, shared by ``provider.send()``, ``send_batch()`` and the methods here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs

from ..._convert import from_json
from ...errors import (
    APIError,
    AttachmentError,
    ConfigurationError,
    InvalidMessage,
    TransportError,
)
from ...models import Attachment, Receipt
from ...models import Message as OutgoingMessage
from ...phone import normalize
from ...protocol import SendContext
from ...transport.http import Response
from ._resource import Resource, Scope, parser
from ._validation import attachments_payload, check_size, numbers, scheduled_at_iso
from .models import Message

KNOWN_OPTIONS = frozenset({"saved_reply", "scheduled_at", "from", "email", "account", "extra"})
# A HEAD to a file host must not carry the TextUs token (or our media type).
_NO_CREDENTIALS: Mapping[str, str | None] = {
    "Authorization": None,
    "Accept": None,
    "Content-Type": None,
}
_SIZE_CACHE_LIMIT = 4096
# Documented answers: 201 with a Message (one recipient), 202 with no body (several).
_SEND_EXPECT = frozenset({201, 202})
# A file host may redirect (to a CDN): the size is then unknown, not an error.
_HEAD_EXPECT = frozenset(range(200, 400))


@attrs.define(slots=True)  # one per send: not "frozen", whose __init__ costs twice as much
class Outgoing:
    """A validated send: where it goes and the exact JSON body."""

    path: str
    payload: dict[str, Any] = attrs.field(repr=False)
    to: tuple[str, ...] = attrs.field(repr=False)
    scheduled: bool = False


class Messages(Resource):
    """The message endpoints. Methods return the TextUs :class:`Message`, or None for a 202."""

    def __init__(self, scope: Scope, *, verify_attachment_size: bool = False) -> None:
        super().__init__(scope)
        self.verify_attachment_size = verify_attachment_size
        self._sizes: dict[str, int | None] = {}

    async def send(
        self,
        to: str | Sequence[str],
        body: str = "",
        *,
        saved_reply: str | None = None,
        attachment: Attachment | None = None,
        sender: str | None = None,
        account: str | None = None,
    ) -> Message | None:
        """``POST /:account/messages``. A list ``to`` is one multi-recipient request (202)."""
        options = _options(saved_reply=saved_reply, account=account)
        message = _message(to, body, sender, attachment, options)
        return await self._send(message, batch=not isinstance(to, str))

    async def send_without_account(
        self,
        to: str | Sequence[str],
        body: str = "",
        *,
        sender: str | None = None,
        email: str | None = None,
        saved_reply: str | None = None,
        attachment: Attachment | None = None,
    ) -> Message | None:
        """``POST /messages``: TextUs picks the account from ``sender`` (``from``) or ``email``."""
        options = _options(saved_reply=saved_reply, email=email)
        message = _message(to, body, sender, attachment, options)
        return await self._send(message, batch=not isinstance(to, str), without_account=True)

    async def schedule(
        self,
        to: str | Sequence[str],
        body: str,
        scheduled_at: datetime | str,
        *,
        sender: str | None = None,
        attachment: Attachment | None = None,
        account: str | None = None,
    ) -> Message | None:
        """``POST /:account/messages/schedule``; ``scheduled_at`` is sent as UTC ISO-8601."""
        options = _options(scheduled_at=scheduled_at, account=account)
        message = _message(to, body, sender, attachment, options)
        return await self._send(message, batch=not isinstance(to, str))

    async def get(self, message: str | Message | Receipt) -> Message:
        """``GET /messages/:slug``; pass the slug, the IRI, a URL, a Message or the Receipt of
        a send (a batch or saved-reply receipt has no message id: ValidationError)."""
        return await self._object("GET", self._scope.iri(message, "messages"), parser(Message))

    async def retry(self, message: str | Message | Receipt) -> None:
        """``POST /messages/:slug/retry`` (202): allowed for failed, transient or unknown."""
        await self._http.request("POST", self._scope.iri(message, "messages") + "/retry",
                                 expect=frozenset({202}))

    def submit(
        self, outgoing: Outgoing, context: SendContext | None = None
    ) -> Awaitable[Response]:
        # Not a coroutine itself: the caller awaits the request directly (one frame less a send).
        return self._http.request("POST", outgoing.path, json_body=outgoing.payload,
                                  expect=_SEND_EXPECT, context=context, operation="send")

    async def prepare(
        self, message: OutgoingMessage, *, batch: bool, without_account: bool = False
    ) -> Outgoing:
        """Validate everything and build the request; raises before anything is sent."""
        options = message.options
        unknown = options.keys() - KNOWN_OPTIONS if options else None
        if unknown:
            raise InvalidMessage(
                f"unknown TextUs option(s) {sorted(unknown)}; known: {sorted(KNOWN_OPTIONS)} "
                "(put undocumented body fields in options={'extra': {...}})"
            )
        to = self._recipients(message, batch)
        saved_reply = options.get("saved_reply")
        # The documented saved-reply and attachment sends write ``to`` as a list even for one
        # recipient (``"to": ["+13035551234"]``); a plain single send writes it as a string.
        as_list = batch or bool(saved_reply) or bool(message.attachments)
        payload: dict[str, Any] = {"to": list(to) if as_list else to[0]}
        if not isinstance(message.body, str):
            raise InvalidMessage("the message body must be a string")
        if message.body.strip():
            payload["body"] = message.body
        elif not saved_reply:
            raise InvalidMessage(
                "the message body is empty; write a body, or send a saved reply with "
                "options={'saved_reply': '/saved_replies/<slug>'}"
            )
        self._sender_fields(message, payload)
        if saved_reply:
            payload["saved_reply"] = self._scope.iri(saved_reply, "saved_replies")
        if message.attachments:
            payload["attachments"] = attachments_payload(message.attachments)
        _merge_extra(payload, options.get("extra"))
        path, scheduled = self._route(payload, options, without_account)
        if message.attachments and self.verify_attachment_size:
            await self._verify_sizes(payload["attachments"])
        return Outgoing(path=path, payload=payload, to=to, scheduled=scheduled)

    def _recipients(self, message: OutgoingMessage, batch: bool) -> tuple[str, ...]:
        region = self._scope.region
        if not batch:
            return (normalize(message.recipient.phone, region),)
        if not message.to:
            raise InvalidMessage("the message has no recipients")
        if any(r.variables for r in message.to):
            raise InvalidMessage(
                "a multi-recipient TextUs send has one body for everyone, so recipient "
                "variables cannot be filled; use Dispatcher.send() for personalised bodies"
            )
        return numbers((r.phone for r in message.to), region, unique=True)

    def _sender_fields(self, message: OutgoingMessage, payload: dict[str, Any]) -> None:
        sender = message.sender or message.options.get("from")
        if sender:
            payload["from"] = normalize(sender, self._scope.region)
        email = message.options.get("email")
        if email is not None:
            if not isinstance(email, str) or "@" not in email.strip(" @"):
                raise InvalidMessage("options['email'] must be a TextUs user's email address")
            payload["email"] = email.strip()

    def _route(
        self, payload: dict[str, Any], options: Mapping[str, Any], without_account: bool
    ) -> tuple[str, bool]:
        account = None if without_account else options.get("account")
        scheduled_at = options.get("scheduled_at")
        if scheduled_at is not None:
            payload["scheduled_at"] = scheduled_at_iso(scheduled_at)
            if without_account:
                raise InvalidMessage("TextUs schedules messages only from an account")
            return self._scope.account_path("/messages/schedule", account), True
        if not without_account and (account or self._scope.account):
            return self._scope.account_path("/messages", account), False
        if "from" in payload or "email" in payload:
            return "/messages", False
        if without_account:
            raise InvalidMessage(
                "sending without an account needs sender=... (a number of one of your TextUs "
                "accounts) or email=... (a TextUs user's email)"
            )
        raise ConfigurationError(
            "TextUs needs to know the sending account: pass account=... to TextUsProvider(), "
            "or give the message a sender number or options={'email': ...}"
        )

    async def _verify_sizes(self, items: list[dict[str, str]]) -> None:
        for item in items:
            url = item["media_url"]
            if url not in self._sizes:
                if len(self._sizes) >= _SIZE_CACHE_LIMIT:
                    self._sizes.clear()
                self._sizes[url] = await self._remote_size(url)
            check_size(self._sizes[url])

    async def _remote_size(self, url: str) -> int | None:
        """``Content-Length`` from a HEAD on the public URL (None when the host does not say)."""
        where = url.split("?", 1)[0][:80]
        try:
            response = await self._http.request(
                "HEAD", url, headers=_NO_CREDENTIALS, expect=_HEAD_EXPECT)
        except APIError as exc:
            raise AttachmentError(
                f"the attachment URL {where} answered HTTP {exc.status} to a HEAD request; "
                "media_url must be a public URL TextUs can download"
            ) from exc
        except TransportError as exc:
            raise AttachmentError(
                f"could not reach the attachment URL {where} to check its size "
                f"({type(exc).__name__}); check the URL or pass verify_attachment_size=False"
            ) from exc
        if response.status >= 300:
            return None
        length = response.headers.get("Content-Length", "")
        return int(length) if length.isdigit() else None

    async def _send(
        self, message: OutgoingMessage, *, batch: bool, without_account: bool = False
    ) -> Message | None:
        outgoing = await self.prepare(message, batch=batch, without_account=without_account)
        body = (await self.submit(outgoing)).json()
        return from_json(Message, body) if isinstance(body, Mapping) else None


def _options(**values: Any) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


def _message(
    to: str | Sequence[str],
    body: str,
    sender: str | None,
    attachment: Attachment | None,
    options: Mapping[str, Any],
) -> OutgoingMessage:
    attachments = (attachment,) if attachment is not None else ()
    return OutgoingMessage(
        to=to, body=body, sender=sender, attachments=attachments, options=options
    )


def _merge_extra(payload: dict[str, Any], extra: Any) -> None:
    if not extra:
        return
    if not isinstance(extra, Mapping):
        raise InvalidMessage("options['extra'] must be a mapping of extra body fields")
    clash = sorted(set(extra) & set(payload))
    if clash:
        raise InvalidMessage(f"options['extra'] may not override validated fields {clash}")
    payload.update(extra)
