"""Checks done before any TextUs request: numbers, slugs, attachments, schedule times.

Each violation is a typed error (from :mod:`smsbridge.errors`) that names what was wrong and
what to do. The pure checks are cached, so sending one attachment to many people costs one check.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC
from functools import lru_cache
from typing import Any
from urllib.parse import quote, urlsplit

from ... import _constants as C
from ..._convert import parse_datetime
from ...errors import AttachmentError, ConfigurationError, InvalidMessage, ValidationError
from ...models import Attachment
from ...phone import check_region as phone_check_region
from ...phone import normalize

_SLUG = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*")
_RESOURCE_ID = re.compile(r"[A-Za-z0-9_.\-+:@]+")

# Extensions TextUs lists (.png, .jpg/.jpeg, .gif, .rtf, .pdf, .ics, .vcf/.vcard) and their type.
EXTENSION_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".rtf": "application/rtf",
    ".pdf": "application/pdf",
    ".ics": "text/calendar",
    ".vcf": "text/vcard",
    ".vcard": "text/vcard",
}
ALLOWED_TYPES = C.TEXTUS_ATTACHMENT_TYPES | frozenset(EXTENSION_TYPES.values())
_ALLOWED_EXTENSIONS = ", ".join(EXTENSION_TYPES)


def check_slug(slug: str, what: str = "account slug") -> str:
    """An account slug goes into URL paths: letters, digits, ``_ . -`` only."""
    if not isinstance(slug, str) or not _SLUG.fullmatch(slug):
        raise ConfigurationError(
            f"invalid TextUs {what} {str(slug)[:40]!r}: use the account's slug (letters, digits, "
            "'_', '.', '-'), as listed by provider.accounts.list()"
        )
    return slug


def check_region(region: str | None) -> str | None:
    return None if region is None else phone_check_region(region, name="default_region")


def numbers(values: Iterable[str], region: str | None, *, unique: bool) -> tuple[str, ...]:
    """E.164 form of every number (``InvalidPhoneNumber`` on the first bad one)."""
    out = [normalize(value, region) for value in values]
    if unique:
        out = list(dict.fromkeys(out))
    return tuple(out)


def path_segment_for_number(number: str, region: str | None) -> str:
    """A number as a path segment: E.164 with the ``+`` percent-encoded."""
    return quote(normalize(number, region), safe="")


def resource_path(value: Any, collection: str, base_url: str) -> str:
    """A slug, an IRI, a full URL, a model with ``id`` or a receipt with ``message_id`` ->
    ``/<collection>/<slug>``."""
    iri = getattr(value, "id", None) or getattr(value, "message_id", value)
    if not isinstance(iri, str) or not iri.strip():
        raise ValidationError(f"a TextUs {collection[:-1]} id is required (got {value!r:.40})")
    iri = iri.strip()
    if iri.startswith(base_url):
        iri = iri[len(base_url):]
    elif iri.startswith(("http://", "https://")):
        iri = urlsplit(iri).path
    marker = f"/{collection}/"
    if marker in iri:
        iri = iri[iri.index(marker) + len(marker):]
    slug = iri.strip("/")
    if not _RESOURCE_ID.fullmatch(slug):
        raise ValidationError(
            f"{value!r:.60} is not a TextUs {collection[:-1]} id; pass its slug or its IRI "
            f"like /{collection}/QNDkpL"
        )
    return marker + quote(slug, safe="+:@")


def scheduled_at_iso(value: Any) -> str:
    """A timezone-aware datetime or ISO-8601 string -> ``2058-10-25T18:09:13Z`` (UTC)."""
    when = parse_datetime(value)
    if when is None:
        raise InvalidMessage(
            f"scheduled_at {str(value)[:40]!r} is not a date-time; pass a timezone-aware datetime "
            "or an ISO-8601 string like '2058-10-25T18:09:13Z'"
        )
    if when.tzinfo is None or when.utcoffset() is None:
        raise InvalidMessage(
            "scheduled_at has no timezone; pass an aware datetime "
            "(e.g. datetime.now(timezone.utc) + timedelta(hours=1)) or a string ending in 'Z'"
        )
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def attachments_payload(attachments: tuple[Attachment, ...]) -> list[dict[str, str]]:
    """Validate TextUs's attachment rules and build the ``attachments`` request field."""
    if len(attachments) > C.TEXTUS_MAX_ATTACHMENTS_PER_REQUEST:
        raise AttachmentError(
            f"TextUs sends {C.TEXTUS_MAX_ATTACHMENTS_PER_REQUEST} attachment per request; this "
            f"message has {len(attachments)}: send the others as separate messages"
        )
    out = []
    for attachment in attachments:
        media_url, content_type = _checked(attachment.url, attachment.content_type)
        check_size(attachment.size)
        out.append({"media_url": media_url, "content_type": content_type})
    return out


def check_size(size: int | None) -> None:
    if size is None:
        return
    if size < 0 or size > C.TEXTUS_MAX_ATTACHMENT_BYTES:
        raise AttachmentError(
            f"the attachment is {size} bytes; TextUs accepts attachments under 525 KB, i.e. "
            f"at most {C.TEXTUS_MAX_ATTACHMENT_BYTES} bytes: shrink or compress the file"
        )


@lru_cache(maxsize=1024)
def _checked(url: str, content_type: str | None) -> tuple[str, str]:
    if not isinstance(url, str):
        raise AttachmentError("attachment url must be a string holding a public http(s) URL")
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise AttachmentError(
            f"attachment url {url[:60]!r} is not a public http(s) URL; TextUs downloads the "
            "file from media_url, so it must be reachable from the internet"
        )
    declared = (content_type or "").split(";", 1)[0].strip().lower()
    extension = parts.path[parts.path.rfind(".") :].lower() if "." in parts.path else ""
    inferred = EXTENSION_TYPES.get(extension)
    resolved = declared or inferred
    if not resolved:
        raise AttachmentError(
            f"attachment content_type is missing and cannot be inferred from the URL; "
            f"set it to the file's MIME type (supported files: {_ALLOWED_EXTENSIONS})"
        )
    if resolved not in ALLOWED_TYPES:
        raise AttachmentError(
            f"TextUs does not accept attachments of type {resolved!r}; supported files: "
            f"{_ALLOWED_EXTENSIONS} ({', '.join(sorted(ALLOWED_TYPES))})"
        )
    return url.strip(), resolved
