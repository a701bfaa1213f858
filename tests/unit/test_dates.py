"""Reading dates as people type them, and instants as systems write them (DESIGN section 2)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from arkinctl.errors import ExitCode, InvalidInputError
from arkinctl.services.dates import local_date, parse_instant, parse_user_date

AMS = ZoneInfo("Europe/Amsterdam")


@pytest.mark.parametrize(
    "typed",
    [
        "04-03-1985",
        "4-3-1985",
        "04/03/1985",
        "4/3/1985",
        "4.3.1985",
        "04.03.1985",
        "4 maart 1985",
        "4 Maart 1985",
        "4 mrt 1985",
        "4 mrt. 1985",
        "4-maart-1985",
        "4 march 1985",
        "1985-03-04",
        "1985-3-4",
        "1985/03/04",
        "04031985",
        "  04-03-1985  ",
    ],
)
def test_parse_user_date_reads_day_first_and_iso(typed: str) -> None:
    assert parse_user_date(typed) == date(1985, 3, 4)


def test_parse_user_date_reads_day_month_order_not_month_day() -> None:
    # 03-04 is the 3rd of April in the Netherlands, never March 4th.
    assert parse_user_date("03-04-1985") == date(1985, 4, 3)
    assert parse_user_date("12-01-2001") == date(2001, 1, 12)


def test_parse_user_date_accepts_a_leap_day_in_a_leap_year() -> None:
    assert parse_user_date("29-02-2000") == date(2000, 2, 29)
    assert parse_user_date("29 februari 2000") == date(2000, 2, 29)
    assert parse_user_date("29022000") == date(2000, 2, 29)


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("04-03-85", "two-digit year"),
        ("4/3/85", "two-digit year"),
        ("4 maart 85", "two-digit year"),
        ("31-02-2000", "does not exist"),
        ("29-02-2001", "does not exist"),
        ("29 februari 2001", "does not exist"),
        ("31-04-1985", "does not exist"),
        ("04-13-1985", "does not exist"),
        ("1985-02-30", "does not exist"),
        ("garbage", "cannot read"),
        ("04-03", "cannot read"),
        ("04-03/1985", "cannot read"),
        ("0403198", "cannot read"),
        ("99999999", "does not exist"),
        ("31022000", "does not exist"),
        ("4 foo 1985", "unknown month"),
        ("", "empty"),
        ("   ", "empty"),
    ],
)
def test_parse_user_date_refuses_what_it_cannot_read_one_way(typed: str, says: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        parse_user_date(typed)
    err = caught.value
    assert err.exit_code is ExitCode.INVALID_INPUT
    assert says in str(err)
    if typed.strip():
        # The value may be someone's date of birth: never echoed in the message.
        assert typed.strip() not in str(err)
        assert typed.strip() not in (err.hint or "")


@pytest.mark.parametrize("typed", ["99999999", "31022000", "00000000"])
def test_an_eight_digit_run_that_is_no_date_is_not_called_ambiguous(typed: str) -> None:
    # Bug fixed: "reads two ways" was said of runs that read as no date at all.
    with pytest.raises(InvalidInputError) as caught:
        parse_user_date(typed)
    assert "two ways" not in str(caught.value)


# ---- instants ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "utc"),
    [
        ("2022-02-28T23:30:00Z", datetime(2022, 2, 28, 23, 30, tzinfo=UTC)),
        ("2022-02-28T23:30:00z", datetime(2022, 2, 28, 23, 30, tzinfo=UTC)),
        ("2022-02-28T23:30:00+00:00", datetime(2022, 2, 28, 23, 30, tzinfo=UTC)),
        ("2022-03-01T00:30:00+01:00", datetime(2022, 2, 28, 23, 30, tzinfo=UTC)),
        ("2022-03-01T05:30:00+05:30", datetime(2022, 3, 1, 0, 0, tzinfo=UTC)),
        ("2022-02-28T18:00:00-05:00", datetime(2022, 2, 28, 23, 0, tzinfo=UTC)),
        # Naive: local time in Amsterdam, winter (+01:00) and summer (+02:00).
        ("2022-03-01T00:30:00", datetime(2022, 2, 28, 23, 30, tzinfo=UTC)),
        ("2022-07-01T00:30:00", datetime(2022, 6, 30, 22, 30, tzinfo=UTC)),
        ("2022-03-01", datetime(2022, 2, 28, 23, 0, tzinfo=UTC)),
        ("2022-07-01", datetime(2022, 6, 30, 22, 0, tzinfo=UTC)),
        # The Dutch way, with or without a clock time.
        ("04-03-2022 14:30", datetime(2022, 3, 4, 13, 30, tzinfo=UTC)),
        ("01-03-2022", datetime(2022, 2, 28, 23, 0, tzinfo=UTC)),
        ("01-07-2022 09:00", datetime(2022, 7, 1, 7, 0, tzinfo=UTC)),
    ],
)
def test_parse_instant_offsets_z_and_naive_local(raw: str, utc: datetime) -> None:
    value = parse_instant(raw, local_tz=AMS)
    assert value == utc
    assert value.utcoffset() is not None and value.utcoffset().total_seconds() == 0


@pytest.mark.parametrize(
    ("raw", "utc"),
    [
        # Spring forward 2022-03-27 02:00 → 03:00 local.
        ("2022-03-27T01:59:59", datetime(2022, 3, 27, 0, 59, 59, tzinfo=UTC)),
        ("2022-03-27T03:00:00", datetime(2022, 3, 27, 1, 0, tzinfo=UTC)),
        # 02:30 does not exist that night; read with the offset before the change.
        ("2022-03-27T02:30:00", datetime(2022, 3, 27, 1, 30, tzinfo=UTC)),
        # Fall back 2022-10-30 03:00 → 02:00 local: 02:30 happens twice; the first counts.
        ("2022-10-30T01:59:59", datetime(2022, 10, 29, 23, 59, 59, tzinfo=UTC)),
        ("2022-10-30T02:30:00", datetime(2022, 10, 30, 0, 30, tzinfo=UTC)),
        ("2022-10-30T03:00:00", datetime(2022, 10, 30, 2, 0, tzinfo=UTC)),
        # An explicit offset settles the ambiguous hour.
        ("2022-10-30T02:30:00+01:00", datetime(2022, 10, 30, 1, 30, tzinfo=UTC)),
    ],
)
def test_parse_instant_around_daylight_saving_changes(raw: str, utc: datetime) -> None:
    assert parse_instant(raw, local_tz=AMS) == utc


def test_parse_instant_reads_naive_values_in_the_zone_it_is_given() -> None:
    assert parse_instant("2022-03-01T00:30:00", local_tz=UTC) == datetime(
        2022, 3, 1, 0, 30, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ("", "empty"),
        ("  ", "empty"),
        ("yesterday", "cannot read"),
        ("2022-03-01 25:00", "time of day"),
        ("31-02-2022 10:00", "does not exist"),
    ],
)
def test_parse_instant_refuses_unreadable_values(raw: str, says: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        parse_instant(raw, local_tz=AMS)
    assert says in str(caught.value)


@pytest.mark.parametrize(
    ("instant", "local"),
    [
        (datetime(2022, 2, 28, 22, 59, 59, tzinfo=UTC), date(2022, 2, 28)),
        (datetime(2022, 2, 28, 23, 0, tzinfo=UTC), date(2022, 3, 1)),
        (datetime(2022, 6, 30, 21, 59, 59, tzinfo=UTC), date(2022, 6, 30)),
        (datetime(2022, 6, 30, 22, 0, tzinfo=UTC), date(2022, 7, 1)),
    ],
)
def test_local_date_is_the_amsterdam_calendar_day(instant: datetime, local: date) -> None:
    assert local_date(instant, AMS) == local
