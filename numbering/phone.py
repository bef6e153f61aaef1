"""Phone numbers as data: parsing with `phonenumbers`, types, and what each can do (rule 10).

Pure functions, no ORM.
"""

from dataclasses import dataclass

import phonenumbers
from django.core.exceptions import ValidationError
from phonenumbers import PhoneNumberType

MOBILE, LANDLINE, TOLL_FREE = "mobile", "landline", "toll_free"
VOICE, SMS, MMS = "voice", "sms", "mms"

# What a number can do, by country and type. SMS and MMS never exist on landlines (rule 10);
# a pair missing here can only carry voice.
CAPABILITIES: dict[tuple[str, str], tuple[str, ...]] = {
    ("FR", MOBILE): (VOICE, SMS, MMS),
    ("FR", LANDLINE): (VOICE,),
    ("FR", TOLL_FREE): (VOICE,),
    ("GB", MOBILE): (VOICE, SMS, MMS),
    ("GB", LANDLINE): (VOICE,),
    ("GB", TOLL_FREE): (VOICE,),
    ("ES", MOBILE): (VOICE, SMS, MMS),
    ("ES", LANDLINE): (VOICE,),
    ("ES", TOLL_FREE): (VOICE,),
    ("BE", MOBILE): (VOICE, SMS, MMS),
    ("BE", LANDLINE): (VOICE,),
    ("BE", TOLL_FREE): (VOICE,),
    ("DE", MOBILE): (VOICE, SMS, MMS),
    ("DE", LANDLINE): (VOICE,),
    ("DE", TOLL_FREE): (VOICE,),
    ("IT", MOBILE): (VOICE, SMS),
    ("IT", LANDLINE): (VOICE,),
    ("IT", TOLL_FREE): (VOICE,),
    ("US", MOBILE): (VOICE, SMS, MMS),
    ("US", LANDLINE): (VOICE,),
    ("US", TOLL_FREE): (VOICE, SMS),
}
SUPPORTED_COUNTRIES = sorted({country for country, _ in CAPABILITIES})

# phonenumbers' types as this product's. VoIP ranges (French 09) are landlines here: geographic
# in use, and without SMS. FIXED_LINE_OR_MOBILE (NANP) cannot tell: the declared type decides.
_TYPES = {
    PhoneNumberType.MOBILE: MOBILE,
    PhoneNumberType.FIXED_LINE: LANDLINE,
    PhoneNumberType.VOIP: LANDLINE,
    PhoneNumberType.TOLL_FREE: TOLL_FREE,
}


def capabilities_for(country: str, number_type: str) -> tuple[str, ...]:
    return CAPABILITIES.get((country, number_type), (VOICE,))


@dataclass(frozen=True)
class ParsedNumber:
    e164: str
    country: str
    number_type: str


def _invalid(message: str, field: str = "e164") -> ValidationError:
    return ValidationError({field: ValidationError(message, code="invalid_number")})


def parse_number(
    raw: str,
    *,
    declared_type: str | None = None,
    country: str | None = None,
    field: str = "e164",
) -> ParsedNumber:
    """Parse and validate a number; refuse one whose type contradicts the declared one.

    Raises a field error with code `invalid_number` (API.md) for anything that is not a valid,
    dialable number of a supported country, or whose type phonenumbers knows to be different.
    """
    text = (raw or "").strip()
    try:
        parsed = phonenumbers.parse(text, None if text.startswith("+") else (country or None))
    except phonenumbers.NumberParseException as exc:
        raise _invalid(f"{text!r} is not a phone number.", field) from exc
    if not phonenumbers.is_valid_number(parsed):
        raise _invalid(f"{text!r} is not a valid phone number.", field)
    region = phonenumbers.region_code_for_number(parsed)
    if region not in SUPPORTED_COUNTRIES:
        raise _invalid(f"Numbers of {region or 'this region'} are not offered.", field)
    if country and region != country.upper():
        raise _invalid(f"{text!r} is a number of {region}, not {country.upper()}.", field)
    known_type = _TYPES.get(phonenumbers.number_type(parsed))
    if declared_type and known_type and known_type != declared_type:
        raise _invalid(
            f"{text!r} is a {known_type.replace('_', ' ')} number, "
            f"not a {declared_type.replace('_', ' ')} one.",
            field,
        )
    number_type = known_type or declared_type
    if number_type is None:
        raise _invalid(f"The type of {text!r} cannot be told; give it.", field)
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return ParsedNumber(e164=e164, country=region, number_type=number_type)


def format_for_people(e164: str) -> str:
    """+33612345678 → "+33 6 12 34 56 78"."""
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
