"""TextUs's data and behaviour: messages and their delivery states, conversations, contacts,
opt-outs and webhook integrations, and the signed ``WebhookDelivery`` posts it fires.

Shapes follow reference/textus-api.md (JSON-LD keys, root-relative IRIs, camelCase fields).
Tests and the demo drive inbound traffic with :meth:`TextUsState.receive`, :meth:`opt_out` and
:meth:`opt_in`, which fire the same webhooks a real account would.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import html
import random
from collections.abc import Iterable, Mapping
from typing import Any

from .._constants import TEXTUS_MEDIA_TYPE, TEXTUS_WEBHOOK_EVENT_ORDER, TEXTUS_WEBHOOK_EVENTS
from ._web import JSON, Ids, dumps, national, now_ms
from .delivery import Lifecycle, WebhookSender

TOKEN = "sandbox-textus-token"
ACCOUNT = "sandbox"
ACCOUNT_PHONE = "+13035550100"
USER_EMAIL = "sandbox@example.com"
MEDIA_TYPE = TEXTUS_MEDIA_TYPE
ACTIONS = TEXTUS_WEBHOOK_EVENTS
RETRYABLE_STATES = frozenset({"failed", "failed_transient", "unknown"})
_PENDING_STATES = frozenset({"queued", "scheduled"})
_STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
_START_WORDS = frozenset({"START", "UNSTOP"})
_FRIENDLY = {
    "queued": "Message Queued",
    "scheduled": "Message Scheduled",
    "delivered": "Message Delivered",
    "failed": "Message Failed",
    "received": "Inbound Message Received",
}


class Conversation:
    __slots__ = ("created", "iri", "messages", "phone", "slug")

    def __init__(self, slug: str, phone: str) -> None:
        self.slug = slug
        self.iri = f"/conversations/{slug}"
        self.phone = phone
        self.messages: list[str] = []  # message slugs, oldest first
        self.created = now_ms()


class TextUsMessage:
    __slots__ = (
        "attachments", "body", "conversation", "created", "direction", "flags", "iri",
        "sender", "slug", "state", "to", "updated",
    )

    def __init__(
        self,
        slug: str,
        to: str,
        body: str,
        conversation: Conversation,
        *,
        state: str = "queued",
        direction: str = "out",
        sender: str | None = None,
        attachments: tuple[JSON, ...] = (),
        flags: tuple[str, ...] = (),
    ) -> None:
        self.slug = slug
        self.iri = f"/messages/{slug}"
        self.to = to  # the contact's number (the sender of an inbound message)
        self.body = body
        self.conversation = conversation
        self.state = state
        self.direction = direction
        self.sender = sender
        self.attachments = attachments
        self.flags = flags
        self.created = self.updated = now_ms()

    def to_json(self) -> JSON:
        state = self.state
        retryable = state in RETRYABLE_STATES
        iri = self.iri
        return {
            "@type": "Message",
            "@context": "/contexts/Message.jsonld",
            "id": iri,
            "direction": self.direction,
            "body": self.body,
            "formattedBody": f"<div>{html.escape(self.body)}</div>",
            "displayTimestamp": self.created,
            "timelinePosition": self.created,
            "deliveryState": state,
            "status": state,
            "friendlyStateDescription": _FRIENDLY.get(state, state.replace("_", " ").title()),
            "retryAllowed": retryable,
            "retry": f"{iri}/retry" if retryable else None,
            "latestEventAt": self.updated,
            "flags": list(self.flags),
            "source": "api",
            "channel": "sms",
            "conversation": self.conversation.iri,
            "sender": self.sender,
            "attachments": {
                "@context": "/contexts/hydra:Collection.jsonld",
                "@type": "hydra:Collection",
                "id": f"{iri}/attachments",
                "members": list(self.attachments),
                "totalItems": len(self.attachments),
            },
        }


class Integration:
    __slots__ = ("actions", "active", "created", "iri", "secret", "slug", "url")

    def __init__(self, slug: str, url: str, actions: tuple[str, ...], secret: str, active: bool):
        self.slug = slug
        self.iri = f"/integrations/{slug}"
        self.url = url
        self.actions = actions
        self.secret = secret
        self.active = active
        self.created = now_ms()

    def to_json(self) -> JSON:
        return {
            "@type": "Integration",
            "@context": "/contexts/Integration.jsonld",
            "id": self.iri,
            "provider": "webhook",
            "active": self.active,
            "isHealthy": True,
            "category": "webhook",
            "config": {"baseUrl": self.url, "webhookSecret": self.secret},
            # As documented: the secret under config, the actions as on/off flags.
            "settings": {"actions": {a: a in self.actions for a in TEXTUS_WEBHOOK_EVENT_ORDER}},
            "account": f"/accounts/{ACCOUNT}",
            "createdAt": self.created,
        }


class TextUsState:
    """Everything the emulated TextUs account holds (``sb.textus``)."""

    def __init__(
        self,
        ids: Ids,
        rng: random.Random,
        lifecycle: Lifecycle,
        sender: WebhookSender,
        *,
        delivery_delay: float,
        failure_ratio: float,
        page_size: int = 25,
    ) -> None:
        self._ids = ids
        self._rng = rng
        self._lifecycle = lifecycle
        self._sender = sender
        self.delivery_delay = delivery_delay
        self.failure_ratio = failure_ratio
        self.page_size = page_size
        self.token = TOKEN
        self.account_slug = ACCOUNT
        self.phone_number = ACCOUNT_PHONE
        self.user_email = USER_EMAIL
        self.user_iri = f"/users/{ids.slug()}"
        self.messages: dict[str, TextUsMessage] = {}
        self.conversations: dict[str, Conversation] = {}
        self._by_phone: dict[str, Conversation] = {}
        self.contacts: dict[str, JSON] = {}
        self.opt_outs: dict[str, JSON] = {}
        self.integrations: dict[str, Integration] = {}
        self._subscribed: frozenset[str] = frozenset()

    # --- accounts
    def account_json(self) -> JSON:
        slug = self.account_slug
        return {
            "@type": "Account",
            "@context": "/contexts/Account.jsonld",
            "id": f"/accounts/{slug}",
            "name": "Sandbox",
            "slug": slug,
            "type": "standard",
            "multiUser": False,
            "logo": None,
            "phoneNumbers": [national(self.phone_number)],
            "effectiveRole": "admin",
            "messagingRestricted": False,
            "contactsEnabled": True,
            "childrenCount": 0,
            "familyCount": 1,
            "contacts": f"/{slug}/contacts",
            "conversations": f"/{slug}/conversations",
            "sendMessages": f"/{slug}/messages",
            "scheduleMessages": f"/{slug}/messages/schedule",
            "users": f"/{slug}/users",
        }

    # --- conversations and messages
    def conversation_for(self, phone: str) -> Conversation:
        conversation = self._by_phone.get(phone)
        if conversation is None:
            conversation = Conversation(self._ids.slug(), phone)
            self._by_phone[phone] = self.conversations[conversation.slug] = conversation
        return conversation

    def conversation_json(self, conversation: Conversation) -> JSON:
        slug = conversation.slug
        iri = conversation.iri
        latest = self.messages[conversation.messages[-1]] if conversation.messages else None
        return {
            "@type": "Conversation",
            "@context": "/contexts/Conversation.jsonld",
            "id": iri,
            "slug": slug,
            "phoneNumber": conversation.phone,
            "formattedPhoneNumber": national(conversation.phone),
            "currentState": "open",
            "unsubscribed": conversation.phone in self.opt_outs,
            "blocked": False,
            "unanswered": latest is not None and latest.direction == "in",
            "account": f"/accounts/{self.account_slug}",
            "accountPhoneNumber": self.phone_number,
            "formattedAccountPhoneNumber": national(self.phone_number),
            "timeline": f"{iri}/timeline",
            "readConversation": f"{iri}/read",
            "closeConversation": f"{iri}/close",
            "latestPreviewableItem": latest.to_json() if latest is not None else None,
        }

    def send(
        self,
        numbers: Iterable[str],
        body: str,
        *,
        attachments: tuple[JSON, ...] = (),
        scheduled_in: float | None = None,
    ) -> list[TextUsMessage]:
        """Store one outgoing message per number and start its delivery lifecycle."""
        state, flags = ("scheduled", ("scheduled",)) if scheduled_in is not None else ("queued", ())
        delay = self.delivery_delay + (scheduled_in or 0.0)
        created = []
        for number in numbers:
            conversation = self.conversation_for(number)
            message = TextUsMessage(
                self._ids.slug(), number, body, conversation, state=state,
                sender=self.user_iri, attachments=attachments, flags=flags,
            )
            self.messages[message.slug] = message
            conversation.messages.append(message.slug)
            self._lifecycle.call_later(delay, functools.partial(self._settle, message))
            created.append(message)
        return created

    def retry(self, message: TextUsMessage) -> None:
        message.state = "queued"
        message.updated = now_ms()
        self._lifecycle.call_later(self.delivery_delay, lambda: self._settle(message))

    def _settle(self, message: TextUsMessage) -> None:
        if message.state not in _PENDING_STATES:
            return
        failed = message.to in self.opt_outs or (
            self.failure_ratio > 0 and self._rng.random() < self.failure_ratio
        )
        message.state = "failed" if failed else "delivered"
        message.updated = now_ms()
        self._emit_message("message.failed" if failed else "message.delivered", message)

    def receive(self, phone: str, body: str) -> TextUsMessage:
        """Simulate an inbound text from ``phone`` (STOP / START keywords opt out / in)."""
        conversation = self.conversation_for(phone)
        message = TextUsMessage(self._ids.slug(), phone, body, conversation, state="received",
                                direction="in")
        self.messages[message.slug] = message
        conversation.messages.append(message.slug)
        self._emit_message("message.received", message)
        keyword = body.strip().upper()
        if keyword in _STOP_WORDS:
            self.opt_out(phone, via="Keyword")
        elif keyword in _START_WORDS:
            self.opt_in(phone)
        return message

    # --- opt-outs
    def opt_out(self, phone: str, *, via: str = "API") -> JSON:
        record = self.opt_outs.get(phone)
        if record is None:
            record = self.opt_outs[phone] = {
                "@type": "OptOut",
                "@context": "/contexts/OptOut.jsonld",
                "id": f"/{self.account_slug}/opt_outs/{phone}",
                "phoneNumber": phone,
                "formattedPhoneNumber": national(phone),
                "createdAt": now_ms(),
                "createdVia": via,
                "user": None,
                "originatingAccount": f"/accounts/{self.account_slug}",
            }
            self._emit_opt("contact.opted_out", record, "opt-out")
        return record

    def opt_in(self, phone: str) -> bool:
        record = self.opt_outs.pop(phone, None)
        if record is not None:
            self._emit_opt("contact.opted_in", record, "opt-in")
        return record is not None

    # --- contacts
    def save_contact(
        self, slug: str | None, name: str | None, phones: list[tuple[str, str | None, str]] | None,
        data: Mapping[str, Any] | None,
    ) -> JSON:
        """Create (slug None) or update a contact; None fields are left as they were."""
        created = slug is None
        slug = slug or self._ids.slug()
        contact = self.contacts.get(slug) or {
            "@type": "Contact", "@context": "/contexts/Contact.jsonld", "id": f"/contacts/{slug}",
            "name": None, "firstName": None, "lastName": None, "data": {},
            "notes": {"@type": "hydra:Collection", "id": f"/contacts/{slug}/notes",
                      "members": [], "totalItems": 0},
            "conversations": f"/contacts/{slug}/conversations", "createdAt": now_ms(),
            "phones": None,
        }
        if name is not None:
            first, _, last = name.strip().partition(" ")
            contact.update(name=name, firstName=first or None, lastName=last or None)
        if phones is not None or created:
            members = [
                {"@type": "ContactPhone", "id": f"/contact_phones/{self._ids.slug()}",
                 "phoneNumber": number, "formattedPhoneNumber": national(number),
                 "extension": extension, "type": kind, "deliverabilityStatus": "unknown",
                 "contact": contact["id"]}
                for number, extension, kind in phones or ()
            ]
            contact["phones"] = {"@type": "hydra:Collection", "id": f"/contacts/{slug}/phones",
                                 "members": members, "totalItems": len(members)}
        if data is not None:
            contact["data"] = dict(data)
        self.contacts[slug] = contact
        if created:
            self._emit("contact.created", "WebhookDelivery", {"contact": contact})
        return contact

    # --- integrations and webhooks
    def add_integration(self, url: str, actions: tuple[str, ...], active: bool) -> Integration:
        integration = Integration(
            self._ids.slug(), url, actions, f"textus-{self._ids.hex32()[:16]}", active
        )
        self.integrations[integration.slug] = integration
        self._subscribed = frozenset(
            action for i in self.integrations.values() if i.active for action in i.actions
        )
        return integration

    def _emit_message(self, action: str, message: TextUsMessage) -> None:
        if action in self._subscribed:
            conversation = self.conversation_json(message.conversation)
            self._emit(action, "WebhookDelivery",
                       {"conversation": conversation, "message": message.to_json()})

    def _emit_opt(self, action: str, record: JSON, kind: str) -> None:
        if action in self._subscribed:
            opt = {"@type": "OptOut", "id": record["id"], "type": kind,
                   "phoneNumber": record["phoneNumber"],
                   "formattedPhoneNumber": record["formattedPhoneNumber"],
                   "account": f"/accounts/{self.account_slug}"}
            self._emit(action, "OptOutWebhookDelivery", {"optOut": opt})

    def _emit(self, action: str, kind: str, payload: JSON) -> None:
        for integration in self.integrations.values():
            if not integration.active or action not in integration.actions:
                continue
            body = dumps({
                "@type": kind,
                "@context": f"/contexts/{kind}.jsonld",
                "id": f"{integration.iri}/deliveries/{self._ids.uuid()}",
                "timestamp": now_ms(),
                "action": action,
                "webHook": integration.iri,
                **payload,
            })
            signature = hmac.new(integration.secret.encode(), body, hashlib.sha256).hexdigest()
            self._sender.post(integration.url, body, {
                "Content-Type": "application/json", "X-TextUs-Signature": signature,
            })
