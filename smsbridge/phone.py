"""E.164 parsing and validation with phonenumbers, cached; masking for logs."""

from __future__ import annotations

import re
from functools import cache, lru_cache

import phonenumbers
from phonenumbers.phonemetadata import PhoneMetadata

from ._constants import DEFAULT_REGION, PHONE_CACHE_SIZE
from .errors import ConfigurationError, InvalidPhoneNumber

_default_region = DEFAULT_REGION
_PHONE_PATTERN = re.compile(r"\+?\d[\d\-\s().]{6,}\d")
# Canonical NANP E.164 ("+1" and ten digits, the first 2-9): phonenumbers.parse would build
# exactly PhoneNumber(1, digits) (no national prefix can be stripped), and a number valid for
# US is what is_valid_number finds first, so this shortcut gives the same answer at about a
# quarter of the cost. Anything else (and any number not valid for US) takes the full path.
_NANP_E164 = re.compile(r"\+1[2-9][0-9]{9}")
_NANP_MAIN_REGION = "US"
# The number types phonenumbers' _number_type_helper tries, in its order; a number is valid for
# a region when it matches the general description and any one of these.
_NUMBER_TYPES = ("premium_rate", "toll_free", "shared_cost", "voip", "personal_number", "pager",
                 "uan", "voicemail", "fixed_line", "mobile")


def check_region(region: str, *, name: str = "region") -> str:
    """``region`` as an upper-case ISO 3166 code phonenumbers knows, or a ConfigurationError
    naming the setting (``name``) it came from."""
    code = region.strip().upper() if isinstance(region, str) else ""
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise ConfigurationError(
            f"unknown {name} {region!r}; use a two-letter country code such as US, CA or GB")
    return code


def set_default_region(region: str | None) -> None:
    """Set the region used for numbers written without a country code ("(303) 555-1234")."""
    global _default_region
    _default_region = check_region(region) if region else ""


def get_default_region() -> str:
    return _default_region


def mask(number: str | None) -> str:
    """``+13035551234`` -> ``+1303*****34``: enough to tell numbers apart, not to dial them."""
    if not number:
        return ""
    if len(number) <= 7:
        return "*" * len(number)
    return number[:5] + "*" * (len(number) - 7) + number[-2:]


def masked_repr(value: object) -> str:
    """attrs ``repr=`` for a field holding a number, or a tuple/list of them."""
    if isinstance(value, str):
        return repr(mask(value))
    if isinstance(value, tuple | list):
        return repr(type(value)(mask(item) if isinstance(item, str) else item for item in value))
    return repr(value)


def mask_text(text: str) -> str:
    """Mask every phone-number-looking run inside free text (used by the log filter)."""
    return _PHONE_PATTERN.sub(lambda m: mask(re.sub(r"[^\d+]", "", m.group(0))), text)


@cache
def _ten_digit_patterns(region: str) -> tuple[re.Pattern[str], re.Pattern[str]] | None:
    """``is_valid_number_for_region`` for ten-digit national numbers, as two compiled regexes.

    phonenumbers tries each number type's pattern in turn (about 25 regex calls for a US
    number, three quarters of a new number's cost); the same patterns joined into one
    alternation give the same answer in one call. None when the metadata has no such patterns
    (then phonenumbers itself answers).
    """
    metadata = PhoneMetadata.metadata_for_region(region)
    if metadata is None:
        return None

    def pattern(name: str) -> str | None:
        desc = getattr(metadata, name, None)
        if desc is None or not desc.national_number_pattern:
            return None
        if desc.possible_length and 10 not in desc.possible_length:
            return None
        return str(desc.national_number_pattern)

    names = [n for n in _NUMBER_TYPES
             if n != "mobile" or not metadata.same_mobile_and_fixed_line_pattern]
    general = pattern("general_desc")
    types = [p for p in map(pattern, names) if p is not None]
    if general is None or not types:
        return None
    return re.compile(general), re.compile("|".join(f"(?:{p})" for p in types))


def _valid_nanp_for_main_region(national: str) -> bool:
    """Whether the ten digits after ``+1`` are a valid number for the NANP's main region."""
    patterns = _ten_digit_patterns(_NANP_MAIN_REGION)
    if patterns is None:
        return phonenumbers.is_valid_number_for_region(
            phonenumbers.PhoneNumber(country_code=1, national_number=int(national)),
            _NANP_MAIN_REGION,
        )
    general, any_type = patterns
    return general.fullmatch(national) is not None and any_type.fullmatch(national) is not None


@lru_cache(maxsize=PHONE_CACHE_SIZE)
def _normalize(number: str, region: str) -> str:
    if _NANP_E164.fullmatch(number) and _valid_nanp_for_main_region(number[2:]):
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
    stripped = number.strip() if isinstance(number, str) else ""
    if not stripped:
        raise InvalidPhoneNumber(
            "a phone number is required (got an empty value)", reason="empty"
        )
    return _normalize(stripped, _default_region if region is None else region.upper())


def is_valid(number: str, region: str | None = None) -> bool:
    try:
        normalize(number, region)
    except InvalidPhoneNumber:
        return False
    return True
