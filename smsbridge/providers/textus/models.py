"""Typed views of TextUs JSON-LD resources.

Every field is optional (the field set has grown across doc versions), unknown keys are ignored,
and ``raw`` keeps the whole object. Fields that TextUs sends sometimes as an IRI and sometimes as
an embedded object are typed ``Any``. Embedded ``hydra:Collection`` values (a message's
attachments, a contact's phones) become tuples of their members.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any

import attrs
from attrs import field

from ..._convert import converter, from_json, from_json_list, structure_hook
from ...models import DeliveryStatus
from ...phone import masked_repr

_EMPTY: Mapping[str, Any] = MappingProxyType({})

# TextUs words that are not DeliveryStatus values; the rest parse as themselves.
_STATE_MAP = {
    "dispatched": DeliveryStatus.SENT,
    "failed_transient": DeliveryStatus.FAILED,
}


def delivery_status(raw_state: str | None) -> DeliveryStatus:
    """Map a TextUs ``deliveryState``/``status`` word onto :class:`DeliveryStatus`.

    ``dispatched`` (handed to the carrier) is SENT and ``failed_transient`` is FAILED (a retry
    through ``messages.retry`` is allowed); unknown future words become UNKNOWN.
    """
    if not raw_state:
        return DeliveryStatus.UNKNOWN
    word = raw_state.strip().lower()
    return _STATE_MAP.get(word) or DeliveryStatus.parse(word)


def slug_of(iri: str | None) -> str | None:
    """``/messages/QNDkpL`` -> ``QNDkpL``."""
    if not iri:
        return None
    return iri.rstrip("/").rsplit("/", 1)[-1] or None


def _raw() -> Any:
    return attrs.field(default=_EMPTY, repr=False)


def _k(key: str) -> dict[str, str]:
    """Field metadata naming the JSON key (see ``_convert.from_json``)."""
    return {"json": key}


def _phone(key: str) -> Any:
    """A phone-number field: masked in reprs."""
    return field(default=None, metadata=_k(key), repr=_masked)


def _masked(value: object) -> str:
    return masked_repr(value)


@attrs.frozen(slots=True)
class MessageAttachment:
    """A file attached to a message (a member of ``Message.attachments``)."""

    id: str | None = None
    url: str | None = None
    download_url: str | None = field(default=None, metadata=_k("downloadUrl"))
    key: str | None = None
    content_type: str | None = field(default=None, metadata=_k("contentType"))
    size: int | None = None
    width: int | None = None
    height: int | None = None
    original_filename: str | None = field(default=None, metadata=_k("originalFilename"))
    raw: Mapping[str, Any] = _raw()


@attrs.frozen(slots=True)
class Message:
    """A TextUs Message (sent or received). ``id`` is its IRI, e.g. ``/messages/QNDkpL``."""

    id: str | None = None
    ld_type: str | None = field(default=None, metadata=_k("@type"))
    direction: str | None = None  # "in" / "out"
    body: str | None = None
    formatted_body: str | None = field(default=None, metadata=_k("formattedBody"))
    display_timestamp: datetime | None = field(default=None, metadata=_k("displayTimestamp"))
    timeline_position: datetime | None = field(default=None, metadata=_k("timelinePosition"))
    delivery_state: str | None = field(default=None, metadata=_k("deliveryState"))
    status: str | None = None
    friendly_state_description: str | None = field(
        default=None, metadata=_k("friendlyStateDescription")
    )
    retry_allowed: bool | None = field(default=None, metadata=_k("retryAllowed"))
    retry: Any = None  # the retry action IRI, or None when a retry is not allowed
    latest_event_at: datetime | None = field(default=None, metadata=_k("latestEventAt"))
    flags: tuple[str, ...] = ()
    source: str | None = None
    channel: str | None = None
    conversation: Any = None  # IRI or embedded Conversation
    sender: Any = None  # IRI, embedded User, or None (inbound)
    attachments: tuple[MessageAttachment, ...] = ()
    raw: Mapping[str, Any] = _raw()

    @property
    def slug(self) -> str | None:
        return slug_of(self.id)

    @property
    def attachments_total(self) -> int | None:
        """The attachments collection's ``totalItems``: how many the message has, which may be
        more than the members embedded in ``attachments``."""
        collection = self.raw.get("attachments")
        total = collection.get("totalItems") if isinstance(collection, Mapping) else None
        return total if isinstance(total, int) and not isinstance(total, bool) else None

    @property
    def raw_status(self) -> str | None:
        """The provider's own word: ``deliveryState``, else ``status``."""
        return self.delivery_state or self.status

    @property
    def delivery_status(self) -> DeliveryStatus:
        if self.raw_status:
            return delivery_status(self.raw_status)
        return DeliveryStatus.SCHEDULED if "scheduled" in self.flags else DeliveryStatus.UNKNOWN


