"""Comparing dates of birth and saying how two of them differ (DESIGN section 2)."""

from __future__ import annotations

from datetime import date

DIFFERENCE_CLASSES = (
    "day_month_swapped",
    "off_by_one_day",
    "century",
    "year_digit",
    "transposed_digits",
    "other",
)

DESCRIPTIONS = {
    "day_month_swapped": "day and month are swapped (e.g. 04-03 vs 03-04)",
    "off_by_one_day": "one day apart (typically a time-zone shift when the date was stored)",
    "century": "same day, month and last two year digits, different century",
    "year_digit": "one digit of the year differs",
    "transposed_digits": "two neighbouring digits are swapped",
    "other": "the dates differ in another way",
}


def classify_difference(a: date, b: date) -> str | None:
    """None when equal, else the first class (in DIFFERENCE_CLASSES order) that fits."""
    if a == b:
        return None
    if a.year == b.year and a.day == b.month and a.month == b.day:
        return "day_month_swapped"
    if abs((a - b).days) == 1:
        return "off_by_one_day"
    if (a.month, a.day) == (b.month, b.day):
        if a.year % 100 == b.year % 100:
            return "century"
        ya, yb = f"{a.year:04d}", f"{b.year:04d}"
        if sum(x != y for x, y in zip(ya, yb, strict=True)) == 1:
            return "year_digit"
    if _adjacent_transposition(a.strftime("%Y%m%d"), b.strftime("%Y%m%d")):
        return "transposed_digits"
    return "other"


def _adjacent_transposition(x: str, y: str) -> bool:
    diffs = [i for i, (p, q) in enumerate(zip(x, y, strict=True)) if p != q]
    return (
        len(diffs) == 2
        and diffs[1] == diffs[0] + 1
        and x[diffs[0]] == y[diffs[1]]
        and x[diffs[1]] == y[diffs[0]]
    )
