"""Pro rata for purchases inside a billing period (design section 4), to the cent."""

from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.periods import MONTHLY, YEARLY, Period, period_containing
from billing.proration import prorate
from telecom.money import to_cents

MONTHLY_PRICE = Decimal("249.95")
YEARLY_PRICE = Decimal("2399.95")
APRIL = Period(start=date(2026, 4, 1), end=date(2026, 5, 1))  # 30 days from the 1st
YEAR_2026 = Period(start=date(2026, 1, 1), end=date(2027, 1, 1))  # 365 days


# --- the design's worked examples -------------------------------------------------------------


def test_worked_example_purchase_on_the_10th_of_a_30_day_period():
    # 249.95 × 21/30 = 174.965 → 174.97 (half up; half even would give 174.96)
    assert prorate(unit_price=MONTHLY_PRICE, quantity=1, period=APRIL, on=date(2026, 4, 10)) == (
        Decimal("174.97")
    )


def test_worked_example_purchase_on_the_first_day_costs_a_full_period():
    assert prorate(unit_price=MONTHLY_PRICE, quantity=1, period=APRIL, on=date(2026, 4, 1)) == (
        Decimal("249.95")
    )


def test_worked_example_purchase_on_the_last_day_costs_one_day():
    # 249.95 / 30 = 8.331666… → 8.33
    assert prorate(unit_price=MONTHLY_PRICE, quantity=1, period=APRIL, on=date(2026, 4, 30)) == (
        Decimal("8.33")
    )


def test_worked_example_yearly_licence_bought_11_days_into_a_365_day_year():
    # 2399.95 × 354/365 = 2327.622… → 2327.62
    on = YEAR_2026.start + timedelta(days=11)

    assert YEAR_2026.days == 365
    assert prorate(unit_price=YEARLY_PRICE, quantity=1, period=YEAR_2026, on=on) == (
        Decimal("2327.62")
    )


def test_worked_examples_through_period_containing():
    monthly = period_containing(anchor=date(2026, 1, 1), frequency=MONTHLY, on=date(2026, 4, 10))
    yearly = period_containing(anchor=date(2026, 1, 1), frequency=YEARLY, on=date(2026, 1, 12))

    assert prorate(unit_price=MONTHLY_PRICE, quantity=1, period=monthly, on=date(2026, 4, 10)) == (
        Decimal("174.97")
    )
    assert prorate(unit_price=YEARLY_PRICE, quantity=1, period=yearly, on=date(2026, 1, 12)) == (
        Decimal("2327.62")
    )


# --- exact values -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("quantity", "on", "expected"),
    [
        # quantity × price × remaining / 30, rounded once for the whole line
        (2, date(2026, 4, 10), "349.93"),  # 349.93 exactly
        (3, date(2026, 4, 10), "524.90"),  # 524.895 → 524.90
        (3, date(2026, 4, 30), "25.00"),  # 749.85 / 30 = 24.995 → 25.00
        (10, date(2026, 4, 16), "1249.75"),  # 2499.5 × 15/30
        (7, date(2026, 4, 2), "1691.33"),  # 1749.65 × 29/30 = 1691.328…
    ],
)
def test_quantity_is_multiplied_before_rounding(quantity, on, expected):
    exact = Fraction(MONTHLY_PRICE) * quantity * (APRIL.end - on).days / APRIL.days
    reference = Decimal(int(exact * 100 + Fraction(1, 2))).scaleb(-2)

    result = prorate(unit_price=MONTHLY_PRICE, quantity=quantity, period=APRIL, on=on)

    assert result == reference == Decimal(expected)
    assert result.as_tuple().exponent == -2


