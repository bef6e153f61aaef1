"""RIO (docs/rules.md, reference data): format, control key, normalisation. Pure functions."""

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from numbering.rio import (
    ALPHABET,
    is_valid_rio,
    national_number_fr,
    normalise_rio,
    rio_key,
    rio_problem,
    validate_rio,
)


def code_of(exc: ValidationError, field: str = "rio") -> str:
    return exc.error_dict[field][0].code


@pytest.mark.parametrize(
    ("number", "rio"),
    [
        ("0612345678", "02P000001K9X"),
        ("0755555555", "03E987654GSP"),
    ],
)
def test_design_examples_are_valid(number, rio):
    assert rio_key(rio[:9], number) == rio[9:]
    assert is_valid_rio(rio, number)


def test_design_invalid_example():
    assert rio_key("01P123456", "0612345670") == "VYI"
    assert not is_valid_rio("01P12345636Q", "0612345670")
    assert rio_problem("01P12345636Q", "0612345670") == (
        "This RIO does not match the number: its control key is wrong."
    )


def test_the_key_belongs_to_one_number():
    assert not is_valid_rio("02P000001K9X", "0612345679")
    # The design's invalid example is the RIO of 0612345678 checked against 0612345670.
    assert is_valid_rio("01P12345636Q", "0612345678")


def test_lower_case_and_spaces_are_normalised():
    assert normalise_rio(" 02 p 000001 k9x ") == "02P000001K9X"
    assert is_valid_rio("02p000001k9x", "0612345678")
    assert validate_rio("02 P 000001 K9X", e164="+33612345678") == "02P000001K9X"
    assert validate_rio("03e 987 654 gsp", e164="+33755555555") == "03E987654GSP"


@pytest.mark.parametrize("rio", ["02P000001K9", "02P000001K9XX", "", "02P"])
def test_wrong_length(rio):
    problem = rio_problem(rio, "0612345678")
    assert problem == f"A RIO has 12 characters; this one has {len(rio)}."


def test_a_plus_in_the_key_is_a_valid_key_character():
    # The alphabet's 37th character: keys can contain it (computed: 02P000004 → N+L).
    assert rio_key("02P000004", "0612345678") == "N+L"
    assert is_valid_rio("02P000004N+L", "0612345678")
    assert is_valid_rio("01E000036P8+", "0798765432")
    assert not is_valid_rio("02P000004N+M", "0612345678")


@pytest.mark.parametrize(
    "rio",
    [
        "+2P000004N+L",  # a + outside the key
        "02P00+004N+L",
        "02X000001K9X",  # contract letter must be P or E for a mobile
        "02P000001K9-",  # a character outside the alphabet
        "0éP000001K9X",
    ],
)
def test_bad_format(rio):
    assert rio_problem(rio, "0612345678").startswith("A RIO reads OO Q RRRRRR KKK")


def test_only_against_a_french_mobile_number():
    assert rio_problem("02P000001K9X", "0112345678") == (
        "A RIO is checked against a French mobile number (06… or 07…)."
    )


def test_field_errors():
    with pytest.raises(ValidationError) as missing:
        validate_rio("", e164="+33612345678")
    with pytest.raises(ValidationError) as spaces_only:
        validate_rio("   ", e164="+33612345678")
    with pytest.raises(ValidationError) as wrong:
        validate_rio("01P12345636Q", e164="+33612345670")
    with pytest.raises(ValidationError) as short:
        validate_rio("02P000001K9", e164="+33612345678")

    assert code_of(missing.value) == code_of(spaces_only.value) == "rio_required"
    assert code_of(wrong.value) == code_of(short.value) == "invalid_rio"


def test_national_number():
    assert national_number_fr("+33612345678") == "0612345678"
    with pytest.raises(ValueError):
        national_number_fr("+447400123456")


reference = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=6, max_size=6)
operator = st.text(alphabet="0123456789", min_size=2, max_size=2)
mobile = st.from_regex(r"\A0[67][0-9]{8}\Z")


@given(operator=operator, contract=st.sampled_from("PE"), ref=reference, number=mobile)
def test_property_a_computed_key_validates_and_any_other_key_does_not(
    operator, contract, ref, number
):
    first_nine = f"{operator}{contract}{ref}"
    key = rio_key(first_nine, number)

    assert len(key) == 3 and all(ch in ALPHABET for ch in key)
    assert is_valid_rio(first_nine + key, number)
    assert is_valid_rio((first_nine + key).lower(), number)
    other = ALPHABET[(ALPHABET.index(key[0]) + 1) % len(ALPHABET)] + key[1:]
    assert not is_valid_rio(first_nine + other, number)
