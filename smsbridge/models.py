"""Provider-agnostic models. Every model is a frozen attrs class; server data keeps ``raw``."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from .errors import SmsBridgeError

_EMPTY: Mapping[str, Any] = MappingProxyType({})


class _TolerantEnum(enum.StrEnum):
    """A str enum whose ``parse`` never raises: unknown values map to ``UNKNOWN``."""

    @classmethod
    def parse(cls, raw: object) -> Any:
        if isinstance(raw, cls):
            return raw
        # The lookup cls(value) does first, without its slow path for unknown values.
        member = cls._value2member_map_.get(str(raw).strip().lower())
        return member if member is not None else cls["UNKNOWN"]

    def __str__(self) -> str:
        return str(self.value)


class DeliveryStatus(_TolerantEnum):
    """Where a message is in its life. The provider's own word is kept next to it (raw_status)."""

    ACCEPTED = "accepted"  # the provider took it; no further state known yet
    CREATED = "created"
    SCHEDULED = "scheduled"
    QUEUED = "queued"
    SENT = "sent"  # handed to the carrier
    DELIVERED = "delivered"
    FAILED = "failed"
    RECEIVED = "received"  # inbound
    UNKNOWN = "unknown"

    @property
    def is_final(self) -> bool:
        return self in (DeliveryStatus.DELIVERED, DeliveryStatus.FAILED, DeliveryStatus.RECEIVED)


class OutcomeStatus(_TolerantEnum):
    """What happened to one recipient of a job. Exactly one per recipient."""

    SENT = "sent"
    FAILED = "failed"
    UNKNOWN = "unknown"
    SKIPPED = "skipped"


def _masked(value: object) -> str:
    """attrs ``repr=`` for phone-number fields: enough to tell numbers apart, not to dial them."""
    from .phone import masked_repr

    return masked_repr(value)


