"""How a recipient is made ready: E.164, de-dup, opt-outs, then the rendered body.

Pure and synchronous; the dispatcher calls :meth:`Preparer.prepare` once per recipient, so the
template is parsed once per job and the fast paths (a static body, an already-seen number) cost a
few hundred nanoseconds.
"""

from __future__ import annotations

from collections.abc import Callable, Container

from ..compliance import PreparedBody, TooManySegments, prepare_body
from ..errors import InvalidPhoneNumber
from ..models import Outcome, OutcomeStatus, Recipient
from ..phone import mask, normalize
from .compliance import ComplianceTally
from .template import Template


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


def opted_out_outcome(recipient: Recipient) -> Outcome:
    return _skip(recipient, "opted_out", "the number is on the suppression list (opted out)")


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
        max_segments: int | None = None,
        smart_encoding: bool = False,
        compliance: ComplianceTally | None = None,
    ) -> None:
        self._template = template
        self._max_segments = max_segments
        self._smart_encoding = smart_encoding
        # Segments are counted only when something needs them (a dry run, a limit, smart
        # encoding): counting costs a pass over every body.
        self._compliance = compliance
        self._static: PreparedBody | None = None
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
            return Item(index, recipient, phone, None, opted_out_outcome(recipient))
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
        if self._compliance is not None:
            try:
                prepared = self._prepared(body)
            except TooManySegments as exc:
                return Item(index, recipient, phone, None, _fail(recipient, exc.reason, str(exc)))
            body = prepared.body
            self._compliance.segments.add(prepared.count)
            self._compliance.replaced(prepared.replacements)
        # After smart encoding: the limit judges the text actually sent.
        if self._max_body is not None and len(body) > self._max_body:
            return Item(index, recipient, phone, None, _fail(
                recipient, "body_too_long",
                f"the rendered body is {len(body)} characters; the provider allows "
                f"{self._max_body}",
            ))
        return Item(index, recipient, phone, body, None)

    def _prepared(self, body: str) -> PreparedBody:
        if self._template.static is None:
            return prepare_body(body, max_segments=self._max_segments,
                                smart_encoding=self._smart_encoding)
        if self._static is None:  # one body for everyone: prepared once
            self._static = prepare_body(body, max_segments=self._max_segments,
                                        smart_encoding=self._smart_encoding)
        return self._static