@pytest.mark.parametrize(
    ("period", "on", "expected"),
    [
        # anchor 31 in a common year: Jan 31 → Feb 28 is 28 days
        (Period(start=date(2026, 1, 31), end=date(2026, 2, 28)), date(2026, 2, 14), "124.98"),
        # leap February: Jan 31 → Feb 29 is 29 days; 14/29
        (Period(start=date(2028, 1, 31), end=date(2028, 2, 29)), date(2028, 2, 15), "120.67"),
        # Feb 28 → Mar 31 is 31 days; one day
        (Period(start=date(2026, 2, 28), end=date(2026, 3, 31)), date(2026, 3, 30), "8.06"),
        # Dec 15 → Jan 15 spans the year end: 31 days, 15 left on Dec 31
        (Period(start=date(2026, 12, 15), end=date(2027, 1, 15)), date(2026, 12, 31), "120.94"),
    ],
)
def test_monthly_pro_rata_in_uneven_months(period, on, expected):
    assert prorate(unit_price=MONTHLY_PRICE, quantity=1, period=period, on=on) == Decimal(expected)


def test_yearly_pro_rata_in_a_leap_year_uses_366_days():
    period = Period(start=date(2028, 1, 1), end=date(2029, 1, 1))

    # 2399.95 × 355/366 = 2327.819… → 2327.82
    assert prorate(unit_price=YEARLY_PRICE, quantity=1, period=period, on=date(2028, 1, 12)) == (
        Decimal("2327.82")
    )
    # last day: 2399.95/366 = 6.557…
    assert prorate(unit_price=YEARLY_PRICE, quantity=1, period=period, on=date(2028, 12, 31)) == (
        Decimal("6.56")
    )


def test_exact_half_cent_rounds_up():
    # 0.05 × 1/10 = 0.005 exactly
    period = Period(start=date(2026, 4, 1), end=date(2026, 4, 11))

    assert prorate(unit_price=Decimal("0.05"), quantity=1, period=period, on=date(2026, 4, 10)) == (
        Decimal("0.01")
    )


def test_just_under_half_a_cent_rounds_down_despite_a_long_expansion():
    # 0.15 × 1/31 = 0.004838… → 0.00; 0.16 / 31 = 0.00516… → 0.01
    period = Period(start=date(2026, 3, 1), end=date(2026, 4, 1))

    assert prorate(unit_price=Decimal("0.15"), quantity=1, period=period, on=date(2026, 3, 31)) == (
        Decimal("0.00")
    )
    assert prorate(unit_price=Decimal("0.16"), quantity=1, period=period, on=date(2026, 3, 31)) == (
        Decimal("0.01")
    )


def test_free_licence_costs_zero():
    result = prorate(unit_price=Decimal("0"), quantity=5, period=APRIL, on=date(2026, 4, 10))

    assert result == Decimal("0.00")
    assert str(result) == "0.00"


def test_unit_price_with_more_than_two_decimals_is_rounded_once_at_the_end():
    # 10.005 × 2 = 20.01 for a full period; rounding the price first would give 20.02.
    assert prorate(
        unit_price=Decimal("10.005"), quantity=2, period=APRIL, on=APRIL.start
    ) == Decimal("20.01")


def test_large_amounts_keep_every_digit():
    price = Decimal("123456789012345678901234.99")

    result = prorate(unit_price=price, quantity=1000, period=APRIL, on=APRIL.start)

    assert result == price * 1000
    assert str(result) == "123456789012345678901234990.00"


# --- refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize("on", [date(2026, 3, 31), date(2026, 5, 1), date(2027, 4, 10)])
def test_purchase_outside_the_period_is_refused(on):
    with pytest.raises(ValueError):
        prorate(unit_price=MONTHLY_PRICE, quantity=1, period=APRIL, on=on)


@pytest.mark.parametrize("quantity", [0, -1])
def test_quantity_below_one_is_refused(quantity):
    with pytest.raises(ValueError):
        prorate(unit_price=MONTHLY_PRICE, quantity=quantity, period=APRIL, on=date(2026, 4, 10))


def test_negative_price_is_refused():
    with pytest.raises(ValueError):
        prorate(unit_price=Decimal("-0.01"), quantity=1, period=APRIL, on=date(2026, 4, 10))


@pytest.mark.parametrize("price", [249.95, "249.95", 249])
def test_price_must_be_a_decimal(price):
    with pytest.raises(TypeError):
        prorate(unit_price=price, quantity=1, period=APRIL, on=date(2026, 4, 10))


