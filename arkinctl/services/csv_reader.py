"""Reading the CSV files people export from Excel and other systems (DESIGN section 7).

One reader for every CSV import (`import clients`, `import accounts`, `invite batch`):

- UTF-8 with or without BOM (and UTF-16 with a BOM, Excel's "Unicode text"); bytes that are
  not UTF-8 are read as Windows-1252, and a note says so.
- The delimiter is detected from the header line: `;` (Dutch Excel), `,` or a tab.
- CRLF or LF; quoted fields may contain the delimiter and newlines.
- Header names are matched case-, space-, punctuation- and accent-insensitively against a
  caller's table of names, so `Cliëntnummer`, ` client number ` and `CLIENT_NUMBER` are the
  same column. Unknown columns are ignored (one note names them).
- Rows come out as `(line, {column: value})` with the physical line the row starts on
  (the header is line 1), values stripped; blank lines and rows of empty cells are skipped.

Problems with the file as a whole (empty, a required column missing) raise
`InvalidInputError` before any row is read. Problems with one row go to the caller's
`on_bad_row` and the row is not yielded, so the caller reports it and goes on.
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
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")

BadRowHandler = Callable[[int, str], None]


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
    width: int
    unknown_columns: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def has(self, name: str) -> bool:
        return name in self.columns

    def label(self, name: str) -> str:
        """The column as the file names it, for messages people match against their file."""
        return self.columns[name][1] if name in self.columns else name

    def rows(self, *, on_bad_row: BadRowHandler) -> Iterator[tuple[int, dict[str, str]]]:
        """`(line, values)` per data row; values only for the known columns the file has."""
        reader = csv.reader(io.StringIO(self.text, newline=""), delimiter=self.delimiter)
        previous_end = 0
        try:
            for cells in reader:
                start, previous_end = previous_end + 1, reader.line_num
                if start <= self.header_line or not any(c.strip() for c in cells):
                    continue
                extra = cells[self.width :]
                if any(c.strip() for c in extra):
                    on_bad_row(
                        start,
                        f"the row has {len(cells)} fields but the header has {self.width}; "
                        f"is a value containing '{_shown(self.delimiter)}' not in quotes?",
                    )
                    continue
                yield (
                    start,
                    {
                        name: cells[i].strip() if i < len(cells) else ""
                        for name, (i, _) in self.columns.items()
                    },
                )
        except csv.Error as exc:
            # The csv module cannot resync after this (e.g. a runaway quote): report and stop.
            on_bad_row(previous_end + 1, f"cannot read the rest of the file: {exc}")


def _shown(delimiter: str) -> str:
    return "tab" if delimiter == "\t" else delimiter


def read_csv(
    data: bytes,
    *,
    columns: Mapping[str, Sequence[str]],
    required: Collection[str] = (),
) -> CsvTable:
    """Decode `data` and match its header against `columns` (canonical name → aliases).

    Raises `InvalidInputError` for an empty file, a header naming one column twice, or a
    missing `required` column (the message lists the names that column is accepted under).
    """
    text, encoding, fell_back = decode(data)
    if not text.strip():
        raise InvalidInputError("the file is empty", hint="expected a header line and rows")

    delimiter = detect_delimiter(_first_line(text))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] = []
    header_line = 0
    previous_end = 0
    try:
        for cells in reader:
            start, previous_end = previous_end + 1, reader.line_num
            if any(c.strip() for c in cells):
                header, header_line = cells, start
                break
    except csv.Error as exc:
        raise InvalidInputError(f"cannot read the header line: {exc}") from None

    lookup: dict[str, str] = {}
    for canonical, aliases in columns.items():
        for name in (canonical, *aliases):
            lookup[header_key(name)] = canonical

    found: dict[str, tuple[int, str]] = {}
    unknown: list[str] = []
    for index, raw in enumerate(header):
        written = raw.strip()
        if not written:
            continue  # a trailing delimiter in the header
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

    for name in required:
        if name not in found:
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
    )
