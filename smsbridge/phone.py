"""E.164 parsing and validation with phonenumbers, cached; masking for logs."""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers

from ._constants import DEFAULT_REGION, PHONE_CACHE_SIZE
from .errors import InvalidPhoneNumber

_default_region = DEFAULT_REGION
_PHONE_PATTERN = re.compile(r"\+?\d[\d\-\s().]{6,}\d")
# Canonical NANP E.164 ("+1" and ten digits, the first 2-9): phonenumbers.parse would build
# exactly PhoneNumber(1, digits) (no national prefix can be stripped), and a number valid for
# US is what is_valid_number finds first, so this shortcut gives the same answer at about a
# quarter of the cost. Anything else (and any number not valid for US) takes the full path.
_NANP_E164 = re.compile(r"\+1[2-9][0-9]{9}")
_NANP_MAIN_REGION = "US"


def set_default_region(region: str | None) -> None:
    """Set the region used for numbers written without a country code ("(303) 555-1234")."""
    global _default_region
    _default_region = region.upper() if region else ""


def get_default_region() -> str:
    return _default_region


def mask(number: str | None) -> str:
    """``+13035551234`` -> ``+1303*****34``: enough to tell numbers apart, not to dial them."""
    if not number:
        return ""
    if len(number) <= 7:
        return "*" * len(number)
    return number[:5] + "*" * (len(number) - 7) + number[-2:]


def mask_text(text: str) -> str:
    """Mask every phone-number-looking run inside free text (used by the log filter)."""
    return _PHONE_PATTERN.sub(lambda m: mask(re.sub(r"[^\d+]", "", m.group(0))), text)


@lru_cache(maxsize=PHONE_CACHE_SIZE)
def _normalize(number: str, region: str) -> str:
    if _NANP_E164.fullmatch(number) and phonenumbers.is_valid_number_for_region(
        phonenumbers.PhoneNumber(country_code=1, national_number=int(number[2:])),
        _NANP_MAIN_REGION,
    ):
        return number
    try:
        parsed = phonenumbers.parse(number, region or None)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhoneNumber(
            f"{mask(number)!r} is not a phone number ({exc._msg}); "
            "write it in E.164 form like +13035551234",
            masked_number=mask(number),
            reason="unparseable",
        ) from None
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidPhoneNumber(
            f"{mask(number)!r} is not a valid phone number; check the digits and country code",
            masked_number=mask(number),
            reason="invalid_number",
        )
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def normalize(number: str, region: str | None = None) -> str:
    """Return ``number`` in E.164 form or raise :class:`InvalidPhoneNumber`."""
    if not isinstance(number, str) or not number.strip():
        raise InvalidPhoneNumber(
            "a phone number is required (got an empty value)", reason="empty"
        )
    return _normalize(number.strip(), _default_region if region is None else region.upper())


def is_valid(number: str, region: str | None = None) -> bool:
    try:
        normalize(number, region)
    except InvalidPhoneNumber:
        return False
    return True
