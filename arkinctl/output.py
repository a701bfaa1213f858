"""Everything arkinctl writes to stdout, and its status lines on stderr.

The only module that imports rich or tabulate, and only when they are needed: rich for
tables and colour on a terminal, tabulate for plain aligned text in a pipe. JSON and CSV
go to stdout alone; warnings, progress and errors go to stderr.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from enum import Enum
from typing import IO, Any

from arkinctl.formats import OutputFormat

__all__ = ["Output", "OutputFormat", "Section"]


@dataclass
class Section:
    """A titled block of a one-object view: key/value pairs or a small table."""

    title: str | None
    pairs: list[tuple[str, Any]] = field(default_factory=list)
    headers: list[str] | None = None
    rows: Sequence[Sequence[Any]] | None = None


def json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def _color_allowed(no_color_flag: bool, stream: IO[str]) -> bool:
    if no_color_flag or os.environ.get("NO_COLOR"):
        return False
    return stream.isatty()


class Output:
    def __init__(
        self,
        fmt: OutputFormat,
        *,
        no_color: bool = False,
        tz: tzinfo | None = None,
        stdout: IO[str] | None = None,
        stderr: IO[str] | None = None,
    ) -> None:
        self.format = fmt
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        self.tz = tz
        self.is_tty = self.stdout.isatty()
        self.color = _color_allowed(no_color, self.stdout)
        self.err_color = _color_allowed(no_color, self.stderr)

    # ---- values -------------------------------------------------------------------------
    def cell(self, value: Any) -> str:
        """A value as a human sees it: dates YYYY-MM-DD, instants in local time."""
        if value is None:
            return ""
        if isinstance(value, bool):
            return "yes" if value else "no"
        if isinstance(value, datetime):
            local = value.astimezone(self.tz) if self.tz else value
            return local.strftime("%Y-%m-%d %H:%M")
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, Enum):
            return str(value.value)
        return str(value)

    # ---- machine formats ----------------------------------------------------------------
    def json(self, document: Any) -> None:
        json.dump(document, self.stdout, default=json_default, ensure_ascii=False, indent=2)
        self.stdout.write("\n")

    def csv(self, headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        writer = csv.writer(self.stdout, lineterminator="\n")
        writer.writerow(headers)
        for row in rows:
            writer.writerow([csv_cell(v) for v in row])

    # ---- documents ----------------------------------------------------------------------
    def records(
        self,
        rows: Sequence[Mapping[str, Any]],
        columns: Sequence[str],
        *,
        headers: Sequence[str] | None = None,
        title: str | None = None,
        empty: str = "nothing found",
        csv_columns: Sequence[str] | None = None,
        display: Mapping[str, Callable[[Any], Any]] | None = None,
    ) -> None:
        """A list of objects: a JSON array of the full rows, CSV of `csv_columns` (default
        `columns`), or a table of `columns`, each value passed through `display` if given."""
        if self.format is OutputFormat.json:
            self.json(list(rows))
            return
        if self.format is OutputFormat.csv:
            keys = csv_columns or columns
            self.csv(keys, ([row.get(c) for c in keys] for row in rows))
            return
        if not rows:
            self.status(empty)
            return
        shown = display or {}
        self.table(
            list(headers or columns),
            [[shown.get(c, _same)(row.get(c)) for c in columns] for row in rows],
            title,
        )

    def stream(
        self,
        rows: Iterable[Mapping[str, Any]],
        columns: Sequence[str],
        *,
        title: str | None = None,
        empty: str = "nothing found",
        display: Mapping[str, Callable[[Any], Any]] | None = None,
    ) -> int:
        """Like `records`, but JSON and CSV are written row by row as `rows` yields them (a
        list of any length in constant memory). Returns the number of rows."""
        if self.format is OutputFormat.table:
            collected = list(rows)
            self.records(collected, columns, title=title, empty=empty, display=display)
            return len(collected)
        n = 0
        if self.format is OutputFormat.csv:
            writer = csv.writer(self.stdout, lineterminator="\n")
            writer.writerow(columns)
            for row in rows:
                writer.writerow([csv_cell(row.get(c)) for c in columns])
                n += 1
            return n
        self.stdout.write("[")
        for row in rows:
            self.stdout.write(",\n  " if n else "\n  ")
            self.stdout.write(json.dumps(row, default=json_default, ensure_ascii=False))
            n += 1
        self.stdout.write("\n]\n" if n else "]\n")
        return n

    def json_object_stream(
        self,
        head: Mapping[str, Any],
        key: str,
        rows: Iterable[Mapping[str, Any]],
        tail: Callable[[], Mapping[str, Any]],
    ) -> None:
        """One JSON object whose `key` is a list written as `rows` yields it; `tail()` gives
        the fields known only at the end (a summary)."""
        self.stdout.write("{\n")
        for k, v in head.items():
            self.stdout.write(f"  {json.dumps(k)}: {json.dumps(v, default=json_default)},\n")
        self.stdout.write(f"  {json.dumps(key)}: [")
        n = 0
        for row in rows:
            self.stdout.write(",\n    " if n else "\n    ")
            self.stdout.write(json.dumps(row, default=json_default, ensure_ascii=False))
            n += 1
        self.stdout.write("\n  ]" if n else "]")
        for k, v in tail().items():
            self.stdout.write(f",\n  {json.dumps(k)}: ")
            self.stdout.write(json.dumps(v, default=json_default, ensure_ascii=False))
        self.stdout.write("\n}\n")

    @contextmanager
    def progress_bar(self, total: int, label: str) -> Iterator[Callable[[int], None]]:
        """A progress bar on stderr while the block runs, only when stderr is a terminal;
        yields `advance(n)`."""
        if not self.stderr.isatty():
            yield lambda _n: None
            return
        from rich.console import Console
        from rich.progress import Progress

        console = Console(file=self.stderr, no_color=not self.err_color)
        with Progress(console=console, transient=True) as bar:
            task = bar.add_task(label, total=total)
            yield lambda n: bar.advance(task, n)

    def document(self, document: Mapping[str, Any], sections: Sequence[Section]) -> None:
        """One object: JSON as is, CSV as `field,value` rows of the JSON, or titled blocks."""
        if self.format is OutputFormat.json:
            self.json(document)
            return
        if self.format is OutputFormat.csv:
            # Every field of the JSON document as one `field,value` row (dotted paths), so
            # the CSV is regular whatever the shape of the human view.
            self.csv(["field", "value"], flatten(document))
            return
        for i, s in enumerate(sections):
            if i:
                self.stdout.write("\n")
            if s.pairs:
                self.pairs(s.pairs, s.title)
            if s.rows is not None:
                if s.rows:
                    self.table(list(s.headers or []), [list(r) for r in s.rows], s.title)
                elif not s.pairs:
                    self.line(f"{s.title}: none" if s.title else "none")

    # ---- human rendering ----------------------------------------------------------------
    def table(self, headers: list[str], rows: list[list[Any]], title: str | None = None) -> None:
        text_rows = [[self.cell(v) for v in r] for r in rows]
        if self.is_tty:
            from rich.table import Table

            table = Table(title=title, title_justify="left", header_style="bold")
            for h in headers:
                table.add_column(h, overflow="fold")
            for r in text_rows:
                table.add_row(*[self._markup(c) for c in r])
            self._console().print(table)
            return
        from tabulate import tabulate

        if title:
            self.stdout.write(f"{title}\n")
        self.stdout.write(tabulate(text_rows, headers=headers, tablefmt="plain") + "\n")

    def pairs(self, pairs: Sequence[tuple[str, Any]], title: str | None = None) -> None:
        if self.is_tty:
            from rich.table import Table

            table = Table(title=title, title_justify="left", show_header=False, box=None)
            table.add_column(style="bold", no_wrap=True)
            table.add_column(overflow="fold")
            for k, v in pairs:
                table.add_row(k, self._markup(self.cell(v)))
            self._console().print(table)
            return
        if title:
            self.stdout.write(f"{title}\n")
        width = max((len(k) for k, _ in pairs), default=0)
        for k, v in pairs:
            self.stdout.write(f"  {k.ljust(width)}  {self.cell(v)}\n")

    def line(self, text: str = "", style: str | None = None) -> None:
        if self.is_tty:
            self._console().print(text, style=style, highlight=False, markup=False)
        else:
            self.stdout.write(text + "\n")

    def _markup(self, text: str) -> Any:
        from rich.text import Text

        out = Text(text)
        if self.color:
            if text.startswith("✓"):
                out.stylize("green")
            elif text.startswith("✗"):
                out.stylize("bold red")
        return out

    def _console(self) -> Any:
        if not hasattr(self, "_rich"):
            from rich.console import Console

            # no_color alone still lets rich write bold/italic escapes; no colour system: none.
            self._rich = Console(
                file=self.stdout,
                no_color=not self.color,
                color_system="auto" if self.color else None,
                highlight=False,
                soft_wrap=False,
            )
        return self._rich

    # ---- stderr -------------------------------------------------------------------------
    def status(self, text: str) -> None:
        self.stderr.write(text + "\n")

    def progress(self, text: str) -> None:
        """A progress line for a person watching; scripts and pipes are not flooded with it."""
        if self.stderr.isatty():
            self.stderr.write(text + "\n")

    def warn(self, text: str) -> None:
        prefix = "\x1b[33mWarning:\x1b[0m" if self.err_color else "Warning:"
        self.stderr.write(f"{prefix} {text}\n")

    def error(self, text: str) -> None:
        prefix = "\x1b[31mError:\x1b[0m" if self.err_color else "Error:"
        self.stderr.write(f"{prefix} {text}\n")


def _same(value: Any) -> Any:
    return value


def yes_no_mark(value: Any) -> str:
    return "✓ yes" if value else "✗ no"


def flatten(value: Any, prefix: str = "") -> list[list[Any]]:
    """`{"a": {"b": 1}, "c": [2]}` → `[["a.b", 1], ["c.0", 2]]`; empty containers kept."""
    if isinstance(value, Mapping) and value:
        return [row for k, v in value.items() for row in flatten(v, f"{prefix}{k}.")]
    if isinstance(value, list | tuple) and value:
        return [row for i, v in enumerate(value) for row in flatten(v, f"{prefix}{i}.")]
    if isinstance(value, Mapping | list | tuple):
        value = ""
    return [[prefix.rstrip("."), value]]


def csv_cell(value: Any) -> Any:
    """A value as a CSV field: empty for None, text and numbers as they are."""
    if value is None:
        return ""
    if type(value) is str or type(value) is int:
        return value
    return json_default_str(value)


def json_default_str(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date | datetime | Enum):
        return str(json_default(value))
    return str(value)
