"""The README is part of the interface: its command reference must match the commands."""

from __future__ import annotations

import typer

from arkinctl.cli import app
from tests.readme_reference import README, render


def test_readme_command_reference_is_current() -> None:
    text = README.read_text(encoding="utf-8")
    assert render(text) == text, "run: python tests/readme_reference.py"


def test_every_command_has_help_with_an_example() -> None:
    def walk(cmd: object, path: str) -> list[tuple[str, object]]:
        subs = getattr(cmd, "commands", None)
        if subs:
            return [x for name, sub in subs.items() for x in walk(sub, f"{path} {name}")]
        return [(path, cmd)]

    for path, cmd in walk(typer.main.get_command(app), "arkinctl"):
        help_text = getattr(cmd, "help", None) or ""
        assert help_text.strip(), f"{path} has no help"
        assert "arkinctl " in help_text, f"{path} help has no example"


def test_readme_documents_every_exit_code() -> None:
    from arkinctl.errors import ExitCode

    text = README.read_text(encoding="utf-8")
    for code in ExitCode:
        assert f"| {int(code)} |" in text, f"exit code {int(code)} ({code.name}) not in README"
