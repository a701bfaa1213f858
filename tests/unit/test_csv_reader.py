"""The generic CSV reader: encodings, delimiters, line endings, headers, line numbers."""

from __future__ import annotations

import pytest

from arkinctl.errors import ExitCode, InvalidInputError
from arkinctl.services.csv_reader import CsvTable, decode, header_key, read_csv

COLUMNS = {
    "client_number": ("cliëntnummer",),
    "given_name": ("voornaam",),
    "date_of_birth": ("geboortedatum",),
}


def _read(data: bytes, required: tuple[str, ...] = ("client_number",)) -> CsvTable:
    return read_csv(data, columns=COLUMNS, required=required)


def _rows(table: CsvTable) -> tuple[list[tuple[int, dict[str, str]]], list[tuple[int, str]]]:
    bad: list[tuple[int, str]] = []
    rows = list(table.rows(on_bad_row=lambda line, why: bad.append((line, why))))
    return rows, bad


@pytest.mark.parametrize(
    "written", ["Cliëntnummer", " client number ", "CLIENT_NUMBER", "client-number", "clientnummer"]
)
def test_header_names_ignore_case_spaces_punctuation_and_accents(written: str) -> None:
    table = _read(f"{written},voornaam\nC1,Jan\n".encode())
    assert table.has("client_number")
    assert table.label("client_number") == written.strip()
    assert header_key(written) in ("clientnumber", "clientnummer")


def test_utf8_with_bom() -> None:
    table = _read("\ufeffclient_number,voornaam\nC1,Zoë\n".encode())
    rows, bad = _rows(table)
    assert rows == [(2, {"client_number": "C1", "given_name": "Zoë"})]
    assert table.encoding == "utf-8" and not table.fell_back and not bad
    assert table.notes == []


@pytest.mark.parametrize("delimiter", [";", ","])
def test_delimiter_is_detected(delimiter: str) -> None:
    data = f"client_number{delimiter}voornaam\nC1{delimiter}Jan\n".encode()
    table = _read(data)
    assert table.delimiter == delimiter
    assert _rows(table)[0] == [(2, {"client_number": "C1", "given_name": "Jan"})]


def test_semicolon_file_with_commas_in_values() -> None:
    table = _read(b"client_number;voornaam\nC1;Jan, Piet\n")
    assert _rows(table)[0][0][1]["given_name"] == "Jan, Piet"


def test_crlf_and_lf_give_the_same_rows() -> None:
    lf = _rows(_read(b"client_number;voornaam\nC1;Jan\nC2;Piet\n"))
    crlf = _rows(_read(b"client_number;voornaam\r\nC1;Jan\r\nC2;Piet\r\n"))
    assert lf == crlf
    assert [line for line, _ in lf[0]] == [2, 3]


def test_cp1252_fallback_reads_accents_and_says_so() -> None:
    data = "client_number;voornaam\r\nC1;André\r\n".encode("cp1252")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    table = _read(data)
    rows, _ = _rows(table)
    assert rows[0][1]["given_name"] == "André"
    assert table.fell_back and table.encoding == "windows-1252"
    assert any("not UTF-8" in note for note in table.notes)
    assert decode(data)[2] is True


def test_quoted_newlines_keep_physical_line_numbers() -> None:
    data = b'client_number,voornaam\nC1,"Jan\nJanszoon"\nC2,Piet\n\nC3,"a\r\nb\r\nc"\nC4,Kees\n'
    rows, bad = _rows(_read(data))
    assert [(line, r["client_number"]) for line, r in rows] == [
        (2, "C1"),
        (4, "C2"),
        (6, "C3"),
        (9, "C4"),
    ]
    assert rows[0][1]["given_name"] == "Jan\nJanszoon"
    assert not bad


def test_dutch_headers_and_unknown_columns_noted_once() -> None:
    data = "Cliëntnummer;Voornaam;Geboortedatum;Afdeling;Opmerking\n1;Jan;04-03-1985;A;x\n"
    table = _read(data.encode())
    rows, _ = _rows(table)
    assert rows == [(2, {"client_number": "1", "given_name": "Jan", "date_of_birth": "04-03-1985"})]
    assert table.unknown_columns == ["Afdeling", "Opmerking"]
    assert table.notes == ["ignored unknown columns: Afdeling, Opmerking"]


def test_absent_columns_are_absent_from_rows() -> None:
    rows, _ = _rows(_read(b"client_number\nC1\n"))
    assert rows == [(2, {"client_number": "C1"})]


def test_blank_lines_and_empty_rows_are_skipped_values_stripped() -> None:
    data = b"client_number;voornaam\r\n\r\n ; \r\nC1 ;  Jan \r\n;;\r\n\r\n\r\n"
    rows, bad = _rows(_read(data))
    assert rows == [(4, {"client_number": "C1", "given_name": "Jan"})]
    assert not bad


def test_short_rows_read_missing_cells_as_empty() -> None:
    rows, _ = _rows(_read(b"client_number;voornaam;geboortedatum\nC1;Jan\n"))
    assert rows[0][1] == {"client_number": "C1", "given_name": "Jan", "date_of_birth": ""}


def test_row_with_too_many_fields_is_reported_not_yielded() -> None:
    rows, bad = _rows(_read(b"client_number,voornaam\nC1,Jansen, Jan\nC2,Piet,\n"))
    assert [r["client_number"] for _, r in rows] == ["C2"]  # a trailing empty cell is fine
    assert len(bad) == 1 and bad[0][0] == 2 and "not in quotes" in bad[0][1]


def test_missing_required_column_names_it_and_the_accepted_names() -> None:
    with pytest.raises(InvalidInputError) as exc:
        _read(b"nummer;voornaam\n1;Jan\n")
    assert "client_number" in exc.value.message
    assert exc.value.hint is not None and "cliëntnummer" in exc.value.hint
    assert exc.value.exit_code is ExitCode.INVALID_INPUT


@pytest.mark.parametrize("data", [b"", b"\r\n\n  \n", "\ufeff".encode()])
def test_empty_file_is_invalid_input(data: bytes) -> None:
    with pytest.raises(InvalidInputError, match="empty"):
        _read(data)


def test_header_only_file_has_no_rows() -> None:
    assert _rows(_read(b"client_number;voornaam\r\n")) == ([], [])


def test_one_column_named_twice_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="both mean client_number"):
        _read("client_number;Cliëntnummer\n1;1\n".encode())


def test_utf16_with_bom_and_tabs() -> None:
    table = _read("client_number\tvoornaam\r\nC1\tZoë\r\n".encode("utf-16"))
    assert table.delimiter == "\t"
    assert _rows(table)[0] == [(2, {"client_number": "C1", "given_name": "Zoë"})]
