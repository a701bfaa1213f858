"""Free text that goes to the technical department must not carry a BSN or a date of birth.

Tickets name the client by client number only (DESIGN 4.4). People paste from the record, so
every ticket text is checked before it is stored: a 9-digit number that passes the 11-proof
(also written with dots, spaces or dashes), and any way of writing one of the client's dates
of birth, are refused with the reason, never repeating the value.
"""

from __future__ import annotations

import contextlib
import re
import unicodedata
from collections.abc import Iterable
from datetime import date

from arkinctl.errors import InvalidInputError
from arkinctl.services.dates import MONTHS

# Nine digits, optionally grouped (123.456.782, 1234 56 782, 123-45-6782).
_BSN_SHAPED = re.compile(r"(?<![\d.,-])\d(?:[ .-]?\d){8}(?![\d]|[.,-]\d)")
# d-m-y, y-m-d in any of - / . and space; 2- or 4-digit years, a 2-digit one maybe as '84.
_NUMERIC_DATE = re.compile(r"(?<!\d)(\d{1,4})\s*[-/. ]\s*(\d{1,2})\s*[-/. ]\s*'?(\d{1,4})(?!\d)")
_COMPACT_DATE = re.compile(r"(?<!\d)(\d{6}|\d{8})(?!\d)")
_MONTH_NAMES = "|".join(sorted(MONTHS, key=len, reverse=True))
# 19 oktober 1984, 19-okt-'84; and month first: October 19, 1984 / okt 19 '84.
_WORD_DATE = re.compile(
    rf"(?<!\d)(\d{{1,2}})(?:e|st|nd|rd|th)?\.?[\s-]*\b({_MONTH_NAMES})\b\.?,?[\s-]*'?(\d{{2,4}})(?!\d)"
)
_MONTH_FIRST_DATE = re.compile(
    rf"\b({_MONTH_NAMES})\b\.?[\s-]*(\d{{1,2}})(?:st|nd|rd|th)?,?[\s-]+'?(\d{{2,4}})(?!\d)"
)


def _bsn_valid(digits: str) -> bool:
    from stdnum.nl import bsn

    return bool(bsn.is_valid(digits))


def _years(text: str) -> set[int]:
    year = int(text)
    if len(text) == 4:
        return {year}
    if len(text) == 2:
        return {1900 + year, 2000 + year}
    return set()


def _dates(day: int, month: int, years: Iterable[int]) -> set[date]:
    found = set()
    for year in years:
        with contextlib.suppress(ValueError):
            found.add(date(year, month, day))
    return found


def _plain(text: str) -> str:
    """Every dash (non-breaking, en, em, …) as `-`, every space as ` `, apostrophes as `'`."""
    out = []
    for ch in text.lower():
        category = unicodedata.category(ch)
        if category == "Pd" or ch == "\u2212":
            out.append("-")
        elif category == "Zs" or ch in "\u200b\u2060":
            out.append(" ")
        elif ch in "\u2018\u2019\u02bc`\u00b4":
            out.append("'")
        else:
            out.append(ch)
    return "".join(out)


def dates_in(text: str) -> set[date]:
    """Every date the text could be read to contain, in every plausible reading."""
    found: set[date] = set()
    lowered = _plain(text)
    for a, b, c in _NUMERIC_DATE.findall(lowered):
        if len(a) == 4:  # year first
            found |= _dates(int(c), int(b), _years(a))
        else:  # day first, and (US habit) month first
            found |= _dates(int(a), int(b), _years(c))
            found |= _dates(int(b), int(a), _years(c))
    for run in _COMPACT_DATE.findall(lowered):
        if len(run) == 8:
            found |= _dates(int(run[:2]), int(run[2:4]), _years(run[4:]))
            found |= _dates(int(run[6:]), int(run[4:6]), _years(run[:4]))
        else:
            found |= _dates(int(run[:2]), int(run[2:4]), _years(run[4:]))
    for day, month, year in _WORD_DATE.findall(lowered):
        found |= _dates(int(day), MONTHS[month], _years(year))
    for month, day, year in _MONTH_FIRST_DATE.findall(lowered):
        found |= _dates(int(day), MONTHS[month], _years(year))
    return found


def is_one_line(text: str) -> bool:
    """No line break or other control or format character, Unicode ones included (U+2028,
    U+0085): a title becomes an e-mail subject."""
    return not any(
        unicodedata.category(ch)[0] == "C" or unicodedata.category(ch) in ("Zl", "Zp")
        for ch in text
    )


def visible(text: str) -> str:
    """`text` with every control or invisible (format) character shown as `?`: for names
    that came from outside and are printed later (a terminal would obey an ESC)."""
    return "".join("?" if unicodedata.category(ch)[0] == "C" else ch for ch in text)


def check_free_text(text: str, *, what: str, birth_dates: Iterable[date | None]) -> None:
    """Refuse `text` when it holds a BSN-shaped 11-proof number or one of `birth_dates`."""
    for match in _BSN_SHAPED.finditer(_plain(text)):
        if _bsn_valid(re.sub(r"\D", "", match.group())):
            raise InvalidInputError(
                f"{what} contains what looks like a BSN (a 9-digit number that passes the "
                "11-proof)",
                hint="name the client by client number only; leave the BSN out",
            )
    known = {d for d in birth_dates if d is not None}
    if known and known & dates_in(text):
        raise InvalidInputError(
            f"{what} contains the client's date of birth",
            hint="leave it out: the ticket names the client by client number only",
        )
