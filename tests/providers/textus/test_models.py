"""TextUs models parse tolerantly: optional fields, unknown keys, IRIs where objects may be."""

from __future__ import annotations

import attrs
import pytest

from smsbridge import DeliveryStatus
from smsbridge._convert import from_json
from smsbridge.providers.textus import (
    Contact,
    Conversation,
    Integration,
    TextUsMessage,
    delivery_status,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("dispatched", DeliveryStatus.SENT),
        ("FAILED_TRANSIENT", DeliveryStatus.FAILED),
        (" delivered ", DeliveryStatus.DELIVERED),
        ("sending", DeliveryStatus.UNKNOWN),
        (None, DeliveryStatus.UNKNOWN),
        ("", DeliveryStatus.UNKNOWN),
    ],
)
def test_delivery_status_maps_textus_words(raw, expected):
    assert delivery_status(raw) is expected


def test_message_parses_the_documented_example_with_an_attachment(api):
    data = api.message_json(attachments={"@type": "hydra:Collection", "totalItems": 1, "members": [
        {"@type": "Attachment", "id": "/attachments/JYngGL", "url": "https://some_url.com",
         "downloadUrl": "https://s3.amazonaws.com/some_url", "contentType": "image/png",
         "size": 2697, "width": 300, "height": 300, "originalFilename": None}]})
    message = from_json(TextUsMessage, data)
    attachment = message.attachments[0]
    assert (attachment.content_type, attachment.size, attachment.width) == ("image/png", 2697, 300)
    assert attachment.download_url == "https://s3.amazonaws.com/some_url"
    assert attachment.original_filename is None


def test_models_are_frozen_keep_raw_and_ignore_unknown_fields(api):
    data = api.message_json(whatsAppTemplate=None, engagementScore=3, futureThing={"a": [1]})
    message = from_json(TextUsMessage, data)
    assert message.raw["futureThing"] == {"a": [1]}
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        message.body = "changed"  # type: ignore[misc]


def test_a_field_of_an_unexpected_shape_is_kept_as_sent():
    conversation = from_json(Conversation, {
        "id": "/conversations/k",
        "latestPreviewableItem": "/messages/x",  # an IRI where an embedded Message may be
        "phoneNumber": {"odd": True},  # an object where a string is expected
        "unsubscribed": "false",
    })
    assert conversation.latest_previewable_item == "/messages/x"
    assert conversation.phone_number == {"odd": True}
    assert conversation.unsubscribed is False
    assert conversation.timeline_path == "/conversations/k/timeline"


def test_contact_phones_accept_a_plain_list_and_a_bad_value():
    assert from_json(Contact, {"phones": [{"phoneNumber": "+13035551234"}]}).phones[0].type is None
    assert from_json(Contact, {"phones": "/contacts/x/phones"}).phones == "/contacts/x/phones"


def test_integration_secret_is_hidden_from_repr():
    integration = Integration.from_json({"id": "/integrations/x", "config": {
        "webhookSecret": "textus-0123"}, "settings": {"actions": ["message.failed"]}})
    assert integration.webhook_secret == "textus-0123"
    assert "textus-0123" not in repr(integration)
    assert integration.url is None


def test_message_keeps_the_attachments_total_and_a_datetime_timeline_position() -> None:
    from datetime import UTC, datetime

    from .conftest import message_json

    member = {"id": "/attachments/9", "contentType": "image/png", "size": 10}
    data = message_json(attachments={"@type": "hydra:Collection", "members": [member],
                                     "totalItems": 3})
    message = from_json(TextUsMessage, data)
    assert message.attachments_total == 3  # more than the one member embedded
    assert len(message.attachments) == 1
    assert message.timeline_position == datetime(2018, 7, 24, 20, 59, 32, 156000, tzinfo=UTC)
    assert from_json(TextUsMessage, message_json(attachments=None)).attachments_total is None
