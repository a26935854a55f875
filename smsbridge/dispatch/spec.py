"""What a bulk job sends except the recipients (:class:`JobSpec`), and the canonical JSON
the journal stores it and its options in (:func:`dumps`)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import attrs

from ..models import Attachment, Message
from ..phone import masked_repr


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
    # Part of the job's identity: with either, the text sent (or refused) differs.
    max_segments: int | None = None
    smart_encoding: bool = False

    @classmethod
    def from_message(cls, message: Message) -> JobSpec:
        return cls(message.body, message.sender, message.attachments, dict(message.options))

    def to_json(self) -> dict[str, Any]:
        data = self._content()
        # Only when set, so the fingerprint of a job without them is what it always was.
        if self.max_segments is not None:
            data["max_segments"] = self.max_segments
        if self.smart_encoding:
            data["smart_encoding"] = True
        return data

    def _content(self) -> dict[str, Any]:
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
        max_segments = data.get("max_segments")
        return cls(data.get("body") or "", data.get("sender"), attachments,
                   dict(data.get("options") or {}),
                   max_segments=int(max_segments) if max_segments is not None else None,
                   smart_encoding=bool(data.get("smart_encoding", False)))

    def fingerprint(self) -> str:
        """Stable digest of the content: the same message re-run resumes the same job."""
        return hashlib.sha256(dumps(self.to_json()).encode()).hexdigest()
