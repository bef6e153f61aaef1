"""Money helpers: exact Decimals, one half-up rounding to the cent (design section 4)."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from telecom.money import CENT, money, tax_amount, to_cents

# --- to_cents ---------------------------------------------------------------------------------


def test_cent_is_one_hundredth():
    assert str(CENT) == "0.01"
    assert CENT.as_tuple().exponent == -2


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0.125", "0.13"),  # half-even would give 0.12
        ("0.135", "0.14"),
        ("10.005", "10.01"),  # half-even would give 10.00
        ("174.965", "174.97"),  # the design's worked example
        ("0.004999999", "0.00"),
        ("0.005", "0.01"),
        ("8.3316666666666666666", "8.33"),
        ("2327.6220547945205479", "2327.62"),
        ("249.95", "249.95"),
        ("7", "7.00"),
        ("0", "0.00"),
        ("-0.125", "-0.13"),  # away from zero: a credit mirrors its charge
    ],
)
def test_to_cents_rounds_half_up(value, expected):
    result = to_cents(Decimal(value))

    assert result == Decimal(expected)
    assert str(result) == expected
    assert result.as_tuple().exponent == -2


def test_to_cents_keeps_every_digit_of_a_large_amount():
    # 31 significant digits: more than the default decimal context's 28.
    assert str(to_cents(Decimal("123456789012345678901234567890.125"))) == (
        "123456789012345678901234567890.13"
    )


def test_to_cents_refuses_float():
    with pytest.raises(TypeError):
        to_cents(0.125)


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity"])
def test_to_cents_refuses_non_finite(value):
    with pytest.raises(ValueError):
        to_cents(Decimal(value))


@given(st.decimals(allow_nan=False, allow_infinity=False, min_value=-(10**12), max_value=10**12))
def test_to_cents_is_within_half_a_cent_and_idempotent(value):
    rounded = to_cents(value)

    assert abs(rounded - value) <= Decimal("0.005")
    assert to_cents(rounded) == rounded
    assert rounded.as_tuple().exponent == -2


# --- money ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("249.95", Decimal("249.95")),
        (" 12.50 ", Decimal("12.50")),
        ("0.1", Decimal("0.1")),
        ("2399.950", Decimal("2399.950")),  # exact: not rounded here, only at the end
        ("-3.20", Decimal("-3.20")),
        (250, Decimal("250")),
        (Decimal("0.125"), Decimal("0.125")),
    ],
)
def test_money_parses_exactly(value, expected):
    result = money(value)

    assert isinstance(result, Decimal)
    assert result == expected
    assert result.as_tuple() == expected.as_tuple()


def test_money_string_avoids_float_error():
    assert money("0.1") + money("0.2") == Decimal("0.3")


@pytest.mark.parametrize("value", [0.1, 249.95, 1.0, True, None, [1], b"1.00"])
def test_money_refuses_float_and_other_types(value):
    with pytest.raises(TypeError):
        money(value)


@pytest.mark.parametrize("value", ["", "abc", "1,50", "NaN", "Infinity", "-inf", "sNaN"])
def test_money_refuses_text_that_is_not_a_finite_amount(value):
    with pytest.raises(ValueError):
        money(value)


def test_money_refuses_non_finite_decimal():
    with pytest.raises(ValueError):
        money(Decimal("NaN"))


# --- tax_amount -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("subtotal", "rate", "expected"),
    [
        ("100.05", "0.1000", "10.01"),  # 10.005 exactly: half up, not half even
        ("0.25", "0.5000", "0.13"),  # 0.125
        ("50.03", "0.2000", "10.01"),  # 10.006
        ("50.02", "0.2000", "10.00"),  # 10.004
        ("249.95", "0.2000", "49.99"),  # 49.990
        ("174.97", "0.2000", "34.99"),  # 34.994
        ("8.33", "0.2000", "1.67"),  # 1.666
        ("2327.62", "0.2000", "465.52"),  # 465.524
        ("2327.62", "0.0550", "128.02"),  # 128.0191
        ("99.99", "0.0000", "0.00"),
        ("0.00", "0.2000", "0.00"),
    ],
)
def test_tax_amount_is_rate_times_subtotal_rounded_half_up(subtotal, rate, expected):
    result = tax_amount(subtotal=Decimal(subtotal), rate=Decimal(rate))

    assert str(result) == expected


def test_tax_amount_multiplies_without_intermediate_rounding():
    # Exact product: 0.00499999999999999999999999999999 (30 significant digits), just under half
    # a cent. The default 28-digit context would first round it to 0.005000… and bill a cent.
    subtotal = Decimal("0.0499999999999999999999999999999")
    rate = Decimal("0.1")

    assert tax_amount(subtotal=subtotal, rate=rate) == Decimal("0.00")


def test_tax_amount_takes_keyword_arguments_only():
    with pytest.raises(TypeError):
        tax_amount(Decimal("1.00"), Decimal("0.2"))


def test_tax_amount_refuses_float():
    with pytest.raises(TypeError):
        tax_amount(subtotal=100.05, rate=Decimal("0.1"))
    with pytest.raises(TypeError):
        tax_amount(subtotal=Decimal("100.05"), rate=0.1)


def test_tax_amount_refuses_a_negative_rate():
    with pytest.raises(ValueError):
        tax_amount(subtotal=Decimal("100.00"), rate=Decimal("-0.2"))


@given(
    cents=st.integers(min_value=0, max_value=10**11),
    rate_bp=st.integers(min_value=0, max_value=10_000),
)
def test_tax_amount_matches_integer_half_up(cents, rate_bp):
    subtotal = Decimal(cents).scaleb(-2)
    rate = Decimal(rate_bp).scaleb(-4)

    # Exact reference in integers: tax in units of 1e-6, rounded half up to 1e-2.
    exact_micro = cents * rate_bp
    expected_cents = (exact_micro + 5_000) // 10_000

    assert tax_amount(subtotal=subtotal, rate=rate) == Decimal(expected_cents).scaleb(-2)
