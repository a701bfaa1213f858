"""The generic CSV reader: encodings, delimiters, line endings, headers, line numbers."""

from __future__ import annotations

import pytest

from arkinctl.errors import ExitCode, InvalidInputError
from arkinctl.services.csv_reader import FIELD_LIMIT, CsvTable, decode, header_key, read_csv

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


def test_short_row_gives_only_the_cells_it_has() -> None:
    # Excel leaves out trailing separators on some rows: the missing cells are "not given"
    # (the importer leaves those fields alone), never read as empty cells that would clear.
    # A lone cell, though, is more likely a stray line than a row.
    data = b"client_number;voornaam;geboortedatum;x;y\n2000001;Kees\nC2\nC3;Jan;;;\n"
    table = _read(data)
    rows, bad = _rows(table)
    assert bad == [(3, "the row has 1 field but the header has 5; are the ';' separators missing?")]
    assert rows == [
        (2, {"client_number": "2000001", "given_name": "Kees"}),
        (4, {"client_number": "C3", "given_name": "Jan", "date_of_birth": ""}),
    ]
    assert table.short_rows == 1


def test_a_trailing_delimiter_in_the_header_does_not_make_rows_short() -> None:
    table = _read(b"client_number,voornaam,\nC1,Jan\nC2,Piet,\n")
    assert _rows(table) == (
        [
            (2, {"client_number": "C1", "given_name": "Jan"}),
            (3, {"client_number": "C2", "given_name": "Piet"}),
        ],
        [],
    )


def test_bad_rows_still_carry_the_cells_they_have() -> None:
    # So that an importer can recognise the key of a row it rejects.
    table = _read(b"client_number;voornaam\nC1;Jan;extra\n")
    [row] = list(table.records())
    assert (row.line, row.values, row.problem is not None) == (
        2,
        {"client_number": "C1", "given_name": "Jan"},
        True,
    )


@pytest.mark.parametrize("quoted", [False, True])
def test_a_huge_field_rejects_only_its_row_and_reading_goes_on(quoted: bool) -> None:
    huge = "x" * 200_000
    cell = f'"{huge}"' if quoted else huge
    data = f"client_number;voornaam\nC1;{cell}\nC2;Piet\nC3;Kees\n".encode()
    rows, bad = _rows(_read(data))
    assert bad == [(2, f"a field is longer than {FIELD_LIMIT} characters (the most Excel allows)")]
    assert [(line, r["client_number"]) for line, r in rows] == [(3, "C2"), (4, "C3")]


def test_a_field_at_the_limit_is_read() -> None:
    value = "y" * FIELD_LIMIT
    rows, bad = _rows(_read(f"client_number;voornaam\nC1;{value}\n".encode()))
    assert not bad and rows[0][1]["given_name"] == value


UNCLOSED = "unclosed quote:"


def test_unclosed_quote_that_runs_into_the_next_row_is_rejected_and_that_row_read() -> None:
    data = b'client_number;voornaam\n4000006;"unterminated quote\n4000007;ok\n4000008;"x"\n'
    rows, bad = _rows(_read(data))
    assert [line for line, _ in bad] == [2]
    assert bad[0][1].startswith(UNCLOSED) and "line 3" in bad[0][1]
    assert rows == [
        (3, {"client_number": "4000007", "given_name": "ok"}),
        (4, {"client_number": "4000008", "given_name": "x"}),
    ]


def test_unclosed_quote_at_the_end_of_the_file_is_reported() -> None:
    rows, bad = _rows(_read(b'client_number;voornaam\nC1;Jan\nC2;"Piet\n'))
    assert rows == [(2, {"client_number": "C1", "given_name": "Jan"})]
    assert len(bad) == 1 and bad[0][0] == 3
    assert bad[0][1].startswith(UNCLOSED) and "end of the file" in bad[0][1]


def test_unclosed_quote_swallowing_lines_without_delimiter_rereads_them() -> None:
    # Line 3 alone is no row (too few fields), line 4 is one: both are seen again.
    data = b'client_number;voornaam\nC1;"Jan\nvervolg\nC2;Piet\n'
    rows, bad = _rows(_read(data))
    assert [line for line, _ in bad] == [2, 3]
    assert bad[0][1].startswith(UNCLOSED) and "line 4" in bad[0][1]
    assert bad[1][1].startswith("the row has 1 field but the header has 2")
    assert rows == [(4, {"client_number": "C2", "given_name": "Piet"})]


