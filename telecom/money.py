"""Money helpers (design section 4: money is `Decimal`, never float, two decimals).

Every amount the product shows or bills passes through `to_cents` exactly once, at the end of
its computation, so that a line is never rounded twice.
"""

from __future__ import annotations

from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, ROUND_HALF_UP, Context, Decimal, Inexact

__all__ = [
    "AMOUNT_MAX_DIGITS",
    "CENT",
    "MAX_AMOUNT",
    "MAX_UNIT_PRICE",
    "money",
    "tax_amount",
    "to_cents",
]

CENT = Decimal("0.01")

# The bounds that keep every invoice amount inside its column (docs/rules.md#rule-22 for devices,
# the catalogue for licences). A unit price in the catalogue (a licence's monthly or yearly
# price, a device's) is at most MAX_UNIT_PRICE; one purchase or order is at most MAX_QUANTITY
# (telecom.quantities) units, so its line is under 10^8 and its total, with a tax rate under
# 100 %, under 2 x 10^8. Invoice amounts (subtotal, tax, total, a line's or a charge's amount, a
# payment) are numeric(AMOUNT_MAX_DIGITS, 2): a renewal, which bills every licence held, would
# need more than 10^8 licences at the highest price to overflow it.
MAX_UNIT_PRICE = Decimal("99999.99")
AMOUNT_MAX_DIGITS = 16
MAX_AMOUNT = Decimal(10) ** (AMOUNT_MAX_DIGITS - 2) - CENT

# Multiplying two Decimals is exact when the precision can hold every digit; the default
# context (28 digits, half-even) would silently round a long product before our own rounding.
# Trapping Inexact turns any accidental rounding into an error instead of a wrong cent.
_EXACT = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN, traps=[Inexact])
# Rounding to the cent is the one place we do want to discard digits; the wide precision keeps
# quantize from failing on large amounts, as it would once the result passes 28 digits.
_ROUNDING = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN, rounding=ROUND_HALF_UP)


def to_cents(value: Decimal) -> Decimal:
    """Round `value` once, half up, to the cent (design section 4).

    Half up means half away from zero, so a negative amount (a credit) rounds symmetrically with
    the matching charge: 0.125 -> 0.13 and -0.125 -> -0.13.
    """
    if not isinstance(value, Decimal):
        raise TypeError(f"to_cents expects a Decimal, got {type(value).__name__}")
    if not value.is_finite():
        raise ValueError(f"not a finite amount: {value}")
    return value.quantize(CENT, rounding=ROUND_HALF_UP, context=_ROUNDING)


def money(value: str | int | Decimal) -> Decimal:
    """Parse `value` into an exact, unrounded Decimal (design section 4: never float).

    Floats are refused rather than converted: `0.1` as a float is already not 0.1, and the error
    would surface as a cent off on some invoice far from here.
    """
    # bool is an int subclass; True is not an amount.
    if isinstance(value, float | bool) or not isinstance(value, str | int | Decimal):
        raise TypeError(f"money expects str, int or Decimal, got {type(value).__name__}")
    if isinstance(value, Decimal):
        parsed = value
    elif isinstance(value, int):
        parsed = Decimal(value)
    else:
        try:
            parsed = Decimal(value.strip())
        except ArithmeticError as exc:  # decimal.InvalidOperation
            raise ValueError(f"not an amount: {value!r}") from exc
    if not parsed.is_finite():
        raise ValueError(f"not a finite amount: {value!r}")
    return parsed


def tax_amount(*, subtotal: Decimal, rate: Decimal) -> Decimal:
    """Tax on an invoice subtotal: `subtotal × rate` rounded half up to the cent (section 4).

    `rate` is a fraction, e.g. Decimal("0.2000") for 20 %.
    """
    for name, value in (("subtotal", subtotal), ("rate", rate)):
        if not isinstance(value, Decimal):
            raise TypeError(f"{name} must be a Decimal, got {type(value).__name__}")
        if not value.is_finite():
            raise ValueError(f"{name} is not finite: {value}")
    if rate < 0:
        raise ValueError(f"tax rate cannot be negative: {rate}")
    return to_cents(_EXACT.multiply(subtotal, rate))
