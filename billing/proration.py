"""Pro rata charges for purchases inside a billing period (design section 4).

Pure arithmetic, no ORM. The quotient `remaining days / period days` rarely has a finite decimal
expansion (21/30, 354/365), so the amount is carried as an exact `Fraction` and rounded to the
cent once, at the end; a Decimal division would round at 28 digits first, and a value such as
x.xx4999… could then round the wrong way.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

from billing.periods import Period

__all__ = ["prorate"]


def prorate(*, unit_price: Decimal, quantity: int, period: Period, on: date) -> Decimal:
    """Charge for `quantity` licences bought on local date `on` inside `period` (section 4).

    `quantity × unit_price × (end − on) / (end − start)` in days, `on` counted and `end` not,
    rounded once, half up, to the cent: a purchase on the first day costs a full period, one on
    the last day costs one day.
    """
    if not isinstance(unit_price, Decimal):
        raise TypeError(f"unit_price must be a Decimal, got {type(unit_price).__name__}")
    if not unit_price.is_finite():
        raise ValueError(f"unit_price is not finite: {unit_price}")
    if unit_price < 0:
        raise ValueError(f"unit_price cannot be negative: {unit_price}")
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise TypeError(f"quantity must be an int, got {type(quantity).__name__}")
    if quantity < 1:
        raise ValueError(f"quantity must be at least 1: {quantity}")
    if not isinstance(period, Period):
        raise TypeError(f"period must be a Period, got {type(period).__name__}")
    if not period.contains(on):
        raise ValueError(f"{on} is outside the period {period.start} .. {period.last_day}")

    remaining_days = (period.end - on).days
    amount = Fraction(unit_price) * quantity * remaining_days / period.days
    return _round_half_up_to_cents(amount)


def _round_half_up_to_cents(amount: Fraction) -> Decimal:
    # amount is never negative here (checked above), so half up is floor(x + 1/2) in cents.
    cents = int(amount * 100 + Fraction(1, 2))  # int() truncates, which is floor for x >= 0
    return Decimal(f"{cents}E-2")  # parsed exactly, whatever the context precision
