"""The free-text check of tickets: BSN-shaped 11-proof numbers and the client's dates of birth."""

from __future__ import annotations

from datetime import date

import pytest

from arkinctl.errors import InvalidInputError
from arkinctl.services.sensitive_text import check_free_text, dates_in

DOB = date(1985, 3, 4)


@pytest.mark.parametrize(
    "text",
    [
        "geboren 04-03-1985",
        "4-3-1985",
        "04/03/1985",
        "4.3.1985",
        "1985-03-04",
        "1985/03/04",
        "04031985",
        "19850304",
        "4 maart 1985",
        "4-maart-1985",
        "4 mrt. 1985",
        "4 March 1985",
        "03/04/1985",  # the US way round: still this date
        "4-3-85",
        "04-03-'85",
        "4 maart '85",
        "March 4, 1985",
        "mrt 4, 1985",
        "4th March 1985",
        "04\u201103\u20111985",  # non-breaking hyphens
        "04\u201303\u20131985",  # en dashes
        "04 - 03 - 1985",
    ],
)
def test_every_way_of_writing_the_date_of_birth_is_found(text: str) -> None:
    assert DOB in dates_in(text)
    with pytest.raises(InvalidInputError) as raised:
        check_free_text(f"Cliënt zegt: {text}.", what="the title", birth_dates=[DOB])
    assert "date of birth" in raised.value.message
    assert text not in str(raised.value)  # the value is never repeated


@pytest.mark.parametrize(
    "text",
    [
        "Brief van 12-05-2023 niet zichtbaar",
        "kamer 4, 3 brieven, 1985 euro",
        "account 1985",
        "",
    ],
)
def test_other_dates_and_numbers_pass(text: str) -> None:
    check_free_text(text, what="the title", birth_dates=[DOB, None])


@pytest.mark.parametrize("bsn", ["999990007", "999.99.0007", "9999 90 007", "999-99-0007"])
def test_a_bsn_in_any_grouping_is_refused(bsn: str) -> None:
    with pytest.raises(InvalidInputError) as raised:
        check_free_text(f"bsn {bsn} klopt niet", what="the comment", birth_dates=[])
    assert "BSN" in raised.value.message
    assert bsn not in str(raised.value)


@pytest.mark.parametrize(
    "text",
    [
        "ordernummer 123456789",  # nine digits that fail the 11-proof
        "bel 0612345678",  # ten digits: a phone number
        "client 1000123",
        "9999900071",  # a BSN followed by another digit is a longer number
    ],
)
def test_numbers_that_are_no_bsn_pass(text: str) -> None:
    check_free_text(text, what="the comment", birth_dates=[])


def test_no_birth_date_known_means_only_the_bsn_check() -> None:
    check_free_text("04-03-1985", what="the title", birth_dates=[None])


@pytest.mark.parametrize("title", ["a\nb", "a\r\nb", "a\u2028b", "a\u0085b", "a\tb", "a\x00b"])
def test_line_breaks_of_any_kind_are_not_one_line(title: str) -> None:
    from arkinctl.services.sensitive_text import is_one_line

    assert not is_one_line(title)


def test_ordinary_titles_are_one_line() -> None:
    from arkinctl.services.sensitive_text import is_one_line

    assert is_one_line("Zoë van der Meulen-Özdemir ziet\u00a0niets")
