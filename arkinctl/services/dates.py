"""Reading dates the way people type them, and instants the way systems write them."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, tzinfo

from arkinctl.errors import InvalidInputError

MONTHS = {
    # Dutch, then English; abbreviations with or without a dot.
    "januari": 1, "jan": 1, "februari": 2, "feb": 2, "maart": 3, "mrt": 3, "mar": 3,
    "april": 4, "apr": 4, "mei": 5, "juni": 6, "jun": 6, "juli": 7, "jul": 7,
    "augustus": 8, "aug": 8, "september": 9, "sep": 9, "sept": 9, "oktober": 10, "okt": 10,
    "november": 11, "nov": 11, "december": 12, "dec": 12,
    "january": 1, "february": 2, "march": 3, "may": 5, "june": 6, "july": 7,
    "august": 8, "october": 10, "oct": 10,
}  # fmt: skip

_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_YMD_SLASH = re.compile(r"^(\d{4})[/.](\d{1,2})[/.](\d{1,2})$")
_DMY = re.compile(r"^(\d{1,2})([-/.])(\d{1,2})\2(\d{2,4})$")
_WORDS = re.compile(r"^(\d{1,2})\s*[-\s]\s*([a-z]+)\.?\s*[-\s]\s*(\d{2,4})$")
_COMPACT = re.compile(r"^\d{8}$")


# Messages never repeat the value: it may be someone's date of birth (privacy rules).
def _make(year: int, month: int, day: int) -> date:
    if not 1800 <= year <= 2200:
        # `04-03-0085` is a typo, not the year 85.
        raise InvalidInputError("the year of the date is outside 1800-2200", hint="check the year")
    try:
        return date(year, month, day)
    except ValueError:
        raise InvalidInputError("the date does not exist", hint="check the day and month") from None


def _two_digit_year() -> InvalidInputError:
    return InvalidInputError(
        "the date has a two-digit year, which could be either century",
        hint="write the year in full, e.g. 04-03-1985",
    )


def parse_user_date(raw: str) -> date:
    """A date as people type it: ISO, or day first (`04-03-1985`, `4/3/1985`, `4 maart 1985`).

    Refuses what cannot be read one way only (two-digit years, an 8-digit run that reads
    both as ddmmyyyy and yyyymmdd) instead of guessing.
    """
    text = " ".join(raw.strip().lower().split())
    if not text:
        raise InvalidInputError("the date is empty", hint="write it as DD-MM-YYYY or YYYY-MM-DD")
    if m := _ISO.match(text) or _YMD_SLASH.match(text):
        return _make(int(m[1]), int(m[2]), int(m[3]))
    if m := _DMY.match(text):
        if len(m[4]) != 4:
            raise _two_digit_year()
        return _make(int(m[4]), int(m[3]), int(m[1]))
    if m := _WORDS.match(text):
        month = MONTHS.get(m[2])
        if month is None:
            raise InvalidInputError(
                "unknown month name in the date", hint="use a Dutch or English month name"
            )
        if len(m[3]) != 4:
            raise _two_digit_year()
        return _make(int(m[3]), month, int(m[1]))
    if _COMPACT.match(text):
        readings = set()
        for y, mo, d in ((text[4:], text[2:4], text[:2]), (text[:4], text[4:6], text[6:])):
            try:
                if 1800 <= int(y) <= 2200:
                    readings.add(date(int(y), int(mo), int(d)))
            except ValueError:
                pass
        if len(readings) == 1:
            return readings.pop()
        if not readings:
            raise InvalidInputError("the date does not exist", hint="check the day and month")
        raise InvalidInputError("the 8-digit date reads two ways", hint="use dashes: DD-MM-YYYY")
    raise InvalidInputError("cannot read the date", hint="write it as DD-MM-YYYY or YYYY-MM-DD")


def parse_instant(raw: str, *, local_tz: tzinfo) -> datetime:
    """An instant from ISO 8601 (with or without offset) or a Dutch `dd-mm-yyyy [HH:MM]`.

    A value without an offset is read as local time in `local_tz`; a date alone as local
    midnight. The result is aware and in UTC.
    """
    text = raw.strip()
    if not text:
        raise InvalidInputError("the date/time is empty")
    iso = text.replace("Z", "+00:00").replace("z", "+00:00")
    try:
        value = datetime.fromisoformat(iso)
    except ValueError:
        date_part, _, time_part = text.partition(" ")
        day = parse_user_date(date_part)
        clock = time(0, 0)
        if time_part.strip():
            try:
                clock = time.fromisoformat(time_part.strip())
            except ValueError:
                raise InvalidInputError("cannot read the time of day") from None
        value = datetime.combine(day, clock)
    if value.tzinfo is None:
        value = value.replace(tzinfo=local_tz)
    return value.astimezone(UTC)


def local_date(instant: datetime, tz: tzinfo) -> date:
    return instant.astimezone(tz).date()
