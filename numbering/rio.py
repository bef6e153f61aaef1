"""RIO, the French "relevé d'identité opérateur" a mobile number is ported with (docs/rules.md).

Pure functions, no ORM. A RIO is 12 characters, `OO Q RRRRRR KKK`: the operator code, the
contract letter (`P` or `E` for mobiles), a six-character customer reference and a
three-character control key computed over the RIO's first nine characters followed by the
10-digit national number (`06…`, `07…`).
"""

import re

from django.core.exceptions import ValidationError

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+"
_POSITION = {ch: index for index, ch in enumerate(ALPHABET)}
_MODULUS = len(ALPHABET)  # 37

RIO_LENGTH = 12
_FORMAT = re.compile(r"^[A-Z0-9]{2}[PE][A-Z0-9]{6}[A-Z0-9+]{3}$")
_NATIONAL_MOBILE = re.compile(r"^0[67][0-9]{8}$")


def normalise_rio(raw: str | None) -> str:
    """Upper-case and drop every space, as people read a RIO out in groups."""
    return "".join((raw or "").split()).upper()


def rio_key(first_nine: str, national_number: str) -> str:
    """The three-character control key of a RIO for a 10-digit national number.

    Over the 19 characters, with `p` each one's position in the alphabet:
    `a = (a + p) % 37`, `b = (2b + p) % 37`, `c = (4c + p) % 37`; the key is the letters at
    `a`, `b` and `c`.
    """
    a = b = c = 0
    for ch in first_nine + national_number:
        p = _POSITION[ch]
        a = (a + p) % _MODULUS
        b = (2 * b + p) % _MODULUS
        c = (4 * c + p) % _MODULUS
    return ALPHABET[a] + ALPHABET[b] + ALPHABET[c]


def national_number_fr(e164: str) -> str:
    """+33612345678 → 0612345678 (the form the RIO key is computed over)."""
    if not e164.startswith("+33"):
        raise ValueError(f"{e164} is not a French number.")
    return "0" + e164[3:]


def rio_problem(rio: str, national_number: str) -> str | None:
    """Why `rio` (already normalised) is not a valid RIO for the number, or None if it is."""
    if len(rio) != RIO_LENGTH:
        return f"A RIO has {RIO_LENGTH} characters; this one has {len(rio)}."
    if not _FORMAT.match(rio):
        return (
            "A RIO reads OO Q RRRRRR KKK: a two-character operator code, P or E for a "
            "mobile contract, a six-character reference and a three-character key."
        )
    if not _NATIONAL_MOBILE.match(national_number):
        return "A RIO is checked against a French mobile number (06… or 07…)."
    if rio_key(rio[:9], national_number) != rio[9:]:
        return "This RIO does not match the number: its control key is wrong."
    return None


def is_valid_rio(rio: str, national_number: str) -> bool:
    return rio_problem(normalise_rio(rio), national_number) is None


def validate_rio(raw: str | None, *, e164: str, field: str = "rio") -> str:
    """Return the normalised RIO for the number, or raise a field error (`rio_required`,
    `invalid_rio`)."""
    rio = normalise_rio(raw)
    if not rio:
        raise ValidationError(
            {
                field: ValidationError(
                    "A French mobile number is ported with its RIO "
                    "(call 3179 from the line to get it).",
                    code="rio_required",
                )
            }
        )
    problem = rio_problem(rio, national_number_fr(e164))
    if problem:
        raise ValidationError({field: ValidationError(problem, code="invalid_rio")})
    return rio
