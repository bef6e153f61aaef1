"""Rule 16: the termination fee when a removal takes an organisation below its commitment."""

import datetime as dt
from decimal import Decimal

from billing.periods import period_start


def whole_months_between(start: dt.date, end: dt.date) -> int:
    """Whole months from `start` until `end` (anchor-day clamping as billing periods do)."""
    if end <= start:
        return 0
    months = (end.year - start.year) * 12 + (end.month - start.month)
    # Step back while the month boundary computed from `start` lands after `end`.
    while months > 0 and period_start(anchor=start, frequency="monthly", index=months) > end:
        months -= 1
    return months


def termination_fee(
    *,
    monthly_price: Decimal,
    committed: int,
    remaining: int,
    removed: int,
    effective_on: dt.date,
    ends_on: dt.date,
) -> Decimal:
    """For each removed licence that takes the count below the commitment: the monthly unit
    price times the whole months left between the removal's effective date and the end."""
    below = min(removed, max(0, committed - remaining))
    return (monthly_price * below * whole_months_between(effective_on, ends_on)).quantize(
        Decimal("0.01")
    )
