"""Reading the CSV files people export from Excel and other systems (DESIGN section 7).

One reader for every CSV import (`import clients`, `import accounts`, `invite batch`):

- UTF-8 with or without BOM (and UTF-16 with a BOM, Excel's "Unicode text"); bytes that are
  not UTF-8 are read as Windows-1252, and a note says so.
- The delimiter is detected from the header line: `;` (Dutch Excel), `,` or a tab. Excel's
  `sep=;` first line is honoured: that delimiter is used and the line skipped (it still
  counts in line numbers).
- CRLF, LF or CR; quoted fields may contain the delimiter, quotes (`""`) and newlines.
- Header names are matched case-, space-, punctuation- and accent-insensitively against a
  caller's table of names, so `Cliëntnummer`, ` client number ` and `CLIENT_NUMBER` are the
  same column. Unknown columns are ignored (one note names them).
- Rows come out with the physical line the row starts on (the header is line 1 unless
  something precedes it), values stripped; blank lines and rows of empty cells are skipped.

Problems with the file as a whole (empty, an unreadable header, a required column missing)
raise `InvalidInputError` before any row is read. A bad row is reported with its line and a
reason, never yielded as data, and reading goes on with the next row:

- **too few fields**: a row with fewer fields than the header has columns (`C1;Jan` under a
  five-column header). Reading the missing cells as empty would clear those fields of an
  existing record; a row whose trailing cells are empty but present (`C1;Jan;;;`) is normal.
- **too many fields**: non-empty cells beyond the header (a value with the delimiter in it
  that is not in quotes). Empty extra cells (a trailing delimiter) are fine.
- **a field longer than `FIELD_LIMIT` characters** (Excel's limit for one cell): the row is
  rejected, the rows after it are read as usual.
- **an unclosed quote**: a quoted field that is still open at the end of the file, that runs
  on past `FIELD_LIMIT` characters, or whose continuation on a later line contains the
  delimiter (a quoted value may span lines, but a continuation that looks like a row of its
  own means a quote was not closed). The row where the quote opened is rejected and reading
  starts again on the line after it, so the rows the quote swallowed are still read.
  Known limit: a legitimate multi-line value whose second line contains the delimiter (a
  comma in prose, in a comma-separated file) is reported too; no column arkinctl imports
  holds text of several lines.
- **a NUL character** (a binary or UTF-16 file without BOM).

The reader is our own rather than the `csv` module's, because the latter stops at the first
field over its size limit and cannot resynchronise after a runaway quote: every later row
would vanish. Lines without a quote take a fast path (`str.split`), and so do lines whose
quotes all wrap whole fields on that line (the `csv` module, for that one line).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from arkinctl.errors import InvalidInputError
from arkinctl.textnorm import fold

DELIMITERS = (";", ",", "\t")
FIELD_LIMIT = 32_767  # characters; the most Excel puts in one cell
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
# Excel's delimiter line, possibly quoted or padded with delimiters by a re-save.
_SEP_LINE = re.compile(r'^"?sep=(.)"?(?:\1)*[ \t]*$', re.IGNORECASE)
_OTHER_DELIMITERS = ("|", ":")

BadRowHandler = Callable[[int, str], None]

NUL_REASON = "the row contains a NUL character; is the file really text (CSV)?"
TOO_LONG_REASON = f"a field is longer than {FIELD_LIMIT} characters (the most Excel allows)"


def header_key(name: str) -> str:
    """The form header names are compared in: `Cliënt-nummer ` → `clientnummer`."""
    return _NOT_ALNUM.sub("", fold(name))


def decode(data: bytes) -> tuple[str, str, bool]:
    """The text, the encoding used, and whether it had to fall back from UTF-8."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16", False
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8-sig"), "utf-8", False
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "windows-1252", True
    except UnicodeDecodeError:
        # Five bytes are undefined in Windows-1252; Latin-1 reads every byte.
        return data.decode("latin-1"), "latin-1", True


def detect_delimiter(line: str) -> str:
    """The delimiter the header line uses most often outside quotes; `,` when it has none."""
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(DELIMITERS, key=lambda d: counts[d])  # ties go to the earlier (`;`)
    return best if counts[best] else ","


def _first_line(text: str) -> str:
    # Lazily: the file may have a million lines and only the first one counts.
    for line in io.StringIO(text, newline=""):
        if line.strip():
            return line
    return ""


# ---- the record scanner -----------------------------------------------------------------


