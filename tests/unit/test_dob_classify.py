"""How two dates of birth differ (DESIGN section 2): every class and their precedence."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from arkinctl.services.dob import DESCRIPTIONS, DIFFERENCE_CLASSES, classify_difference


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        # day and month swapped (same year)
        (date(1985, 3, 4), date(1985, 4, 3), "day_month_swapped"),
        (date(1990, 12, 1), date(1990, 1, 12), "day_month_swapped"),
        # one day apart, also across month, year and leap-day boundaries
        (date(1990, 7, 15), date(1990, 7, 14), "off_by_one_day"),
        (date(1990, 7, 31), date(1990, 8, 1), "off_by_one_day"),
        (date(1999, 12, 31), date(2000, 1, 1), "off_by_one_day"),
        (date(2000, 2, 29), date(2000, 3, 1), "off_by_one_day"),
        (date(2000, 2, 29), date(2000, 2, 28), "off_by_one_day"),
        (date(2001, 2, 28), date(2001, 3, 1), "off_by_one_day"),
        # same day, month and last two year digits
        (date(1985, 3, 4), date(2085, 3, 4), "century"),
        (date(2005, 9, 1), date(1905, 9, 1), "century"),
        # one year digit
        (date(1978, 11, 23), date(1988, 11, 23), "year_digit"),
        (date(1985, 3, 4), date(1986, 3, 4), "year_digit"),
        (date(1985, 3, 4), date(1905, 3, 4), "year_digit"),
        # two neighbouring digits swapped, anywhere in YYYYMMDD
        (date(1969, 5, 21), date(1996, 5, 21), "transposed_digits"),
        (date(1985, 3, 12), date(1985, 3, 21), "transposed_digits"),
        (date(1985, 12, 1), date(1985, 10, 21), "transposed_digits"),
        # anything else
        (date(1958, 1, 30), date(1962, 8, 2), "other"),
        (date(1985, 3, 4), date(1985, 3, 6), "other"),
        (date(1985, 3, 4), date(1986, 4, 3), "other"),
        (date(1985, 3, 4), date(1987, 3, 4), "year_digit"),
        (date(1985, 3, 4), date(1975, 3, 5), "other"),
    ],
)
def test_each_class(a: date, b: date, expected: str) -> None:
    assert classify_difference(a, b) == expected


@pytest.mark.parametrize(
    "day", [date(1985, 3, 4), date(2000, 2, 29), date(1900, 1, 1), date(2024, 12, 31)]
)
def test_equal_dates_have_no_difference(day: date) -> None:
    assert classify_difference(day, day) is None
    assert classify_difference(day, date(day.year, day.month, day.day)) is None


def test_century_wins_over_year_digit() -> None:
    # 1985 vs 1885 differ in one year digit, but the last two digits are equal: century.
    assert classify_difference(date(1985, 3, 4), date(1885, 3, 4)) == "century"
    assert classify_difference(date(1985, 3, 4), date(2985, 3, 4)) == "century"


def test_century_wins_over_transposed_digits() -> None:
    # 1285 ↔ 2185: the first two digits are swapped, yet the century is what differs.
    assert classify_difference(date(1285, 3, 4), date(2185, 3, 4)) == "century"


def test_day_month_swapped_needs_the_same_year() -> None:
    assert classify_difference(date(1985, 3, 4), date(1986, 4, 3)) == "other"


def test_transposition_must_be_of_neighbouring_digits() -> None:
    # 1985-11-12 vs 1985-12-11 is a day/month swap; 19851112 → 19851211 swaps digits 5 and 7.
    assert classify_difference(date(1985, 11, 12), date(1985, 12, 11)) == "day_month_swapped"
    assert classify_difference(date(1985, 1, 13), date(1985, 3, 11)) == "other"


def _all_pairs() -> list[tuple[date, date]]:
    base = [date(1985, 3, 4), date(2000, 2, 29), date(1969, 5, 21), date(1999, 12, 31)]
    others = []
    for d in base:
        others += [d + timedelta(days=n) for n in (-400, -31, -2, -1, 1, 2, 30, 365)]
        others += [date(y, d.month, d.day) for y in (1905, 1985, 2005, 2085) if d.day != 29]
        if d.day <= 12:
            others.append(date(d.year, d.day, d.month))
    return [(a, b) for a in base for b in others]


@pytest.mark.parametrize(("a", "b"), _all_pairs())
def test_symmetric_and_always_a_known_class(a: date, b: date) -> None:
    result = classify_difference(a, b)
    assert result == classify_difference(b, a)
    if a == b:
        assert result is None
    else:
        assert result in DIFFERENCE_CLASSES
        assert DESCRIPTIONS[result]
        if abs((a - b).days) == 1:
            assert result == "off_by_one_day"


def test_every_class_has_a_description() -> None:
    assert set(DESCRIPTIONS) == set(DIFFERENCE_CLASSES)
