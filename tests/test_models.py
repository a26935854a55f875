"""Core models: frozen, converters on the way in, tolerant enums, masked reprs."""

from __future__ import annotations

import importlib
import pkgutil
import re

import attrs
import pytest

import smsbridge
from smsbridge import (
    Attachment,
    AttachmentError,
    BatchReceipt,
    DeliveryStatus,
    InvalidMessage,
    Message,
    Outcome,
    OutcomeStatus,
    Receipt,
    Recipient,
)


def test_message_to_accepts_a_number_a_recipient_or_a_list_of_both():
    assert Message(to="+13035551234").to == (Recipient("+13035551234"),)
    ann = Recipient("+17205550123", variables={"name": "Ann"})
    assert Message(to=ann).to == (ann,)
    assert Message(to=["+13035551234", ann]).to == (Recipient("+13035551234"), ann)
    assert Message(to=(n for n in ["+13035551234"])).to == (Recipient("+13035551234"),)


@pytest.mark.parametrize("bad", [42, [42], [None], [{"phone": "+1"}]])
def test_message_to_rejects_other_types(bad):
    with pytest.raises(TypeError):
        Message(to=bad)


def test_message_is_frozen_and_its_mappings_are_read_only():
    message = Message(to="+13035551234", body="hi", options={"a": 1},
                      attachments=[Attachment("https://x/y.png", "image/png")])
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        message.body = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        message.options["a"] = 2  # type: ignore[index]
    assert isinstance(message.attachments, tuple)
    assert message.attachments[0].size is None
    recipient = Recipient("+13035551234", variables={"n": 1})
    with pytest.raises(TypeError):
        recipient.variables["n"] = 2  # type: ignore[index]


def test_options_are_copied_not_shared():
    source = {"a": 1}
    message = Message(to="+13035551234", options=source)
    source["a"] = 2
    assert message.options["a"] == 1
    assert Message(to="+13035551234").options == {}


def test_recipient_property_needs_exactly_one():
    assert Message(to="+13035551234").recipient.phone == "+13035551234"
    for to in ([], ["+13035551234", "+17205550123"]):
        with pytest.raises(InvalidMessage, match="Dispatcher"):
            _ = Message(to=to).recipient


def test_recipient_repr_masks_the_number_and_hides_variable_values():
    text = repr(Recipient("+13035551234", variables={"name": "Ann Lee"}))
    assert text == "Recipient(phone='+1303*****34', variables=['name'])"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("delivered", DeliveryStatus.DELIVERED),
        (" Delivered ", DeliveryStatus.DELIVERED),
        ("QUEUED", DeliveryStatus.QUEUED),
        ("brand-new-state", DeliveryStatus.UNKNOWN),
        (None, DeliveryStatus.UNKNOWN),
        (42, DeliveryStatus.UNKNOWN),
        (DeliveryStatus.SENT, DeliveryStatus.SENT),
    ],
)
def test_delivery_status_parse_never_raises(raw, expected):
    assert DeliveryStatus.parse(raw) is expected


def test_status_enums_are_strings_and_know_final_states():
    assert str(DeliveryStatus.DELIVERED) == "delivered"
    assert DeliveryStatus.DELIVERED == "delivered"
    assert {s for s in DeliveryStatus if s.is_final} == {
        DeliveryStatus.DELIVERED, DeliveryStatus.FAILED, DeliveryStatus.RECEIVED}
    assert OutcomeStatus.parse("Skipped") is OutcomeStatus.SKIPPED
    assert OutcomeStatus.parse("later") is OutcomeStatus.UNKNOWN


def test_receipts_keep_raw_out_of_repr_and_batches_state_no_ids():
    receipt = Receipt(provider="p", message_id="m", status=DeliveryStatus.ACCEPTED,
                      to="+13035551234", raw={"secretish": "x"})
    assert "secretish" not in repr(receipt)
    batch = BatchReceipt(provider="p", to=("+13035551234",), http_status=202)
    assert batch.message_ids is None