def _split_ending(raw: str) -> tuple[str, str]:
    if raw.endswith("\r\n"):
        return raw[:-2], "\r\n"
    if raw.endswith(("\n", "\r")):
        return raw[:-1], raw[-1]
    return raw, ""


class _Lines:
    """The physical lines of a text with their numbers; lines can be put back and re-read."""

    def __init__(self, text: str) -> None:
        self._source = io.StringIO(text, newline="")
        self._number = 0
        self._back: list[tuple[int, str]] = []

    def skip_to(self, line: int) -> None:
        while self._number < line - 1 and self._source.readline():
            self._number += 1

    def next(self) -> tuple[int, str] | None:
        if self._back:
            return self._back.pop()
        raw = self._source.readline()
        if not raw:
            return None
        self._number += 1
        return self._number, raw

    def put_back(self, lines: Sequence[tuple[int, str]]) -> None:
        self._back.extend(reversed(lines))


@dataclass
class _Record:
    line: int  # the physical line the record starts on
    end: int  # the physical line it ends on
    cells: list[str]
    problem: str | None = None


class _Scan:
    """The fields of one record, fed one physical line (without its ending) at a time."""

    def __init__(self, delimiter: str) -> None:
        self.delimiter = delimiter
        self.fields: list[str] = []
        self.quoted = False  # inside a quoted field at the end of the last line fed
        self.too_long = False
        self.suspicious = False  # a continuation line of a quoted field holds the delimiter
        self._parts: list[str] = []
        self._size = 0
        self._at_start = True

    def add(self, text: str) -> None:
        if not text:
            return
        self._size += len(text)
        if self._size > FIELD_LIMIT:
            self.too_long = True  # keep no more of it: the row is rejected anyway
        else:
            self._parts.append(text)

    def end_field(self) -> None:
        self.fields.append("" if self._size > FIELD_LIMIT else "".join(self._parts))
        self._parts, self._size, self._at_start = [], 0, True

    def feed(self, text: str, *, continuation: bool) -> None:
        d, n, i = self.delimiter, len(text), 0
        while True:
            if self.quoted:
                j = text.find('"', i)
                chunk = text[i:] if j < 0 else text[i:j]
                if continuation and d in chunk:
                    self.suspicious = True
                self.add(chunk)
                if j < 0:
                    return  # the quoted field goes on on the next line
                if j + 1 < n and text[j + 1] == '"':
                    self.add('"')
                    i = j + 2
                    continue
                self.quoted = False
                i = j + 1  # what follows a closing quote up to the delimiter is kept as is
            elif self._at_start and i < n and text[i] == '"':
                self.quoted, self._at_start = True, False
                i += 1
                continue
            self._at_start = False
            j = text.find(d, i)
            if j < 0:
                self.add(text[i:])
                return
            self.add(text[i:j])
            self.end_field()
            i = j + 1


def _scan_quoted(lines: _Lines, line: int, content: str, ending: str, delimiter: str) -> _Record:
    """A record whose first line has a quote: it may span lines, or never be closed."""
    scan = _Scan(delimiter)
    taken: list[tuple[int, str]] = []  # the lines after the first that the record used
    end = line
    scan.feed(content, continuation=False)
    while scan.quoted:
        problem = None
        if scan.suspicious:
            problem = (
                f"unclosed quote: the quoted field that starts on this line runs into line "
                f"{end}, which looks like a row of its own; lines after this one are read "
                "as rows"
            )
        elif scan.too_long and taken:
            problem = (
                f"unclosed quote: the quoted field that starts on this line runs on for more "
                f"than {FIELD_LIMIT} characters; lines after this one are read as rows"
            )
        else:
            following = lines.next()
            if following is None:
                problem = (
                    "unclosed quote: the quote opened on this line is still open at the end "
                    "of the file; lines after this one are read as rows"
                )
            else:
                taken.append(following)
                scan.add(ending)
                end, raw = following
                content, ending = _split_ending(raw)
                scan.feed(content, continuation=True)
                continue
        # Read again, as rows of their own, the lines the open quote swallowed.
        lines.put_back(taken)
        return _Record(line, line, scan.fields, problem)
    scan.end_field()
    if scan.suspicious:  # the quote closed, but on a line that looks like a row
        lines.put_back(taken)
        return _Record(
            line,
            line,
            scan.fields,
            f"unclosed quote: the quoted field that starts on this line runs into line {end}, "
            "which looks like a row of its own; lines after this one are read as rows",
        )
    problem = TOO_LONG_REASON if scan.too_long else None
    if any("\x00" in c for c in scan.fields):
        problem = NUL_REASON
    return _Record(line, end, scan.fields, problem)


