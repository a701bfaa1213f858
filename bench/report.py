"""The results table (printed) and its JSON form (bench/results/latest.json)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Row:
    """One figure: a median time against its floor (a ratio goal), or an absolute value."""

    measurement: str
    value: float
    unit: str  # "s" or "MiB"
    floor: str | None
    floor_value: float | None
    goal: float  # the largest acceptable ratio, or value when there is no floor

    @property
    def ratio(self) -> float | None:
        if self.floor_value is None:
            return None
        return self.value / self.floor_value

    @property
    def met(self) -> bool:
        measured = self.ratio if self.ratio is not None else self.value
        return measured <= self.goal

    @property
    def goal_text(self) -> str:
        return f"≤ {self.goal:g}x" if self.floor is not None else f"≤ {self.goal:g} {self.unit}"

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": self.ratio, "met": self.met, "goal_text": self.goal_text}


HEADERS = ("measurement", "median", "floor", "floor median", "ratio", "goal", "result")


def _value(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    return f"{value:.3f} s" if unit == "s" else f"{value:.1f} {unit}"


def cells(row: Row) -> tuple[str, ...]:
    return (
        row.measurement,
        _value(row.value, row.unit),
        row.floor or "-",
        _value(row.floor_value, row.unit),
        f"{row.ratio:.2f}x" if row.ratio is not None else "-",
        row.goal_text,
        "ok" if row.met else "MISS",
    )


def table(headers: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> str:
    """A plain-text table, right-aligned numbers, as Markdown (it reads well both ways)."""
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]
    numeric = [
        i > 0 and all(r[i][:1].isdigit() or r[i] == "-" for r in rows) for i in range(len(headers))
    ]

    def line(values: tuple[str, ...]) -> str:
        padded = [
            v.rjust(w) if num else v.ljust(w)
            for v, w, num in zip(values, widths, numeric, strict=True)
        ]
        return "| " + " | ".join(padded) + " |"

    rule = (
        "|"
        + "|".join(
            "-" * (w + 1) + (":" if num else "-") for w, num in zip(widths, numeric, strict=True)
        )
        + "|"
    )
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


def results_table(rows: list[Row]) -> str:
    return table(HEADERS, [cells(r) for r in rows])


def load_table(steps: dict[str, float], rows: dict[str, int]) -> str:
    lines = [(step, f"{seconds:.1f} s", f"{rows[step]:,}" if step in rows else "-")
             for step, seconds in steps.items()]  # fmt: skip
    lines.append(("total", f"{sum(steps.values()):.1f} s", "-"))
    return table(("load step", "time", "rows"), lines)


def write_json(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
