"""What a bulk job sends, and how recipients are made ready: template, E.164, de-dup, opt-outs,
and (batch mode) grouping by identical rendered body.

Pure and synchronous; the dispatcher calls :meth:`Preparer.prepare` once per recipient, so the
template is parsed once per job and the fast paths (a static body, an already-seen number) cost a
few hundred nanoseconds.
"""

from __future__ import annotations

import hashlib
import json
import string
from collections.abc import Callable, Container, Mapping
from typing import Any

import attrs

from .errors import InvalidMessage, InvalidPhoneNumber
from .models import Attachment, Message, Outcome, OutcomeStatus, Recipient
from .phone import mask, masked_repr, normalize

_FORMATTER = string.Formatter()


def _json_default(value: object) -> str:
    # Options and variables are stored as JSON; values JSON has no type for keep their text.
    return str(value)


def dumps(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True, default=_json_default)


@attrs.frozen(slots=True)
class JobSpec:
    """Everything a job sends except the recipients. Stored in the journal; never credentials."""

    body: str = ""
    sender: str | None = attrs.field(default=None, repr=masked_repr)
    attachments: tuple[Attachment, ...] = ()
    options: Mapping[str, Any] = attrs.field(factory=dict)

    @classmethod
    def from_message(cls, message: Message) -> JobSpec:
        return cls(message.body, message.sender, message.attachments, dict(message.options))

    def to_json(self) -> dict[str, Any]:
        return {
            "body": self.body,
            "sender": self.sender,
            "attachments": [
                {"url": a.url, "content_type": a.content_type, "size": a.size}
                for a in self.attachments
            ],
            "options": json.loads(dumps(dict(self.options))),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> JobSpec:
        attachments = tuple(
            Attachment(url=a["url"], content_type=a["content_type"], size=a.get("size"))
            for a in data.get("attachments") or ()
        )
        return cls(data.get("body") or "", data.get("sender"), attachments,
                   dict(data.get("options") or {}))

    def fingerprint(self) -> str:
        """Stable digest of the content: the same message re-run resumes the same job."""
        return hashlib.sha256(dumps(self.to_json()).encode()).hexdigest()


class Template:
    """A ``str.format_map`` body, parsed once. ``{{`` and ``}}`` are literal braces."""

    __slots__ = ("fields", "source", "static")

    def __init__(self, source: str) -> None:
        try:
            parsed = list(_FORMATTER.parse(source))
        except ValueError as exc:
            raise InvalidMessage(
                f"the body template is not valid ({exc}); write literal braces as {{{{ and }}}}"
            ) from None
        fields: set[str] = set()
        for _literal, field, _spec, _conversion in parsed:
            if field is None:
                continue
            root = field.split(".", 1)[0].split("[", 1)[0]
            if not root or root.isdigit():
                raise InvalidMessage(
                    "the body template has a positional placeholder ({} or {0}); name it, "
                    "e.g. {name}, and give each recipient that variable"
                )
            fields.add(root)
        self.source = source
        self.fields = frozenset(fields)
        # A body without placeholders is rendered once ("{{" still becomes "{").
        self.static: str | None = None if fields else source.format_map({})

    def render(self, variables: Mapping[str, Any]) -> str:
        if self.static is not None:
            return self.static
        return self.source.format_map(variables)


def positional_key(index: int) -> str:
    """The journal key of an entry with no number of its own: its position in the source.

    An invalid entry (a blank cell, a typo) has no identity, and a duplicate's number belongs
    to its first occurrence; keyed by position, two blank cells stay two rows and every entry
    of the source has its own outcome in the journal. Re-reading the same source (a resume)
    finds the same keys. ``#`` never starts an E.164 number, so keys cannot collide.
    """
    return f"#{index}"


class Item:
    """One recipient on its way through a job."""

    __slots__ = ("body", "index", "key", "recipient", "verdict")

    def __init__(
        self, index: int, recipient: Recipient, key: str, body: str | None,
        verdict: Outcome | None,
    ) -> None:
        self.index = index
        self.recipient = recipient  # phone in E.164 when it parsed
        self.key = key  # journal key: E.164, or positional_key() for an invalid or duplicate
        self.body = body  # rendered body; None when a verdict was reached
        self.verdict = verdict  # the outcome when the recipient must not be sent

    @property
    def positional(self) -> bool:
        """Invalid or a duplicate: recorded by position, never looked up in earlier runs."""
        return self.key[0] == "#"


def _skip(recipient: Recipient, reason: str, error: str | None = None) -> Outcome:
    return Outcome(recipient, OutcomeStatus.SKIPPED, error=error, reason=reason)


def _fail(recipient: Recipient, reason: str, error: str) -> Outcome:
    return Outcome(recipient, OutcomeStatus.FAILED, error=error, reason=reason)


class Preparer:
    """Normalise, de-duplicate, check opt-outs and render, in that order."""

    def __init__(
        self,
        template: Template,
        *,
        region: str | None,
        suppression: Container[str] | None,
        is_suppressed: Callable[[str], bool] | None,
        max_body_length: int | None,
    ) -> None:
        self._template = template
        self._region = region
        self._suppression = suppression
        self._is_suppressed = is_suppressed
        self._max_body = max_body_length
        # E.164 digits as ints: about half the memory of a set of strings at a million numbers.
        self._seen: set[int] = set()

    @property
    def seen(self) -> int:
        return len(self._seen)

    def prepare(self, index: int, raw: object) -> Item:
        if isinstance(raw, str):
            recipient = Recipient(raw)
        elif isinstance(raw, Recipient):
            recipient = raw
        else:
            bad = Recipient(repr(raw)[:40])
            error = f"expected a phone number (str) or a Recipient, got {type(raw).__name__}"
            return Item(index, bad, positional_key(index), None,
                        _skip(bad, "invalid_number", error))
        try:
            phone = normalize(recipient.phone, self._region)
        except InvalidPhoneNumber as exc:
            return Item(index, recipient, positional_key(index), None,
                        _skip(recipient, "invalid_number", str(exc)))
        if phone != recipient.phone:
            recipient = Recipient(phone, recipient.variables)
        digits = int(phone[1:])
        if digits in self._seen:
            return Item(index, recipient, positional_key(index), None,
                        _skip(recipient, "duplicate", "the number appears earlier in this job"))
        self._seen.add(digits)
        if (self._suppression is not None and phone in self._suppression) or (
            self._is_suppressed is not None and self._is_suppressed(phone)
        ):
            return Item(index, recipient, phone, None, _skip(
                recipient, "opted_out", "the number is on the suppression list (opted out)"))
        try:
            body = self._template.render(recipient.variables)
        except KeyError as exc:
            name = exc.args[0] if exc.args else "?"
            return Item(index, recipient, phone, None, _fail(
                recipient, "missing_variable",
                f"the body uses {{{name}}} but recipient {mask(phone)} has no variable "
                f"{name!r}; add it to Recipient.variables (write literal braces as {{{{ }}}})",
            ))
        except (AttributeError, IndexError, TypeError, ValueError) as exc:
            return Item(index, recipient, phone, None, _fail(
                recipient, "invalid_variable",
                f"the body could not be rendered for {mask(phone)}: {type(exc).__name__}: "
                f"{exc}; check the variable types against the template's format specs",
            ))
        if self._max_body is not None and len(body) > self._max_body:
            return Item(index, recipient, phone, None, _fail(
                recipient, "body_too_long",
                f"the rendered body is {len(body)} characters; the provider allows "
                f"{self._max_body}",
            ))
        return Item(index, recipient, phone, body, None)


class Batch:
    __slots__ = ("body", "items")

    def __init__(self, body: str, items: list[Item]) -> None:
        self.body = body
        self.items = items


class Batcher:
    """Groups recipients whose rendered bodies are identical; bounded by ``limit`` buffered.

    Sender, attachments and options are the job's, the same for every recipient, so an
    identical rendered body means an identical message: one native multi-recipient send to
    plain numbers. A group of one is sent on its own (see ``JobRun._dispatch_batch``).
    """

    def __init__(self, size: int, limit: int) -> None:
        self._size = size
        self._limit = limit
        self._groups: dict[str, list[Item]] = {}
        self._buffered = 0

    def add(self, item: Item) -> list[Batch]:
        body = item.body or ""
        group = self._groups.setdefault(body, [])
        group.append(item)
        self._buffered += 1
        ready = [self._pop(body)] if len(group) >= self._size else []
        while self._buffered > self._limit:  # personalised bodies: flush the oldest group
            ready.append(self._pop(next(iter(self._groups))))
        return ready

    def drain(self) -> list[Batch]:
        return [self._pop(body) for body in list(self._groups)]

    def _pop(self, body: str) -> Batch:
        items = self._groups.pop(body)
        self._buffered -= len(items)
        return Batch(body, items)
