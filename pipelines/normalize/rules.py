"""The rules for one value: an email address, a country code, a phone number in E.164.

Phones are read by Google's libphonenumber (the `phonenumbers` port): spaces, dashes, dots,
brackets, a spreadsheet's leading apostrophe, `+` or the international prefix of the record's
country (`00`, `011` in North America, `0011` in Australia...), trunk prefixes (`(0)`, the UK's
leading 0; kept where the country keeps it, as Italy does), extensions (`x123`, `ext. 12`,
`#12`: dropped) and letters on a keypad (`1-800-FLOWERS`).
"""

from __future__ import annotations

import re
from functools import cache, lru_cache

import phonenumbers
from phonenumbers import NumberParseException, PhoneMetadata, ValidationResult

# Common non-ISO spellings of a country code.
COUNTRY_ALIASES: dict[str, str] = {"UK": "GB"}
_ALPHA2 = re.compile(r"[A-Z]{2}")
# Distinct values remembered per process: identity resolution and the exports meet the same
# identifiers again and again (a customer's phone on each of their orders).
_CACHE_SIZE = 1 << 18


def email(value: str | None) -> str | None:
    """Trimmed (any Unicode white space) and lowercased; null when blank.

    Nothing else changes: Gmail's dots and `+tags` are kept, as Meta and Google hash the
    address as typed (removing them would match no one)."""
    if value is None:
        return None
    return value.strip().lower() or None


def country_code(value: str | None) -> str | None:
    """ISO 3166 alpha-2 in upper case (`UK` read as `GB`); null when not two letters."""
    if value is None:
        return None
    code = value.strip().lstrip("'").strip().upper()
    code = COUNTRY_ALIASES.get(code, code)
    return code if _ALPHA2.fullmatch(code) else None


@lru_cache(maxsize=_CACHE_SIZE)
def phone_e164(value: str | None, country: str | None, default_country: str) -> str | None:
    """`+<country code><number>`, or null when `value` cannot be read as a phone number.

    A number written without its country code is national: read as `country`'s (the record's),
    else as `default_country`'s. A leading `00` is read as an international prefix wherever it
    is not a national number (a North American record with a European number typed `0044 ...`).
    The number must have a length its country uses and fit that country's numbering plan in
    general (a North American area code never starts with 0 or 1); it need not be assigned to
    a carrier today, as the ad platforms hash any number (their examples use 555 numbers).
    """
    if value is None:
        return None
    region = country_code(country) or country_code(default_country)
    number = _parse(value, region)
    if number is None:
        digits = value.strip().lstrip("'").lstrip()
        if digits.startswith("00"):
            number = _parse("+" + digits[2:], None)
    return None if number is None else phonenumbers.format_number(number, _E164)


_E164 = phonenumbers.PhoneNumberFormat.E164


def _parse(value: str, region: str | None) -> phonenumbers.PhoneNumber | None:
    """The number if it parses, has a possible length and fits its country's general plan."""
    try:
        number = phonenumbers.parse(value, region)
    except NumberParseException:
        return None
    if phonenumbers.is_possible_number_with_reason(number) != ValidationResult.IS_POSSIBLE:
        return None
    national = phonenumbers.national_significant_number(number)
    plans = _general_plans(number.country_code)
    return number if any(plan.fullmatch(national) for plan in plans) else None


@cache
def _general_plans(calling_code: int) -> tuple[re.Pattern[str], ...]:
    """The general national number patterns of every region that uses `calling_code`."""
    regions = phonenumbers.region_codes_for_country_code(calling_code)
    metadata = [PhoneMetadata.metadata_for_region_or_calling_code(calling_code, r)
                for r in regions] or [PhoneMetadata.metadata_for_nongeo_region(calling_code)]
    return tuple(
        re.compile(m.general_desc.national_number_pattern)
        for m in metadata
        if m is not None and m.general_desc and m.general_desc.national_number_pattern
    )