def _well_formed(delimiter: str) -> re.Pattern[str]:
    """A line whose quotes all wrap whole fields and are closed on the line itself."""
    d = re.escape(delimiter)
    cell = rf'(?:"[^"]*(?:""[^"]*)*"|[^"{d}]*)'
    return re.compile(rf"{cell}(?:{d}{cell})*")


def _records(text: str, delimiter: str, start: int = 1) -> Iterator[_Record]:
    """Every record from physical line `start` on, blank ones included."""
    lines = _Lines(text)
    lines.skip_to(start)
    well_formed = _well_formed(delimiter).fullmatch
    while (item := lines.next()) is not None:
        line, raw = item
        content, ending = _split_ending(raw)
        if '"' in content:
            if len(content) <= FIELD_LIMIT and "\x00" not in content and well_formed(content):
                # The common quoted line (some exports quote every field): C speed.
                yield _Record(line, line, next(csv.reader((content,), delimiter=delimiter)))
            else:
                yield _scan_quoted(lines, line, content, ending, delimiter)
            continue
        cells = content.split(delimiter)  # the common case: no quotes, one line
        problem = None
        if "\x00" in content:
            problem = NUL_REASON
        elif len(content) > FIELD_LIMIT and any(len(c) > FIELD_LIMIT for c in cells):
            problem = TOO_LONG_REASON
            cells = ["" if len(c) > FIELD_LIMIT else c for c in cells]
        yield _Record(line, line, cells, problem)


def _blank(cells: Sequence[str]) -> bool:
    return not any(c.strip() for c in cells)


# ---- the table --------------------------------------------------------------------------


@dataclass(frozen=True)
class CsvRow:
    """One data row. `problem` is set when it must not be used: then `values` holds only
    the known columns whose cells could be read (e.g. to recognise a key), else all."""

    line: int
    values: dict[str, str]
    problem: str | None = None


@dataclass
class CsvTable:
    """A decoded CSV file whose header has been matched; iterate `rows()` for the data."""

    text: str
    encoding: str
    fell_back: bool
    delimiter: str
    header_line: int
    # canonical name → (index in the row, header as written in the file)
    columns: dict[str, tuple[int, str]]
    width: int  # fields in the header line
    unknown_columns: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # The fields a row needs: up to the header's last named column (a trailing delimiter in
    # the header does not make every row short).
    min_width: int = 0
    data_line: int = 0  # the first physical line after the header
    short_rows: int = 0  # rows with fewer cells than the header (see records())

    def has(self, name: str) -> bool:
        return name in self.columns

    def label(self, name: str) -> str:
        """The column as the file names it, for messages people match against their file."""
        return self.columns[name][1] if name in self.columns else name

    def records(self) -> Iterator[CsvRow]:
        """Every non-blank row after the header, good or bad, in file order."""
        start = self.data_line or self.header_line + 1
        shown = _shown(self.delimiter)
        index = [(name, i) for name, (i, _) in self.columns.items()]
        for record in _records(self.text, self.delimiter, start):
            cells = record.cells
            problem = record.problem
            if problem is None:
                if _blank(cells):
                    continue
                if len(cells) == 1 < self.min_width:
                    # A lone cell is more likely a stray line (say, the rest of a value
                    # whose quote was not closed) than a row: refuse it.
                    problem = (
                        f"the row has 1 field but the header has {self.min_width}; "
                        f"are the '{shown}' separators missing?"
                    )
                elif len(cells) < self.min_width:
                    # Excel leaves out trailing separators on some rows. The cells that are
                    # missing are not given, so the importer leaves those fields alone
                    # (reading them as empty would clear them).
                    self.short_rows += 1
                elif not _blank(cells[self.width :]):
                    problem = (
                        f"the row has {len(cells)} fields but the header has {self.width}; "
                        f"is a value containing '{shown}' not in quotes?"
                    )
            if len(cells) >= self.width:
                values = {name: cells[i].strip() for name, i in index}
            else:
                values = {name: cells[i].strip() for name, i in index if i < len(cells)}
            yield CsvRow(record.line, values, problem)

    def rows(self, *, on_bad_row: BadRowHandler) -> Iterator[tuple[int, dict[str, str]]]:
        """`(line, values)` per good data row, with a value for every known column the file
        has; each bad row goes to `on_bad_row(line, reason)` instead."""
        for row in self.records():
            if row.problem is not None:
                on_bad_row(row.line, row.problem)
            else:
                yield row.line, row.values


