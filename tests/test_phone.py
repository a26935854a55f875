"""E.164 normalisation (regions, caching, the NANP fast path) and masking for logs."""

from __future__ import annotations

import random

import phonenumbers
import pytest

from smsbridge import InvalidPhoneNumber, phone


@pytest.fixture
def region():
    """Restore the process-wide default region after a test changes it."""
    saved = phone.get_default_region()
    yield
    phone.set_default_region(saved)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+13035551234", "+13035551234"),
        ("(303) 555-1234", "+13035551234"),
        ("303.555.1234", "+13035551234"),
        ("1-303-555-1234", "+13035551234"),
        ("  +1 303 555 1234  ", "+13035551234"),
        ("+442079460018", "+442079460018"),
        ("+12042345678", "+12042345678"),  # Canada: NANP but not a US number
    ],
)
def test_normalize_gives_e164_with_the_default_us_region(raw, expected):
    assert phone.normalize(raw) == expected


def test_explicit_region_wins_and_is_case_insensitive():
    assert phone.normalize("020 7946 0018", "gb") == "+442079460018"
    assert phone.normalize("020 7946 0018", "GB") == "+442079460018"
    with pytest.raises(InvalidPhoneNumber):
        phone.normalize("020 7946 0018", "US")


def test_default_region_can_be_changed_or_disabled(region):
    phone.set_default_region("gb")
    assert phone.get_default_region() == "GB"
    assert phone.normalize("020 7946 0018") == "+442079460018"
    phone.set_default_region(None)
    with pytest.raises(InvalidPhoneNumber) as caught:
        phone.normalize("(303) 555-1234")  # no region: a national number cannot be placed
    assert caught.value.reason == "unparseable"
    assert phone.normalize("+13035551234") == "+13035551234"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("hello", "unparseable"),
        ("+1303555", "invalid_number"),
        ("+10005551234", "invalid_number"),
        ("+999123456789", "unparseable"),
    ],
)
def test_invalid_numbers_raise_with_a_reason_and_a_masked_number(raw, reason):
    with pytest.raises(InvalidPhoneNumber) as caught:
        phone.normalize(raw)
    assert caught.value.reason == reason
    if len(raw.strip()) > 7:
        assert raw not in str(caught.value)
        assert caught.value.masked_number == phone.mask(raw.strip())


def test_non_strings_are_rejected():
    with pytest.raises(InvalidPhoneNumber):
        phone.normalize(None)  # type: ignore[arg-type]


def test_the_same_number_is_parsed_once():
    phone._normalize.cache_clear()
    for _ in range(5):
        phone.normalize("(720) 555-0123")
    info = phone._normalize.cache_info()
    assert (info.misses, info.hits) == (1, 4)


@pytest.mark.parametrize("number", ["+13035551234", "+12125550123", "+18095551234",
                                    "+12042345678", "+16135550123", "+19005551234"])
def test_nanp_fast_path_agrees_with_a_full_parse(number):
    phone._normalize.cache_clear()
    full = phonenumbers.parse(number, None)
    expected = (phonenumbers.format_number(full, phonenumbers.PhoneNumberFormat.E164)
                if phonenumbers.is_valid_number(full) else None)
    assert (phone.normalize(number) if phone.is_valid(number) else None) == expected


def test_precompiled_us_check_agrees_with_phonenumbers_in_every_area_code():
    rng = random.Random(1)
    numbers = [f"{npa}{rng.randrange(10**7):07d}" for npa in range(200, 1000) for _ in range(8)]
    numbers += ["2015550123", "8005550123", "9005550123", "5235550123", "2125550123"]
    disagree = [
        n for n in numbers
        if phone._valid_nanp_for_main_region(n) != phonenumbers.is_valid_number_for_region(
            phonenumbers.PhoneNumber(country_code=1, national_number=int(n)), "US")
    ]
    assert disagree == []
    assert any(map(phone._valid_nanp_for_main_region, numbers))  # not vacuous: some are valid


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("+13035551234", "+1303*****34"),
        ("+442079460018", "+4420******18"),
        ("1234567", "*******"),
        ("", ""),
        (None, ""),
    ],
)
def test_mask_keeps_enough_to_tell_numbers_apart(number, masked):
    assert phone.mask(number) == masked


def test_mask_text_masks_every_number_in_free_text():
    text = "sent to +1 (303) 555-1234 and 720-555-0123; attempt 2 of 3, code 42"
    masked = phone.mask_text(text)
    assert "555-1234" not in masked and "0123" not in masked
    assert "+1303*****34" in masked
    assert "attempt 2 of 3, code 42" in masked


def test_is_valid():
    assert phone.is_valid("+13035551234")
    assert not phone.is_valid("nope")