@pytest.mark.parametrize("price", ["NaN", "Infinity"])
def test_price_must_be_finite(price):
    with pytest.raises(ValueError):
        prorate(unit_price=Decimal(price), quantity=1, period=APRIL, on=date(2026, 4, 10))


@pytest.mark.parametrize("quantity", [1.0, True, Decimal("1")])
def test_quantity_must_be_an_int(quantity):
    with pytest.raises(TypeError):
        prorate(unit_price=MONTHLY_PRICE, quantity=quantity, period=APRIL, on=date(2026, 4, 10))


def test_arguments_are_keyword_only():
    with pytest.raises(TypeError):
        prorate(MONTHLY_PRICE, 1, APRIL, date(2026, 4, 10))


# --- properties -------------------------------------------------------------------------------

prices = st.integers(min_value=0, max_value=10**7).map(lambda cents: Decimal(cents).scaleb(-2))
quantities = st.integers(min_value=1, max_value=1_000)


@st.composite
def periods(draw):
    anchor = draw(st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 12, 31)))
    frequency = draw(st.sampled_from([MONTHLY, YEARLY]))
    offset = draw(st.integers(min_value=0, max_value=5_000))
    return period_containing(anchor=anchor, frequency=frequency, on=anchor + timedelta(offset))


@st.composite
def days_in(draw, period: Period):
    return period.start + timedelta(days=draw(st.integers(0, period.days - 1)))


@given(price=prices, quantity=quantities, period=periods())
def test_purchase_on_the_first_day_costs_a_full_period(price, quantity, period):
    result = prorate(unit_price=price, quantity=quantity, period=period, on=period.start)

    assert result == to_cents(quantity * price)


@given(price=prices, quantity=quantities, period=periods(), data=st.data())
def test_amount_is_between_zero_and_a_full_period(price, quantity, period, data):
    on = data.draw(days_in(period))

    result = prorate(unit_price=price, quantity=quantity, period=period, on=on)

    assert Decimal("0") <= result <= to_cents(quantity * price)
    assert result.as_tuple().exponent == -2


@given(price=prices, quantity=quantities, period=periods())
def test_purchase_on_the_last_day_costs_one_day(price, quantity, period):
    result = prorate(unit_price=price, quantity=quantity, period=period, on=period.last_day)

    exact_one_day = Fraction(quantity * price) / period.days
    assert result == Decimal(int(exact_one_day * 100 + Fraction(1, 2))).scaleb(-2)
    # The same, read as the brief states it; the division here is precise to 28 digits, far
    # beyond the cent, and prices have two decimals so no tie sits past the 28th digit.
    assert result == to_cents(quantity * price / period.days)


@given(price=prices, quantity=quantities, period=periods(), data=st.data())
def test_amount_does_not_increase_as_the_purchase_moves_later(price, quantity, period, data):
    earlier = data.draw(days_in(period))
    later = earlier + timedelta(days=data.draw(st.integers(0, (period.last_day - earlier).days)))

    assert prorate(unit_price=price, quantity=quantity, period=period, on=earlier) >= prorate(
        unit_price=price, quantity=quantity, period=period, on=later
    )


@given(price=prices, quantity=quantities, period=periods())
def test_amounts_over_a_whole_period_are_non_increasing_day_by_day(price, quantity, period):
    amounts = [
        prorate(unit_price=price, quantity=quantity, period=period, on=period.start + timedelta(i))
        for i in range(period.days)
    ]

    assert amounts == sorted(amounts, reverse=True)
    assert amounts[0] == to_cents(quantity * price)


@given(price=prices, quantity=quantities, period=periods(), data=st.data())
def test_amount_is_within_half_a_cent_of_the_exact_share(price, quantity, period, data):
    on = data.draw(days_in(period))
    exact = Fraction(price) * quantity * (period.end - on).days / period.days

    result = prorate(unit_price=price, quantity=quantity, period=period, on=on)

    assert -Fraction(1, 200) < Fraction(result) - exact <= Fraction(1, 200)