@attrs.frozen(slots=True)
class Account:
    """A TextUs account; ``slug`` is the ``:account`` path segment."""

    id: str | None = None
    name: str | None = None
    slug: str | None = None
    type: str | None = None
    multi_user: bool | None = field(default=None, metadata=_k("multiUser"))
    logo: str | None = None
    family_count: int | None = field(default=None, metadata=_k("familyCount"))
    children_count: int | None = field(default=None, metadata=_k("childrenCount"))
    phone_numbers: tuple[str, ...] = field(default=(), metadata=_k("phoneNumbers"), repr=_masked)
    contacts_enabled: bool | None = field(default=None, metadata=_k("contactsEnabled"))
    effective_role: str | None = field(default=None, metadata=_k("effectiveRole"))
    has_cumulative_plan: bool | None = field(default=None, metadata=_k("hasCumulativePlan"))
    # True: cannot send (10DLC)
    messaging_restricted: bool | None = field(default=None, metadata=_k("messagingRestricted"))
    shortened_link_domain: str | None = field(default=None, metadata=_k("shortenedLinkDomain"))
    settings: Any = None
    feature_flags: Any = field(default=None, metadata=_k("featureFlags"))
    raw: Mapping[str, Any] = _raw()


@attrs.frozen(slots=True)
class ContactPhone:
    id: str | None = None
    phone_number: str | None = _phone("phoneNumber")
    formatted_phone_number: str | None = _phone("formattedPhoneNumber")
    extension: str | None = None
    type: str | None = None
    deliverability_status: str | None = field(default=None, metadata=_k("deliverabilityStatus"))
    contact: Any = None
    raw: Mapping[str, Any] = _raw()


@attrs.frozen(slots=True)
class ContactNote:
    id: str | None = None
    content: str | None = None
    created_at: datetime | None = field(default=None, metadata=_k("createdAt"))
    updated_at: datetime | None = field(default=None, metadata=_k("updatedAt"))
    user: Any = None
    raw: Mapping[str, Any] = _raw()


@attrs.frozen(slots=True)
class Contact:
    """A contact; ``data`` holds the free-form custom fields."""

    id: str | None = None
    name: str | None = None
    first_name: str | None = field(default=None, metadata=_k("firstName"))
    last_name: str | None = field(default=None, metadata=_k("lastName"))
    phones: tuple[ContactPhone, ...] = ()
    notes: tuple[ContactNote, ...] = ()
    data: Mapping[str, Any] | None = None
    conversations: Any = None
    created_at: datetime | None = field(default=None, metadata=_k("createdAt"))
    raw: Mapping[str, Any] = _raw()

    @property
    def slug(self) -> str | None:
        return slug_of(self.id)