def test_outcome_exposes_the_phone_and_ignores_the_exception_in_equality():
    recipient = Recipient("+13035551234")
    first = Outcome(recipient=recipient, status=OutcomeStatus.FAILED, exception=ValueError("a"))
    second = Outcome(recipient=recipient, status=OutcomeStatus.FAILED, exception=ValueError("b"))
    assert first.phone == "+13035551234"
    assert first == second
    assert "ValueError" not in repr(first)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"url": "https://x.example/a.png", "content_type": None}, "content_type"),
        ({"url": "https://x.example/a.png", "content_type": 7}, "content_type"),
        ({"url": ["https://x.example/a.png"], "content_type": "image/png"}, "url"),
        ({"url": None, "content_type": "image/png"}, "url"),
        ({"url": "", "content_type": "image/png"}, "url"),
        ({"url": "https://x.example/a.png", "content_type": "image/png", "size": "12"}, "size"),
        ({"url": "https://x.example/a.png", "content_type": "image/png", "size": 1.5}, "size"),
        ({"url": "https://x.example/a.png", "content_type": "image/png", "size": True}, "size"),
    ],
)
def test_attachment_with_a_wrongly_typed_field_is_an_attachment_error_at_construction(
    kwargs, field
):
    with pytest.raises(AttachmentError, match=f"Attachment.{field}"):
        Attachment(**kwargs)


@pytest.mark.parametrize(
    "attachments",
    [[{"url": "https://x.example/a.png", "content_type": "image/png"}], ["https://x.example/a"],
     "https://x.example/a.png"],
)
def test_message_attachments_must_be_attachment_objects(attachments):
    with pytest.raises(AttachmentError, match="Attachment"):
        Message(to="+13035551234", body="hi", attachments=attachments)


def test_a_well_formed_attachment_still_builds_and_an_empty_type_means_infer_it():
    attachment = Attachment("https://x.example/a.png", "", size=0)
    assert Message(to="+13035551234", attachments=[attachment]).attachments == (attachment,)


# --- every model holding a number masks it in its repr ----------------------------------------

_NUMBER = "+13035559876"
_NUMBER_FIELD = re.compile(
    r"^(phone|to|sender|from_|caller_id|caller_number|number_called|phone_numbers|phones|"
    r"recipient|(formatted_)?(account_)?phone_number)$"
)
_NOT_A_NUMBER = {("smsbridge.providers.textus.models", "Message", "sender")}  # a User IRI


def _number_value(field: attrs.Attribute) -> object:  # type: ignore[type-arg]
    kind = str(field.type)
    if "ContactPhone" in kind:
        from smsbridge.providers.textus.models import ContactPhone

        return (ContactPhone(phone_number=_NUMBER),)
    if "Recipient" in kind and not kind.startswith("tuple"):
        return Recipient(_NUMBER)
    return (_NUMBER,) if kind.startswith("tuple") else _NUMBER


def _filler(field: attrs.Attribute) -> object:  # type: ignore[type-arg]
    kind = str(field.type)
    if "OutcomeStatus" in kind:
        return OutcomeStatus.SENT
    if "DeliveryStatus" in kind:
        return DeliveryStatus.SENT
    return 1 if kind.startswith("int") else "x" if kind.startswith("str") else None


def _models_holding_numbers() -> list[tuple[str, type]]:
    found = []
    for info in pkgutil.walk_packages(smsbridge.__path__, "smsbridge."):
        if any(part in info.name for part in (".sandbox", ".cli", ".demo", ".redis")):
            continue
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if (isinstance(obj, type) and attrs.has(obj) and obj.__module__ == module.__name__
                    and any(_NUMBER_FIELD.match(f.name) for f in attrs.fields(obj))):
                found.append((f"{module.__name__}.{name}", obj))
    return found


def test_every_model_holding_a_phone_number_masks_it_in_its_repr():
    checked = []
    for qualname, cls in _models_holding_numbers():
        kwargs, shown = {}, False
        for field in attrs.fields(cls):
            if not field.init:
                continue
            key = field.alias or field.name
            if (_NUMBER_FIELD.match(field.name)
                    and (cls.__module__, cls.__name__, field.name) not in _NOT_A_NUMBER):
                kwargs[key] = _number_value(field)
                shown = shown or field.repr is not False
            elif field.default is attrs.NOTHING:
                kwargs[key] = _filler(field)
        text = repr(cls(**kwargs))
        assert "35559876" not in text, f"{qualname} shows a full number: {text}"
        if shown:  # masked, not merely left out
            assert "+1303*****76" in text, f"{qualname} shows no masked number: {text}"
        checked.append(qualname)
    # The walk found the models that carry numbers (not vacuously true).
    for expected in ("smsbridge.models.Message", "smsbridge.models.BatchReceipt",
                     "smsbridge.models.Receipt", "smsbridge.dispatch.spec.JobSpec",
                     "smsbridge.journal.report.JournalEntry", "smsbridge.testing.AcceptedMessage",
                     "smsbridge.providers.textus.models.Account",
                     "smsbridge.providers.trackdrive.models.TextMessage"):
        assert expected in checked
