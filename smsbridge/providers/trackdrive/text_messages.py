"""``POST /text_messages``: send one SMS through TrackDrive.

Every parameter goes in the query string with no body, as the only documented request does
(``POST /api/v1/text_messages?message=Thanks+for+your+inquiry&to=%2B16053334444``).

Never retried once it may have reached TrackDrive (a timeout after the body went out, a reset,
a 5xx): the pipeline raises :class:`~smsbridge.errors.DeliveryUnknownError` instead, because
TrackDrive has no idempotency key and a retry may text the person twice.
"""

from __future__ import annotations

from typing import Any

from ...errors import InvalidMessage, ValidationError
from ...transport.http import HttpClient, Response
from ._resource import Resource
from ._wire import flag, optional_id, query
from .models import TextMessage

PATH = "/text_messages"
ROOT = "text_message"


def _webhook_url(value: str | None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.startswith(("https://", "http://")):
        raise ValidationError(
            "delivery_webhook_url must be an http(s) URL (TrackDrive POSTs status changes to it)"
        )
    return value


class TextMessages(Resource):
    """``provider.text_messages``."""

    def __init__(
        self, http: HttpClient, region: str | None, *, delivery_webhook_url: str | None = None
    ) -> None:
        super().__init__(http, region)
        self._default_webhook_url = _webhook_url(delivery_webhook_url)

    async def create(
        self,
        message: str,
        *,
        to: str | None = None,
        from_: str | None = None,
        lead_id: int | str | None = None,
        delivery_webhook_url: str | None = None,
        manual: bool | None = None,
        number_id: int | str | None = None,
        schedule_id: int | str | None = None,
        offer_id: int | str | None = None,
    ) -> TextMessage:
        """Send ``message`` to ``to`` (E.164) or to the phone of ``lead_id``.

        ``from_`` (E.164) or ``number_id`` picks the sending number; ``manual=True`` marks a
        message a person initiated, and TrackDrive then skips its DNC check on ``to``.
        ``schedule_id`` / ``offer_id`` tie the message to the lead on that schedule / offer
        (TrackDrive creates one when none exists). ``delivery_webhook_url`` is called when the
        message's status changes (defaults to the provider's ``delivery_webhook_url``).
        """
        record, _ = await self._create(
            message, to=to, from_=from_, lead_id=lead_id,
            delivery_webhook_url=delivery_webhook_url, manual=manual, number_id=number_id,
            schedule_id=schedule_id, offer_id=offer_id,
        )
        return record

    async def _create(self, message: str, **params: Any) -> tuple[TextMessage, Response]:
        """:meth:`create`, also returning the HTTP response (for the receipt's request id)."""
        payload = self.payload(message, **params)
        response = await self._http.request("POST", PATH, params=payload)
        return self.parse_record(response, TextMessage, ROOT), response

    def payload(
        self,
        message: str,
        *,
        to: str | None = None,
        from_: str | None = None,
        lead_id: int | str | None = None,
        delivery_webhook_url: str | None = None,
        manual: bool | None = None,
        number_id: int | str | None = None,
        schedule_id: int | str | None = None,
        offer_id: int | str | None = None,
    ) -> dict[str, str]:
        """The validated query-string parameters, encoded as TrackDrive documents them (no
        body is sent); every problem is raised here, before any request."""
        if not isinstance(message, str) or not message.strip():
            raise InvalidMessage(
                "message must be a non-empty string (TrackDrive rejects an empty text)"
            )
        lead_id = optional_id(lead_id, "lead_id")
        if to is None and lead_id is None:
            raise InvalidMessage(
                "pass to= (the recipient, E.164) or lead_id= (TrackDrive then texts the lead's "
                "phone number)"
            )
        # Built field by field (a send's usual body has two): None values are left out.
        fields: dict[str, Any] = {"message": message}
        if to is not None:
            fields["to"] = self._phone(to, "to")
        if from_ is not None:
            fields["from"] = self._phone(from_, "from")
        if lead_id is not None:
            fields["lead_id"] = lead_id
        webhook = _webhook_url(delivery_webhook_url) or self._default_webhook_url
        if webhook is not None:
            fields["delivery_webhook_url"] = webhook
        if manual is not None:
            fields["manual"] = flag(manual, "manual")
        for name, value in (("number_id", number_id), ("schedule_id", schedule_id),
                            ("offer_id", offer_id)):
            if value is not None:
                fields[name] = optional_id(value, name)
        return query(fields)
