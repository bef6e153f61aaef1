"""Billing periods: anchors, clamping, tiling and local dates (design sections 2 and 4)."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.periods import (
    MONTHLY,
    YEARLY,
    Period,
    local_date,
    local_midnight,
    next_period,
    period_containing,
    period_start,
)


def d(text: str) -> date:
    return date.fromisoformat(text)


def starts(anchor: date, frequency: str, count: int) -> list[date]:
    return [period_start(anchor=anchor, frequency=frequency, index=i) for i in range(count)]


# --- Period -----------------------------------------------------------------------------------


def test_period_end_is_exclusive():
    period = Period(start=d("2026-04-01"), end=d("2026-05-01"))

    assert period.days == 30
    assert period.last_day == d("2026-04-30")
    assert period.contains(d("2026-04-01"))
    assert period.contains(d("2026-04-30"))
    assert not period.contains(d("2026-05-01"))
    assert not period.contains(d("2026-03-31"))


def test_period_is_frozen_and_compares_by_value():
    period = Period(start=d("2026-04-01"), end=d("2026-05-01"))

    assert period == Period(start=d("2026-04-01"), end=d("2026-05-01"))
    assert hash(period) == hash(Period(start=d("2026-04-01"), end=d("2026-05-01")))
    with pytest.raises(AttributeError):
        period.start = d("2026-04-02")


@pytest.mark.parametrize(
    ("start", "end"), [("2026-04-01", "2026-04-01"), ("2026-04-02", "2026-04-01")]
)
def test_period_must_end_after_it_starts(start, end):
    with pytest.raises(ValueError):
        Period(start=d(start), end=d(end))


def test_period_refuses_datetimes():
    # A datetime is a date subclass; mixing instants into local-date arithmetic is a bug.
    with pytest.raises(TypeError):
        Period(start=datetime(2026, 4, 1, tzinfo=UTC), end=d("2026-05-01"))
    with pytest.raises(TypeError):
        Period(start=d("2026-04-01"), end=d("2026-05-01")).contains(
            datetime(2026, 4, 2, tzinfo=UTC)
        )


def test_one_day_period():
    period = Period(start=d("2026-04-01"), end=d("2026-04-02"))

    assert period.days == 1
    assert period.last_day == period.start


# --- monthly anchors across February ----------------------------------------------------------


@pytest.mark.parametrize(
    ("anchor", "expected"),
    [
        # anchor 31: clamped in short months, restored in long ones (the design's chain)
        ("2026-01-31", ["2026-01-31", "2026-02-28", "2026-03-31", "2026-04-30", "2026-05-31"]),
        ("2027-01-31", ["2027-01-31", "2027-02-28", "2027-03-31", "2027-04-30", "2027-05-31"]),
        ("2028-01-31", ["2028-01-31", "2028-02-29", "2028-03-31", "2028-04-30", "2028-05-31"]),
        # anchor 30
        ("2026-01-30", ["2026-01-30", "2026-02-28", "2026-03-30", "2026-04-30", "2026-05-30"]),
        ("2027-01-30", ["2027-01-30", "2027-02-28", "2027-03-30", "2027-04-30", "2027-05-30"]),
        ("2028-01-30", ["2028-01-30", "2028-02-29", "2028-03-30", "2028-04-30", "2028-05-30"]),
        # anchor 29: only a leap February has the 29th
        ("2026-01-29", ["2026-01-29", "2026-02-28", "2026-03-29", "2026-04-29", "2026-05-29"]),
        ("2027-01-29", ["2027-01-29", "2027-02-28", "2027-03-29", "2027-04-29", "2027-05-29"]),
        ("2028-01-29", ["2028-01-29", "2028-02-29", "2028-03-29", "2028-04-29", "2028-05-29"]),
        # anchor 28: never clamped
        ("2026-01-28", ["2026-01-28", "2026-02-28", "2026-03-28", "2026-04-28", "2026-05-28"]),
        ("2027-01-28", ["2027-01-28", "2027-02-28", "2027-03-28", "2027-04-28", "2027-05-28"]),
        ("2028-01-28", ["2028-01-28", "2028-02-28", "2028-03-28", "2028-04-28", "2028-05-28"]),
    ],
)
def test_monthly_anchor_day_is_clamped_and_restored(anchor, expected):
    assert starts(d(anchor), MONTHLY, len(expected)) == [d(x) for x in expected]


@pytest.mark.parametrize(
    ("anchor", "on", "start", "end", "days"),
    [
        # anchor 31, common years 2026 and 2027
        ("2026-01-31", "2026-02-27", "2026-01-31", "2026-02-28", 28),
        ("2026-01-31", "2026-02-28", "2026-02-28", "2026-03-31", 31),
        ("2026-01-31", "2026-03-30", "2026-02-28", "2026-03-31", 31),
        ("2026-01-31", "2026-03-31", "2026-03-31", "2026-04-30", 30),
        ("2027-01-31", "2027-02-28", "2027-02-28", "2027-03-31", 31),
        # anchor 31, leap year 2028
        ("2028-01-31", "2028-02-28", "2028-01-31", "2028-02-29", 29),
        ("2028-01-31", "2028-02-29", "2028-02-29", "2028-03-31", 31),
        # anchor 30
        ("2026-01-30", "2026-02-15", "2026-01-30", "2026-02-28", 29),
        ("2026-01-30", "2026-03-01", "2026-02-28", "2026-03-30", 30),
        ("2028-01-30", "2028-02-29", "2028-02-29", "2028-03-30", 30),
        ("2028-01-30", "2028-02-28", "2028-01-30", "2028-02-29", 30),
        # anchor 29
        ("2026-01-29", "2026-02-28", "2026-02-28", "2026-03-29", 29),
        ("2026-01-29", "2026-02-27", "2026-01-29", "2026-02-28", 30),
        ("2027-01-29", "2027-03-28", "2027-02-28", "2027-03-29", 29),
        ("2028-01-29", "2028-02-28", "2028-01-29", "2028-02-29", 31),
        ("2028-01-29", "2028-02-29", "2028-02-29", "2028-03-29", 29),
        # anchor 28
        ("2026-01-28", "2026-02-28", "2026-02-28", "2026-03-28", 28),
        ("2028-01-28", "2028-02-29", "2028-02-28", "2028-03-28", 29),
        ("2027-01-28", "2027-02-27", "2027-01-28", "2027-02-28", 31),
    ],
)
def test_monthly_period_containing_across_february(anchor, on, start, end, days):
    period = period_containing(anchor=d(anchor), frequency=MONTHLY, on=d(on))

    assert period == Period(start=d(start), end=d(end))
    assert period.days == days


def test_monthly_anchor_on_the_first():
    period = period_containing(anchor=d("2026-01-01"), frequency=MONTHLY, on=d("2026-04-10"))

    assert period == Period(start=d("2026-04-01"), end=d("2026-05-01"))
    assert period.days == 30
    assert period.last_day == d("2026-04-30")


def test_anchor_31_chain_through_leap_february_and_back():
    anchor = d("2028-01-31")
    period = period_containing(anchor=anchor, frequency=MONTHLY, on=anchor)
    chain = [period]
    for _ in range(4):
        period = next_period(anchor=anchor, frequency=MONTHLY, period=period)
        chain.append(period)

    assert [(p.start, p.last_day, p.days) for p in chain] == [
        (d("2028-01-31"), d("2028-02-28"), 29),
        (d("2028-02-29"), d("2028-03-30"), 31),
        (d("2028-03-31"), d("2028-04-29"), 30),
        (d("2028-04-30"), d("2028-05-30"), 31),
        (d("2028-05-31"), d("2028-06-29"), 30),
    ]


def test_monthly_december_to_january_rollover():
    anchor = d("2026-01-15")

    december = period_containing(anchor=anchor, frequency=MONTHLY, on=d("2026-12-31"))
    january = next_period(anchor=anchor, frequency=MONTHLY, period=december)

    assert december == Period(start=d("2026-12-15"), end=d("2027-01-15"))
    assert january == Period(start=d("2027-01-15"), end=d("2027-02-15"))
    assert period_containing(anchor=anchor, frequency=MONTHLY, on=d("2027-01-14")) == december
    assert period_containing(anchor=anchor, frequency=MONTHLY, on=d("2027-01-15")) == january
    assert period_start(anchor=anchor, frequency=MONTHLY, index=11) == d("2026-12-15")
    assert period_start(anchor=anchor, frequency=MONTHLY, index=12) == d("2027-01-15")


def test_monthly_anchor_31_december_rollover():
    anchor = d("2026-10-31")

    assert starts(anchor, MONTHLY, 5) == [
        d("2026-10-31"),
        d("2026-11-30"),
        d("2026-12-31"),
        d("2027-01-31"),
        d("2027-02-28"),
    ]


def test_monthly_first_period_starts_at_the_anchor():
    anchor = d("2026-03-17")

    assert period_start(anchor=anchor, frequency=MONTHLY, index=0) == anchor
    assert period_containing(anchor=anchor, frequency=MONTHLY, on=anchor) == Period(
        start=anchor, end=d("2026-04-17")
    )


def test_period_containing_before_the_anchor_is_refused():
    with pytest.raises(ValueError):
        period_containing(anchor=d("2026-03-17"), frequency=MONTHLY, on=d("2026-03-16"))
    with pytest.raises(ValueError):
        period_containing(anchor=d("2026-03-17"), frequency=YEARLY, on=d("2025-12-31"))


def test_unknown_frequency_is_refused():
    with pytest.raises(ValueError):
        period_containing(anchor=d("2026-03-17"), frequency="weekly", on=d("2026-03-20"))
    with pytest.raises(ValueError):
        period_start(anchor=d("2026-03-17"), frequency="Monthly", index=0)


def test_negative_index_is_refused():
    with pytest.raises(ValueError):
        period_start(anchor=d("2026-03-17"), frequency=MONTHLY, index=-1)


def test_next_period_refuses_a_period_of_another_anchor():
    with pytest.raises(ValueError):
        next_period(
            anchor=d("2026-01-15"),
            frequency=MONTHLY,
            period=Period(start=d("2026-02-01"), end=d("2026-03-01")),
        )


def test_period_containing_is_computed_not_looped():
    # Eight thousand years of monthly periods: a loop from the anchor would take ~96,000 steps.
    anchor = d("0001-01-31")

    period = period_containing(anchor=anchor, frequency=MONTHLY, on=d("9999-12-15"))

    assert period == Period(start=d("9999-11-30"), end=d("9999-12-31"))
    assert period_start(anchor=anchor, frequency=MONTHLY, index=(9999 - 1) * 12 + 10) == d(
        "9999-11-30"
    )


# --- yearly -----------------------------------------------------------------------------------


def test_yearly_periods_from_feb_29_anchor():
    anchor = d("2028-02-29")

    assert starts(anchor, YEARLY, 6) == [
        d("2028-02-29"),
        d("2029-02-28"),
        d("2030-02-28"),
        d("2031-02-28"),
        d("2032-02-29"),
        d("2033-02-28"),
    ]


@pytest.mark.parametrize(
    ("on", "start", "end", "days"),
    [
        ("2028-02-29", "2028-02-29", "2029-02-28", 365),
        ("2029-02-27", "2028-02-29", "2029-02-28", 365),
        ("2029-02-28", "2029-02-28", "2030-02-28", 365),
        ("2031-03-01", "2031-02-28", "2032-02-29", 366),
        ("2032-02-28", "2031-02-28", "2032-02-29", 366),
        ("2032-02-29", "2032-02-29", "2033-02-28", 365),
    ],
)
def test_yearly_period_containing_with_feb_29_anchor(on, start, end, days):
    period = period_containing(anchor=d("2028-02-29"), frequency=YEARLY, on=d(on))

    assert period == Period(start=d(start), end=d(end))
    assert period.days == days


def test_yearly_period_across_a_leap_day_has_366_days():
    period = period_containing(anchor=d("2027-06-01"), frequency=YEARLY, on=d("2028-02-29"))

    assert period == Period(start=d("2027-06-01"), end=d("2028-06-01"))
    assert period.days == 366


def test_yearly_december_to_january_rollover():
    anchor = d("2026-12-31")

    first = period_containing(anchor=anchor, frequency=YEARLY, on=d("2027-12-30"))
    second = next_period(anchor=anchor, frequency=YEARLY, period=first)

    assert first == Period(start=d("2026-12-31"), end=d("2027-12-31"))
    assert second == Period(start=d("2027-12-31"), end=d("2028-12-31"))
    assert second.days == 366
    assert period_containing(anchor=anchor, frequency=YEARLY, on=d("2028-01-01")) == second


def test_yearly_365_day_period_from_the_first():
    period = period_containing(anchor=d("2026-01-01"), frequency=YEARLY, on=d("2026-01-12"))

    assert period == Period(start=d("2026-01-01"), end=d("2027-01-01"))
    assert period.days == 365
    assert period.last_day == d("2026-12-31")


# --- properties -------------------------------------------------------------------------------

anchors = st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 12, 31))
frequencies = st.sampled_from([MONTHLY, YEARLY])
day_ranges = {MONTHLY: (28, 31), YEARLY: (365, 366)}


def brute_force_period(anchor: date, frequency: str, on: date) -> Period:
    # Reference model: walk the periods from the anchor one by one.
    index = 0
    while period_start(anchor=anchor, frequency=frequency, index=index + 1) <= on:
        index += 1
    return Period(
        start=period_start(anchor=anchor, frequency=frequency, index=index),
        end=period_start(anchor=anchor, frequency=frequency, index=index + 1),
    )


@given(anchor=anchors, frequency=frequencies, count=st.integers(min_value=1, max_value=40))
def test_consecutive_periods_tile_without_gap_or_overlap(anchor, frequency, count):
    period = period_containing(anchor=anchor, frequency=frequency, on=anchor)
    assert period.start == anchor

    for index in range(count):
        assert period.start == period_start(anchor=anchor, frequency=frequency, index=index)
        following = next_period(anchor=anchor, frequency=frequency, period=period)
        assert following.start == period.end
        assert following.start == period.last_day + timedelta(days=1)
        low, high = day_ranges[frequency]
        assert low <= period.days <= high
        period = following


@given(anchor=anchors, frequency=frequencies, offset=st.integers(min_value=0, max_value=3_000))
def test_every_date_from_the_anchor_lies_in_exactly_one_period(anchor, frequency, offset):
    on = anchor + timedelta(days=offset)

    period = period_containing(anchor=anchor, frequency=frequency, on=on)

    assert period.contains(on)
    assert period == brute_force_period(anchor, frequency, on)
    # Neighbours do not contain it: no overlap.
    assert not next_period(anchor=anchor, frequency=frequency, period=period).contains(on)
    if period.start > anchor:
        previous = period_containing(
            anchor=anchor, frequency=frequency, on=period.start - timedelta(days=1)
        )
        assert previous.end == period.start
        assert not previous.contains(on)
    # Every day of the period maps back to the same period.
    assert period_containing(anchor=anchor, frequency=frequency, on=period.start) == period
    assert period_containing(anchor=anchor, frequency=frequency, on=period.last_day) == period


@given(anchor=anchors, frequency=frequencies, offset=st.integers(min_value=0, max_value=40_000))
def test_period_lengths_stay_in_range(anchor, frequency, offset):
    period = period_containing(anchor=anchor, frequency=frequency, on=anchor + timedelta(offset))
    low, high = day_ranges[frequency]

    assert low <= period.days <= high


@given(anchor=anchors, index=st.integers(min_value=0, max_value=1_200))
def test_monthly_start_restores_the_anchor_day_whenever_the_month_has_it(anchor, index):
    start = period_start(anchor=anchor, frequency=MONTHLY, index=index)
    next_month_first = (start.replace(day=1) + timedelta(days=32)).replace(day=1)
    days_in_month = (next_month_first - start.replace(day=1)).days

    assert start.day == min(anchor.day, days_in_month)
    assert (start.year * 12 + start.month) - (anchor.year * 12 + anchor.month) == index


# --- local dates ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "tz_name", "expected"),
    [
        # UTC+14: already tomorrow
        (datetime(2026, 12, 31, 10, 0, tzinfo=UTC), "Pacific/Kiritimati", "2027-01-01"),
        (datetime(2026, 12, 31, 9, 59, 59, tzinfo=UTC), "Pacific/Kiritimati", "2026-12-31"),
        # UTC-11: still yesterday
        (datetime(2027, 1, 1, 10, 59, tzinfo=UTC), "Pacific/Pago_Pago", "2026-12-31"),
        (datetime(2027, 1, 1, 11, 0, tzinfo=UTC), "Pacific/Pago_Pago", "2027-01-01"),
        # The same instant is two calendar days apart in the two zones.
        (datetime(2026, 6, 15, 12, 0, tzinfo=UTC), "Pacific/Kiritimati", "2026-06-16"),
        (datetime(2026, 6, 15, 12, 0, tzinfo=UTC), "Pacific/Pago_Pago", "2026-06-15"),
        (datetime(2026, 6, 15, 10, 59, tzinfo=UTC), "Pacific/Pago_Pago", "2026-06-14"),
        (datetime(2026, 3, 29, 0, 30, tzinfo=UTC), "Europe/Paris", "2026-03-29"),
        (datetime(2026, 3, 28, 22, 59, tzinfo=UTC), "Europe/Paris", "2026-03-28"),
    ],
)
def test_local_date_in_a_zone_far_from_utc(moment, tz_name, expected):
    assert local_date(moment, tz_name) == d(expected)


def test_local_date_accepts_any_aware_datetime():
    moment = datetime(2026, 12, 31, 23, 30, tzinfo=ZoneInfo("Pacific/Pago_Pago"))

    assert local_date(moment, "Pacific/Kiritimati") == d("2027-01-02")
    assert local_date(moment, "UTC") == d("2027-01-01")


def test_local_date_refuses_naive_datetime():
    with pytest.raises(ValueError):
        local_date(datetime(2026, 1, 1, 12, 0), "Europe/Paris")


def test_local_date_refuses_unknown_zone():
    with pytest.raises(Exception):  # noqa: B017 — zoneinfo raises ZoneInfoNotFoundError
        local_date(datetime(2026, 1, 1, 12, 0, tzinfo=UTC), "Mars/Olympus_Mons")


@pytest.mark.parametrize(
    ("day", "tz_name", "expected_utc"),
    [
        # Paris, spring forward on 2026-03-29 at 02:00 → 03:00 (+01:00 → +02:00)
        ("2026-03-28", "Europe/Paris", "2026-03-27T23:00:00+00:00"),
        ("2026-03-29", "Europe/Paris", "2026-03-28T23:00:00+00:00"),
        ("2026-03-30", "Europe/Paris", "2026-03-29T22:00:00+00:00"),
        # Paris, fall back on 2026-10-25 at 03:00 → 02:00 (+02:00 → +01:00)
        ("2026-10-25", "Europe/Paris", "2026-10-24T22:00:00+00:00"),
        ("2026-10-26", "Europe/Paris", "2026-10-25T23:00:00+00:00"),
        ("2027-01-01", "Pacific/Kiritimati", "2026-12-31T10:00:00+00:00"),
        ("2027-01-01", "Pacific/Pago_Pago", "2027-01-01T11:00:00+00:00"),
        ("2026-07-01", "UTC", "2026-07-01T00:00:00+00:00"),
    ],
)
def test_local_midnight(day, tz_name, expected_utc):
    result = local_midnight(d(day), tz_name)

    assert result == datetime.fromisoformat(expected_utc)
    assert result.utcoffset() == timedelta(0)


def test_local_midnight_days_around_paris_dst_changes_are_23_and_25_hours_long():
    spring = local_midnight(d("2026-03-30"), "Europe/Paris") - local_midnight(
        d("2026-03-29"), "Europe/Paris"
    )
    autumn = local_midnight(d("2026-10-26"), "Europe/Paris") - local_midnight(
        d("2026-10-25"), "Europe/Paris"
    )

    assert spring == timedelta(hours=23)
    assert autumn == timedelta(hours=25)


def test_local_midnight_when_the_clock_skips_midnight():
    # Chile moves from 24:00 (-04:00) straight to 01:00 (-03:00): the day starts at 01:00 local.
    result = local_midnight(d("2026-09-06"), "America/Santiago")

    assert result == datetime(2026, 9, 6, 4, 0, tzinfo=UTC)
    assert local_date(result, "America/Santiago") == d("2026-09-06")
    assert local_date(result - timedelta(seconds=1), "America/Santiago") == d("2026-09-05")


def test_local_midnight_when_midnight_is_inside_the_gap():
    # Toronto, 1919-03-30 23:30 EST jumped to 1919-03-31 00:30 EDT: no 00:00 on the 31st, and
    # the day started at the jump, 04:30 UTC, not at 05:00 as reading 00:00 as EST would give.
    result = local_midnight(d("1919-03-31"), "America/Toronto")

    assert result == datetime(1919, 3, 31, 4, 30, tzinfo=UTC)
    assert local_date(result, "America/Toronto") == d("1919-03-31")
    assert local_date(result - timedelta(seconds=1), "America/Toronto") == d("1919-03-30")


def test_local_midnight_of_a_skipped_day_is_the_next_midnight():
    # Kiritimati crossed the date line on 1994-12-31, which never happened there.
    skipped = local_midnight(d("1994-12-31"), "Pacific/Kiritimati")

    assert skipped == local_midnight(d("1995-01-01"), "Pacific/Kiritimati")
    assert local_date(skipped - timedelta(seconds=1), "Pacific/Kiritimati") == d("1994-12-30")


@given(
    # From 1995: Kiritimati skipped 1994-12-31 altogether (tested above).
    day=st.dates(min_value=date(1995, 1, 1), max_value=date(2060, 12, 31)),
    tz_name=st.sampled_from(
        [
            "UTC",
            "Europe/Paris",
            "Pacific/Kiritimati",
            "Pacific/Pago_Pago",
            "America/Santiago",
            "America/Havana",
            "Asia/Beirut",
            "Australia/Lord_Howe",
        ]
    ),
)
def test_local_midnight_is_the_first_instant_of_the_local_day(day, tz_name):
    start = local_midnight(day, tz_name)

    assert start.utcoffset() == timedelta(0)
    assert local_date(start, tz_name) == day
    assert local_date(start - timedelta(microseconds=1), tz_name) == day - timedelta(days=1)
    assert local_midnight(day + timedelta(days=1), tz_name) > start