def test_unclosed_quote_in_a_one_column_file_is_bounded_by_the_field_limit() -> None:
    lines = "".join(f"K{i}\n" for i in range(FIELD_LIMIT // 4))
    rows, bad = _rows(_read(f'client_number\n"K0\n{lines}'.encode()))
    assert [line for line, _ in bad] == [2]
    assert bad[0][1].startswith(UNCLOSED) and str(FIELD_LIMIT) in bad[0][1]
    assert len(rows) == FIELD_LIMIT // 4 and rows[0] == (3, {"client_number": "K0"})


def test_quoted_delimiters_quotes_and_text_after_a_closing_quote() -> None:
    data = b'client_number;voornaam\n"C;1";"Jan ""J"" Jansen"\n"C2"x;b"c\n"";""\n'
    rows, bad = _rows(_read(data))
    assert not bad
    assert rows == [
        (2, {"client_number": "C;1", "given_name": 'Jan "J" Jansen'}),
        (3, {"client_number": "C2x", "given_name": 'b"c'}),
    ]


def test_nul_character_rejects_the_row() -> None:
    rows, bad = _rows(_read(b"client_number;voornaam\nC1;J\x00an\nC2;Piet\n"))
    assert [line for line, _ in bad] == [2] and "NUL" in bad[0][1]
    assert [r["client_number"] for _, r in rows] == ["C2"]


@pytest.mark.parametrize(
    ("first", "delimiter"),
    [("sep=;", ";"), ("sep=,", ","), ('"sep=;"', ";"), ("SEP=|", "|"), ("sep=;;;", ";")],
)
def test_excel_sep_line_sets_the_delimiter_and_keeps_line_numbers(
    first: str, delimiter: str
) -> None:
    d = delimiter
    data = f"\ufeff{first}\r\nclient_number{d}voornaam\r\n\r\nC1{d}Jan\r\n".encode()
    table = _read(data)
    assert table.delimiter == delimiter and table.header_line == 2
    assert _rows(table) == ([(4, {"client_number": "C1", "given_name": "Jan"})], [])


def test_sep_line_wins_over_detection() -> None:
    # Detection would pick ';' (two against one); the file says ','.
    table = _read(b"sep=,\nclient_number,voornaam;achternaam;x\nC1,Jan;Jansen;y\n")
    assert table.delimiter == ","
    assert _rows(table)[0] == [(3, {"client_number": "C1"})]
    assert table.unknown_columns == ["voornaam;achternaam;x"]


def test_a_sep_line_without_header_is_invalid_input() -> None:
    with pytest.raises(InvalidInputError, match="no header line"):
        _read(b"sep=;\r\n\r\n")


def test_unsupported_delimiter_says_what_the_header_line_holds() -> None:
    with pytest.raises(InvalidInputError) as exc:
        _read(b"client_number|bsn|voornaam\n1|111222333|Jan\n")
    assert exc.value.message == (
        "the header line (line 1) has 1 column, none of them known; expected a ',' or ';' "
        "separated header with client_number (cliëntnummer)"
    )
    assert exc.value.hint is not None and "sep=|" in exc.value.hint
    assert "no client_number column" not in str(exc.value)


def test_header_with_no_known_column_says_so_and_shows_no_personal_data() -> None:
    # A file without a header: its first row is someone's data.
    with pytest.raises(InvalidInputError) as exc:
        _read(b"1001;111222333;Jan;van der;Meulen;04-03-1985;jan@example.com;Somber\n")
    text = str(exc.value)
    assert text.startswith("the header line (line 1) has 8 columns, none of them known")
    for secret in ("111222333", "04-03-1985", "jan@example.com", "Jan", "Meulen", "Somber"):
        assert secret not in text


def test_a_long_header_line_gives_a_short_message() -> None:
    with pytest.raises(InvalidInputError) as exc:
        _read(("|".join(f"kolom_{c}" for c in "abcdefghijklmnop") + "\n").encode())
    assert "kolom_a" not in exc.value.message and len(exc.value.message) < 200


def test_unreadable_header_is_invalid_input() -> None:
    with pytest.raises(InvalidInputError, match="unclosed quote"):
        _read(b'"client_number;voornaam\nC1;Jan\nC2;Piet\n')


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