def _freeze_mapping(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    if not value:
        return _EMPTY
    return MappingProxyType(dict(value))


@attrs.frozen(slots=True)
class Recipient:
    """One person to text. ``variables`` fill ``{placeholders}`` in a bulk body."""

    phone: str
    variables: Mapping[str, Any] = attrs.field(default=_EMPTY, converter=_freeze_mapping)

    def __repr__(self) -> str:
        from .phone import mask

        return f"Recipient(phone={mask(self.phone)!r}, variables={sorted(self.variables)!r})"


def _attachment_error(message: str) -> Exception:
    from .errors import AttachmentError  # errors imports models for typing only

    return AttachmentError(message)


def _check_attachment_url(_instance: Any, _attribute: Any, value: Any) -> None:
    if not isinstance(value, str) or not value.strip():
        raise _attachment_error(
            f"Attachment.url must be a non-empty string (an https:// URL), "
            f"not {type(value).__name__ if not isinstance(value, str) else 'an empty string'}"
        )


def _check_attachment_type(_instance: Any, _attribute: Any, value: Any) -> None:
    if not isinstance(value, str):
        raise _attachment_error(
            f"Attachment.content_type must be a MIME type string like 'image/png' "
            f"(or '' to infer it from the URL), not {type(value).__name__}"
        )


def _check_attachment_size(_instance: Any, _attribute: Any, value: Any) -> None:
    # Only the type: a size out of a provider's range is that provider's error to name.
    if value is not None and type(value) is not int:
        raise _attachment_error(
            f"Attachment.size must be a number of bytes (an int) or None, "
            f"not {type(value).__name__}"
        )


@attrs.frozen(slots=True)
class Attachment:
    """A file sent with a message. Field types are checked here, before any request is built."""

    url: str = attrs.field(validator=_check_attachment_url)
    content_type: str = attrs.field(validator=_check_attachment_type)
    size: int | None = attrs.field(default=None, validator=_check_attachment_size)


def _to_recipients(value: object) -> tuple[Recipient, ...]:
    if type(value) is tuple and all(type(item) is Recipient for item in value):
        return value  # already what this builds (the dispatcher's messages, one per recipient)
    if isinstance(value, str | Recipient):
        value = (value,)
    if not isinstance(value, Iterable):
        raise TypeError("Message.to must be a phone number, a Recipient, or a list of them")
    out: list[Recipient] = []
    for item in value:
        if isinstance(item, Recipient):
            out.append(item)
        elif isinstance(item, str):
            out.append(Recipient(item))
        else:
            raise TypeError(
                f"Message.to items must be str or Recipient, not {type(item).__name__}"
            )
    return tuple(out)


def _to_attachments(value: Iterable[Attachment] | None) -> tuple[Attachment, ...]:
    if isinstance(value, Attachment | str | Mapping):
        raise _attachment_error(
            f"attachments must be a list of Attachment, not a single {type(value).__name__}"
        )
    out = tuple(value or ())
    for item in out:
        if not isinstance(item, Attachment):
            raise _attachment_error(
                f"attachments must hold Attachment objects, not {type(item).__name__}; "
                "write Attachment(url=..., content_type=...)"
            )
    return out


@attrs.frozen(slots=True)
class Message:
    """A message to one or many recipients. ``options`` carry provider-specific parameters."""

    to: tuple[Recipient, ...] = attrs.field(converter=_to_recipients)
    body: str = ""
    sender: str | None = attrs.field(default=None, repr=_masked)
    attachments: tuple[Attachment, ...] = attrs.field(default=(), converter=_to_attachments)
    options: Mapping[str, Any] = attrs.field(default=_EMPTY, converter=_freeze_mapping)

    @property
    def recipient(self) -> Recipient:
        """The single recipient; raises InvalidMessage when there are zero or several."""
        if len(self.to) != 1:
            from .errors import InvalidMessage  # only when raising: every send reads this

            raise InvalidMessage(
                f"this call sends to exactly one recipient but the message has {len(self.to)}; "
                "use Dispatcher.send() for many recipients"
            )
        return self.to[0]


@attrs.frozen(slots=True)
class Receipt:
    """The provider accepted one message."""

    provider: str
    message_id: str | None
    status: DeliveryStatus
    to: str = attrs.field(repr=_masked)
    request_id: str | None = None
    raw_status: str | None = None
    raw: Mapping[str, Any] = attrs.field(default=_EMPTY, repr=False)


@attrs.frozen(slots=True)
class BatchReceipt:
    """The provider accepted a multi-recipient request. No per-recipient message ids exist."""

    provider: str
    to: tuple[str, ...] = attrs.field(repr=_masked)
    http_status: int
    request_id: str | None = None
    batch_id: str | None = None
    message_ids: None = None  # stated in the type: a native batch gives no per-recipient ids


@attrs.frozen(slots=True)
class Outcome:
    """Exactly one per recipient of a bulk job."""

    recipient: Recipient
    status: OutcomeStatus
    receipt: Receipt | None = None
    error: str | None = None
    reason: str | None = None  # short machine-readable reason: invalid_number, duplicate, ...
    provider: str | None = None
    attempts: int = 0
    batch_id: str | None = None
    exception: SmsBridgeError | None = attrs.field(default=None, repr=False, eq=False)
    # The rendered message a dry run would have sent (None outside dry runs).
    message: Message | None = attrs.field(default=None, repr=False, eq=False)

    @property
    def phone(self) -> str:
        return self.recipient.phone


@attrs.frozen(slots=True)
class DeliveryEvent:
    """A provider told us where a message is (from a webhook or a status query)."""

    provider: str
    message_id: str | None
    status: DeliveryStatus
    raw_status: str | None = None
    occurred_at: datetime | None = None
    to: str | None = attrs.field(default=None, repr=_masked)
    error_code: str | None = None
    event_id: str | None = None
    raw: Mapping[str, Any] = attrs.field(default=_EMPTY, repr=False)


@attrs.frozen(slots=True)
class InboundMessage:
    """A contact texted us (from a webhook). ``sender`` is the contact, ``to`` our number."""

    provider: str
    message_id: str | None
    sender: str | None = attrs.field(repr=_masked)
    body: str = attrs.field(default="", repr=False)
    to: str | None = attrs.field(default=None, repr=_masked)
    received_at: datetime | None = None
    conversation_id: str | None = None
    event_id: str | None = None
    attachments: tuple[Attachment, ...] = attrs.field(default=(), converter=_to_attachments)
    raw: Mapping[str, Any] = attrs.field(default=_EMPTY, repr=False)


@attrs.frozen(slots=True)
class OptOutEvent:
    """A contact opted out of (or back in to) messages from us.

    ``source`` says how we learned it: ``"webhook"`` (the provider reported it) or ``"keyword"``
    (an inbound message was a STOP/START-style keyword).
    """

    provider: str
    phone: str = attrs.field(repr=_masked)
    opted_out: bool = True
    occurred_at: datetime | None = None
    event_id: str | None = None
    source: str = "webhook"
    keyword: str | None = None
    raw: Mapping[str, Any] = attrs.field(default=_EMPTY, repr=False)

    @property
    def opted_in(self) -> bool:
        return not self.opted_out
