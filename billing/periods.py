"""Billing periods as local dates (design section 2 "billing period", section 4).

Pure functions, no ORM. A period is the half-open range `[start, end)` of local dates in the
organisation's time zone; `end` is the first day of the next period, which makes periods tile
without gaps or overlaps and makes day counts a plain subtraction.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = [
    "FREQUENCIES",
    "MONTHLY",
    "YEARLY",
    "Period",
    "local_date",
    "local_midnight",
    "next_period",
    "period_containing",
    "period_start",
]

MONTHLY = "monthly"
YEARLY = "yearly"
FREQUENCIES = (MONTHLY, YEARLY)

_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Period:
    """One billing period `[start, end)`: `end` is exclusive, the next period's first day."""

    start: date
    end: date

    def __post_init__(self) -> None:
        _require_date("start", self.start)
        _require_date("end", self.end)
        if self.end <= self.start:
            raise ValueError(f"period must end after it starts: {self.start} .. {self.end}")

    @property
    def days(self) -> int:
        """Length in days, the denominator of pro rata (design section 4)."""
        return (self.end - self.start).days

    @property
    def last_day(self) -> date:
        """Inclusive last day, as the API shows it."""
        return self.end - _ONE_DAY

    def contains(self, d: date) -> bool:
        """Whether local date `d` falls in the period (`start` counted, `end` not)."""
        _require_date("d", d)
        return self.start <= d < self.end


def period_start(*, anchor: date, frequency: str, index: int) -> date:
    """First day of period number `index` (0 is the anchor's own period).

    Design section 4: the anchor's day D is clamped to the month's length and restored when the
    month allows it, so every start is computed from the anchor, never from the previous start
    (which would let Feb 28 drag every later period to the 28th).
    """
    _require_date("anchor", anchor)
    _require_frequency(frequency)
    if isinstance(index, bool) or not isinstance(index, int):
        raise TypeError(f"index must be an int, got {type(index).__name__}")
    if index < 0:
        raise ValueError(f"period index cannot be negative: {index}")
    if frequency == MONTHLY:
        year, month0 = divmod(anchor.year * 12 + (anchor.month - 1) + index, 12)
        return _clamped(year, month0 + 1, anchor.day)
    return _clamped(anchor.year + index, anchor.month, anchor.day)


def period_containing(*, anchor: date, frequency: str, on: date) -> Period:
    """The period that contains local date `on`, for billing anchored on `anchor` (section 4).

    Computed from the calendar distance between `anchor` and `on`, so the cost does not grow with
    the age of the account.
    """
    _require_date("anchor", anchor)
    _require_date("on", on)
    _require_frequency(frequency)
    if on < anchor:
        raise ValueError(f"{on} is before the billing anchor {anchor}")
    if frequency == MONTHLY:
        index = (on.year - anchor.year) * 12 + (on.month - anchor.month)
    else:
        index = on.year - anchor.year
    # The period numbered by calendar distance starts in `on`'s month (or year); when that start
    # is still ahead of `on` (e.g. anchor day 20, on the 5th), `on` belongs to the one before.
    # index 0 starts at the anchor itself, which is never after `on`, so this stays >= 0.
    if period_start(anchor=anchor, frequency=frequency, index=index) > on:
        index -= 1
    return Period(
        start=period_start(anchor=anchor, frequency=frequency, index=index),
        end=period_start(anchor=anchor, frequency=frequency, index=index + 1),
    )


def next_period(*, anchor: date, frequency: str, period: Period) -> Period:
    """The period right after `period`, which must be one of the anchor's periods (section 4)."""
    if period_containing(anchor=anchor, frequency=frequency, on=period.start) != period:
        raise ValueError(f"{period} is not a {frequency} period anchored on {anchor}")
    return period_containing(anchor=anchor, frequency=frequency, on=period.end)


def local_date(moment: datetime, tz_name: str) -> date:
    """The calendar date of the aware instant `moment` in IANA zone `tz_name` (section 2)."""
    _require_aware(moment)
    return moment.astimezone(ZoneInfo(tz_name)).date()


def local_midnight(day: date, tz_name: str) -> datetime:
    """The first instant (aware, in UTC) of local date `day` in IANA zone `tz_name`.

    Usually 00:00 local. Where a DST change skips midnight (Chile, Cuba, Paraguay move their
    clocks at 00:00; Toronto in 1919 jumped from 23:30 to 00:30), the day starts at the
    transition instead; where midnight happens twice, the earlier one is the start. A day a zone
    skipped altogether (Kiritimati, 1994-12-31) has no instants: it "starts" where the next one
    does, so `[local_midnight(d), local_midnight(d + 1))` is empty rather than wrong.
    """
    _require_date("day", day)
    tz = ZoneInfo(tz_name)
    wall = datetime.combine(day, time.min)
    # fold=0 picks the earlier of two midnights; in a gap it uses the offset before the change.
    earliest = datetime.combine(day, time.min, tzinfo=tz).astimezone(UTC)
    if earliest.astimezone(tz).replace(tzinfo=None) == wall:
        return earliest
    return _first_instant_of(day, tz, wall=wall)


def _first_instant_of(day: date, tz: ZoneInfo, *, wall: datetime) -> datetime:
    # Midnight fell in a gap. With fold=1 the gap's wall time is read with the offset after the
    # change, an instant before the change (still the previous day); with fold=0 it is read with
    # the offset before, an instant after the change (already `day`). The day starts at the
    # change, found by bisection between the two; zone offsets are whole seconds.
    before = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    after = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    step = timedelta(seconds=1)
    while after - before > step:
        middle = before + (after - before) // 2
        middle = middle.replace(microsecond=0)
        if middle.astimezone(tz).date() >= day:
            after = middle
        else:
            before = middle
    return after


def _clamped(year: int, month: int, day: int) -> date:
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def _require_date(name: str, value: object) -> None:
    # A datetime is a date subclass; letting one in would compare instants with local dates.
    if isinstance(value, datetime) or not isinstance(value, date):
        raise TypeError(f"{name} must be a date, got {type(value).__name__}")


def _require_frequency(frequency: str) -> None:
    if frequency not in FREQUENCIES:
        raise ValueError(f"unknown billing frequency: {frequency!r}")


def _require_aware(moment: datetime) -> None:
    if not isinstance(moment, datetime):
        raise TypeError(f"moment must be a datetime, got {type(moment).__name__}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("moment must be timezone-aware")
