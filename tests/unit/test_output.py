"""Rendering: rich tables on a terminal, plain text in a pipe, no colour when asked (4.1)."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from arkinctl.output import Output, OutputFormat, Section

ANSI = re.compile(r"\x1b\[")
BOX = re.compile(r"[\u2500-\u257f]")


class FakeTerminal(io.StringIO):
    """A stream that says it is a terminal, as a user's shell would."""

    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def plain_terminal_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """A colour terminal, whatever the environment the tests run in says."""
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "COLUMNS", "COLORTERM"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")


def _render(out: Output) -> None:
    out.table(["", "check", "detail"], [["✓ 1", "The client exists", "7000001"]], "Diagnosis")
    out.table(["a"], [["✗ 2"]])
    out.pairs([("cause", "ok"), ("entered", datetime(2022, 2, 28, 23, 30, tzinfo=UTC))], "Summary")
    out.line("done")


def test_terminal_gets_a_rich_table_with_box_characters_and_colour() -> None:
    stream = FakeTerminal()
    out = Output(OutputFormat.table, stdout=stream, stderr=io.StringIO())
    assert out.is_tty and out.color
    _render(out)
    text = stream.getvalue()
    assert BOX.search(text)
    assert ANSI.search(text)
    assert "The client exists" in text and "Diagnosis" in text


def test_pipe_gets_plain_aligned_text() -> None:
    stream = io.StringIO()
    out = Output(OutputFormat.table, stdout=stream, stderr=io.StringIO())
    assert not out.is_tty and not out.color
    _render(out)
    text = stream.getvalue()
    assert not BOX.search(text)
    assert not ANSI.search(text)
    lines = text.splitlines()
    assert lines[0] == "Diagnosis"
    assert lines[1].split() == ["check", "detail"]
    assert lines[2].split() == ["✓", "1", "The", "client", "exists", "7000001"]
    assert "  cause    ok" in lines


@pytest.mark.parametrize("how", ["flag", "env"])
def test_no_color_on_a_terminal_means_no_escape_codes_at_all(
    how: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if how == "env":
        monkeypatch.setenv("NO_COLOR", "1")
    stream = FakeTerminal()
    out = Output(OutputFormat.table, stdout=stream, no_color=how == "flag", stderr=FakeTerminal())
    assert out.is_tty and not out.color
    _render(out)
    text = stream.getvalue()
    assert BOX.search(text)  # still a table
    assert not ANSI.search(text), repr(text[:200])


def test_no_color_on_stderr() -> None:
    err = FakeTerminal()
    Output(OutputFormat.table, stdout=io.StringIO(), stderr=err, no_color=True).warn("careful")
    assert err.getvalue() == "Warning: careful\n"
    err = FakeTerminal()
    Output(OutputFormat.table, stdout=io.StringIO(), stderr=err).error("broken")
    assert ANSI.search(err.getvalue()) and "broken" in err.getvalue()
    err = io.StringIO()
    Output(OutputFormat.table, stdout=io.StringIO(), stderr=err).error("broken")
    assert err.getvalue() == "Error: broken\n"


def test_cells_print_dates_and_local_instants() -> None:
    out = Output(OutputFormat.table, stdout=io.StringIO(), tz=ZoneInfo("Europe/Amsterdam"))
    assert out.cell(date(1985, 3, 4)) == "1985-03-04"
    assert out.cell(datetime(2022, 2, 28, 23, 30, tzinfo=UTC)) == "2022-03-01 00:30"
    assert out.cell(datetime(2022, 6, 30, 22, 0, tzinfo=UTC)) == "2022-07-01 00:00"
    assert out.cell(None) == ""
    assert out.cell(True) == "yes" and out.cell(False) == "no"


def test_json_is_one_document_with_iso_dates_and_offsets() -> None:
    stream = io.StringIO()
    out = Output(OutputFormat.json, stdout=stream)
    out.records(
        [{"born": date(1985, 3, 4), "at": datetime(2022, 2, 28, 23, 30, tzinfo=UTC), "n": "é"}],
        ["born"],
    )
    assert json.loads(stream.getvalue()) == [
        {"born": "1985-03-04", "at": "2022-02-28T23:30:00+00:00", "n": "é"}
    ]


def test_json_of_an_empty_list_is_an_empty_array_and_nothing_on_stderr() -> None:
    stream, err = io.StringIO(), io.StringIO()
    Output(OutputFormat.json, stdout=stream, stderr=err).records([], ["a"], empty="none")
    assert json.loads(stream.getvalue()) == []
    assert err.getvalue() == ""


def test_empty_table_says_so_on_stderr_only() -> None:
    stream, err = io.StringIO(), io.StringIO()
    Output(OutputFormat.table, stdout=stream, stderr=err).records([], ["a"], empty="No match.")
    assert stream.getvalue() == ""
    assert err.getvalue() == "No match.\n"


def test_csv_has_a_header_and_rows() -> None:
    stream = io.StringIO()
    out = Output(OutputFormat.csv, stdout=stream)
    out.records(
        [{"a": 1, "b": None, "c": True}, {"a": "x,y", "b": date(2000, 2, 29), "c": False}],
        ["a", "b", "c"],
    )
    assert stream.getvalue().splitlines() == ["a,b,c", "1,,true", '"x,y",2000-02-29,false']


def test_document_as_csv_is_the_json_document_as_field_value_rows() -> None:
    stream = io.StringIO()
    Output(OutputFormat.csv, stdout=stream).document(
        {"cause": "ok", "checks": [{"number": 1, "passed": True}], "tickets": [], "n": None},
        [Section("Client", [("client number", "7000001")])],
    )
    assert stream.getvalue().splitlines() == [
        "field,value",
        "cause,ok",
        "checks.0.number,1",
        "checks.0.passed,true",
        "tickets,",
        "n,",
    ]
