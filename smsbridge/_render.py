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

from .errors import InvalidPhoneNumber, TemplateError
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
    """A body with ``{name}`` placeholders, parsed once. ``{{`` and ``}}`` are literal braces.

    Only named substitution: ``str.format`` would also allow attribute and index access
    (``{name.__class__}`` renders Python internals into an SMS), conversions (``{name!r}``) and
    format specs, nested ones included (``{name:{width}}``, a CSV cell then sets a field width
    of millions). Each of those is a :class:`TemplateError` here, before any send, and
    rendering never goes through ``format``.
    """

    __slots__ = ("_parts", "fields", "source", "static")

    def __init__(self, source: str) -> None:
        if not isinstance(source, str):
            raise TemplateError(f"the body must be a string, not {type(source).__name__}")
        try:
            parsed = list(_FORMATTER.parse(source))
        except ValueError as exc:
            raise TemplateError(
                f"the body template is not valid ({exc}); write literal braces as {{{{ and }}}}"
            ) from None
        parts: list[tuple[str, str | None]] = []
        for literal, field, spec, conversion in parsed:
            if field is not None:
                _check_placeholder(field, spec, conversion)
            parts.append((literal, field))
        self.source = source
        self._parts = tuple(parts)
        self.fields = frozenset(field for _literal, field in parts if field is not None)
        # A body without placeholders is rendered once ("{{" still becomes "{").
        self.static: str | None = (
            None if self.fields else "".join(literal for literal, _field in parts)
        )

    def render(self, variables: Mapping[str, Any]) -> str:
        """The body for one recipient; a missing variable raises KeyError naming it."""
        if self.static is not None:
            return self.static
        return "".join(
            literal if field is None else literal + str(variables[field])
            for literal, field in self._parts
        )


def _check_placeholder(field: str, spec: str | None, conversion: str | None) -> None:
    shown = "{" + field + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
    shown += "}"
    if not field or field.isdigit():
        raise TemplateError(
            "the body template has a positional placeholder ({} or {0}); name it, "
            "e.g. {name}, and give each recipient that variable"
        )
    if any(char in field for char in ".[]"):
        raise TemplateError(
            f"the body template placeholder {shown[:60]} uses attribute or index access; "
            "only plain {name} placeholders are substituted: put the value itself in the "
            "recipient's variables"
        )
    if conversion:
        raise TemplateError(
            f"the body template placeholder {shown[:60]} has a conversion (!{conversion}); "
            "only plain {name} placeholders are substituted"
        )
    if spec:
        raise TemplateError(
            f"the body template placeholder {shown[:60]} has a format spec; only plain {{name}}"
            " placeholders are substituted: format the value before you pass it"
        )


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
                f"{exc}; pass variables that can be turned into text",
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