def _shown(delimiter: str) -> str:
    return "tab" if delimiter == "\t" else delimiter


def _find_header(text: str, delimiter: str, *, sep_line: bool) -> _Record | None:
    skip_sep = sep_line
    for record in _records(text, delimiter):
        if record.problem is None and _blank(record.cells):
            continue
        if skip_sep:
            skip_sep = False
            continue
        return record
    return None


def read_csv(
    data: bytes,
    *,
    columns: Mapping[str, Sequence[str]],
    required: Collection[str] = (),
) -> CsvTable:
    """Decode `data` and match its header against `columns` (canonical name → aliases).

    Raises `InvalidInputError` for an empty file, an unreadable header, a header naming one
    column twice, or a missing `required` column (the message lists the names that column
    is accepted under, or says what the header line holds when it has none of the columns).
    """
    text, encoding, fell_back = decode(data)
    if not text.strip():
        raise InvalidInputError("the file is empty", hint="expected a header line and rows")

    first = _split_ending(_first_line(text))[0].strip()
    sep = _SEP_LINE.match(first)
    if sep is not None:
        delimiter = sep[1]
        if delimiter == '"' or delimiter.isalnum() or delimiter == " ":
            raise InvalidInputError(
                "the first line (sep=…) names a delimiter that cannot be used",
                hint="use sep=; or sep=, or remove the line",
            )
    else:
        delimiter = detect_delimiter(first)

    header_record = _find_header(text, delimiter, sep_line=sep is not None)
    if header_record is None:
        raise InvalidInputError(
            "the file has no header line after its sep= line",
            hint="expected a header line and rows",
        )
    if header_record.problem is not None:
        raise InvalidInputError(
            f"cannot read the header line (line {header_record.line}): {header_record.problem}"
        )
    header, header_line = header_record.cells, header_record.line

    lookup: dict[str, str] = {}
    for canonical, aliases in columns.items():
        for name in (canonical, *aliases):
            lookup[header_key(name)] = canonical

    found: dict[str, tuple[int, str]] = {}
    unknown: list[str] = []
    min_width = 0
    for index, raw in enumerate(header):
        written = raw.strip()
        if not written:
            continue  # a trailing delimiter in the header
        min_width = index + 1
        match = lookup.get(header_key(written))
        if match is None:
            unknown.append(written)
        elif match in found:
            raise InvalidInputError(
                f"the columns '{found[match][1]}' and '{written}' both mean {match}",
                hint="remove one of them",
            )
        else:
            found[match] = (index, written)

    missing = [name for name in required if name not in found]
    if missing and not found:
        # Nothing matched: most likely the delimiter, or no header at all. Say what we saw.
        expected = ", ".join(
            f"{name} ({', '.join(dict.fromkeys(columns.get(name, ())))})"
            if columns.get(name)
            else name
            for name in missing
        )
        count = sum(1 for c in header if c.strip())
        line_text = delimiter.join(header)
        other = max(_OTHER_DELIMITERS, key=line_text.count)
        raise InvalidInputError(
            # Never the line itself: without a header it is a row of someone's data.
            f"the header line (line {header_line}) has {count} "
            f"column{'' if count == 1 else 's'}, none of them known; expected a ',' or ';' "
            f"separated header with {expected}",
            hint=(
                f"the line seems separated by '{other}': save the file as CSV with ';' or ',', "
                f"or make its first line sep={other}"
                if line_text.count(other) and count <= 1
                else f"the header should be line {header_line}; does the file have one?"
            ),
        )
    for name in missing:
        accepted = ", ".join(dict.fromkeys((name, *columns.get(name, ()))))
        raise InvalidInputError(
            f"the file has no {name} column",
            hint=f"accepted names: {accepted}; the header is line {header_line}",
        )

    notes: list[str] = []
    if fell_back:
        notes.append(
            f"the file is not UTF-8: read it as {encoding}; check accented letters, "
            "or save it as 'CSV UTF-8'"
        )
    if unknown:
        notes.append(f"ignored unknown columns: {', '.join(unknown)}")
    return CsvTable(
        text=text,
        encoding=encoding,
        fell_back=fell_back,
        delimiter=delimiter,
        header_line=header_line,
        columns=found,
        width=len(header),
        unknown_columns=unknown,
        notes=notes,
        min_width=min_width,
        data_line=header_record.end + 1,
    )