@attrs.frozen(slots=True)
class Conversation:
    """The thread with one contact number. Action links are None when the action is not allowed."""

    id: str | None = None
    slug: str | None = None
    phone_number: str | None = _phone("phoneNumber")
    formatted_phone_number: str | None = _phone("formattedPhoneNumber")
    # "open" / "closed"
    current_state: str | None = field(default=None, metadata=_k("currentState"))
    unsubscribed: bool | None = None
    blocked: bool | None = None
    unanswered: bool | None = None
    account: Any = None
    account_phone_number: str | None = _phone("accountPhoneNumber")
    formatted_account_phone_number: str | None = _phone("formattedAccountPhoneNumber")
    latest_previewable_item: Message | None = field(
        default=None, metadata=_k("latestPreviewableItem")
    )
    timeline: Any = None  # IRI or embedded Timeline
    associated_contacts: Any = field(default=None, metadata=_k("associatedContacts"))
    requesting_user_info: Any = field(default=None, metadata=_k("requestingUserInfo"))
    close_conversation: Any = field(default=None, metadata=_k("closeConversation"))
    reopen_conversation: Any = field(default=None, metadata=_k("reopenConversation"))
    raw: Mapping[str, Any] = _raw()

    @property
    def timeline_path(self) -> str | None:
        """Where the timeline lives: its IRI (or the embedded collection's id)."""
        if isinstance(self.timeline, str):
            return self.timeline
        if isinstance(self.timeline, Mapping) and isinstance(self.timeline.get("id"), str):
            return str(self.timeline["id"])
        return f"{self.id}/timeline" if self.id else None


@attrs.frozen(slots=True)
class OptOut:
    """An opt-out record. ``type`` is ``opt-out`` or ``opt-in`` where TextUs says so."""

    id: str | None = None
    type: str | None = None
    phone_number: str | None = _phone("phoneNumber")
    formatted_phone_number: str | None = _phone("formattedPhoneNumber")
    created_at: datetime | None = field(default=None, metadata=_k("createdAt"))
    created_via: str | None = field(default=None, metadata=_k("createdVia"))
    user: Any = None
    account: Any = None
    originating_account: Any = field(default=None, metadata=_k("originatingAccount"))
    raw: Mapping[str, Any] = _raw()

    @property
    def is_opted_out(self) -> bool:
        return (self.type or "opt-out").lower().replace("_", "-") != "opt-in"


@attrs.frozen(slots=True)
class Integration:
    """A webhook integration. ``webhook_secret`` is the HMAC key of ``X-TextUs-Signature``."""

    id: str | None = None
    provider: str | None = None
    active: bool | None = None
    is_healthy: bool | None = field(default=None, metadata=_k("isHealthy"))
    url: str | None = None
    actions: tuple[str, ...] = ()
    webhook_secret: str | None = attrs.field(default=None, repr=False)
    raw: Mapping[str, Any] = _raw()

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Integration:
        """Read ``settings``/``config`` whichever layout the server uses (both exist)."""
        settings = _mapping(data.get("settings"))
        config = _mapping(data.get("config"))
        actions = settings.get("actions")
        if isinstance(actions, Mapping):  # {"message.delivered": true, ...}
            actions = [name for name, enabled in actions.items() if enabled]
        secret = settings.get("webhookSecret") or config.get("webhookSecret")
        url = settings.get("url") or config.get("baseUrl") or config.get("url")
        return from_json(
            cls,
            data,
            url=url if isinstance(url, str) else None,
            actions=tuple(a for a in actions or () if isinstance(a, str)),
            webhook_secret=secret if isinstance(secret, str) else None,
        )


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else _EMPTY


# Nested models go through from_json (json key renames, raw kept).
for _model in (MessageAttachment, Message, ContactPhone, ContactNote):
    structure_hook(_model)

# Embedded hydra:Collection (or a plain list) -> tuple of members.
_MEMBER_TYPES: dict[Any, type[Any]] = {
    tuple[MessageAttachment, ...]: MessageAttachment,
    tuple[ContactPhone, ...]: ContactPhone,
    tuple[ContactNote, ...]: ContactNote,
}


def _structure_members(value: Any, type_: Any) -> tuple[Any, ...]:
    if isinstance(value, Mapping):
        value = value.get("members")
    if not isinstance(value, list):
        raise TypeError("not a collection")
    return tuple(from_json_list(_MEMBER_TYPES[type_], value))


converter.register_structure_hook_func(lambda t: t in _MEMBER_TYPES, _structure_members)
