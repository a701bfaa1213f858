"""The README's command reference, generated from the commands' own help.

`python tests/readme_reference.py` rewrites the block in README.md; `test_readme.py` fails
when the README and the commands drift apart.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

README = Path(__file__).resolve().parents[1] / "README.md"
START, END = "<!-- commands:start -->", "<!-- commands:end -->"


def _walk(command: Any, path: list[str]) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    subcommands = getattr(command, "commands", None)
    if subcommands:
        for name in sorted(subcommands):
            rows.extend(_walk(subcommands[name], [*path, name]))
    else:
        params = " ".join(
            (p.metavar or p.name or "").upper() if p.param_type_name == "argument" else ""
            for p in command.params
        ).split()
        usage = " ".join(["arkinctl", *path, *params])
        help_text = (command.help or "").strip().splitlines()
        rows.append((usage, help_text[0] if help_text else ""))
    return rows


def reference() -> str:
    import typer

    from arkinctl.cli import app

    rows = _walk(typer.main.get_command(app), [])
    lines = ["| command | what it does |", "| --- | --- |"]
    lines += [f"| `{usage}` | {text} |".replace("|-", "\\|-") for usage, text in rows]
    return "\n".join(lines)


def render(readme: str) -> str:
    block = f"{START}\n{reference()}\n{END}"
    return re.sub(re.escape(START) + ".*?" + re.escape(END), block, readme, flags=re.S)


if __name__ == "__main__":
    README.write_text(render(README.read_text(encoding="utf-8")), encoding="utf-8")
    sys.stdout.write("README.md command reference regenerated\n")
