"""Start-up and exit of the installed script: only the command run is built, and leaving
skips module teardown without losing output, exit codes or committed data."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from arkinctl.cli import _command_named


@pytest.mark.parametrize(
    ("argv", "command"),
    [
        (["client", "show", "1"], "client"),
        (["--db", "client", "diagnose", "client"], "diagnose"),  # "client" is the --db value
        (["-f", "json", "--as", "x", "invite", "list"], "invite"),
        (["--format=json", "-v", "audit", "verify"], "audit"),
        (["--no-color", "demo"], "demo"),
        (["--help"], None),
        ([], None),
        (["clint", "show"], None),  # a typo: the error needs every name to suggest one
        (["--", "client"], None),
    ],
)
def test_the_command_a_command_line_names(argv: list[str], command: str | None) -> None:
    assert _command_named(argv) == command


def test_shell_completion_builds_every_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("_ARKINCTL_COMPLETE", "complete_bash")
    assert _command_named(["client", "sh"]) is None


_PROBE = """\
import atexit, sys
atexit.register(lambda: sys.stderr.write(
    "LOADED " + " ".join(sorted(m for m in sys.modules if m.startswith("arkinctl.commands.")))
))
sys.argv = ["arkinctl", *sys.argv[1:]]
from arkinctl.cli import main
main()
"""


def demo_clients(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        (n,) = conn.execute("SELECT count(*) FROM clients WHERE search_text LIKE '%e%'").fetchone()
    return int(n)


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {"HOME": str(cwd), "ARKINCTL_USER": "tester", "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, "-c", _PROBE, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
    )


def test_only_the_named_command_group_is_loaded(tmp_path: Path) -> None:
    result = _run("client", "--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "show" in result.stdout and "search" in result.stdout
    loaded = result.stderr.split("LOADED ", 1)[1].split()
    assert "arkinctl.commands.client" in loaded
    assert "arkinctl.commands.invite" not in loaded and "arkinctl.commands.demo" not in loaded
    everything = _run("--help", cwd=tmp_path)
    assert "invite" in everything.stdout and "arkinctl.commands.invite" in everything.stderr


def test_exit_status_output_and_committed_data_survive_the_fast_exit(tmp_path: Path) -> None:
    db = tmp_path / "fast.db"
    demo = _run("--db", str(db), "demo", cwd=tmp_path)
    assert demo.returncode == 0, demo.stderr
    missing = _run("--db", str(db), "client", "show", "0000000", cwd=tmp_path)
    assert missing.returncode == 3 and missing.stderr.startswith("Error: "), missing.stderr
    usage = _run("--db", str(db), "client", "show", cwd=tmp_path)
    assert usage.returncode == 2
    disable = _run(
        "--db", str(db), "share", "disable", "9100002", "--reason", "asked", cwd=tmp_path
    )
    assert disable.returncode == 0, disable.stderr
    assert disable.stdout.strip(), "buffered output was printed before leaving"
    # The exit handlers closed the connection: SQLite folded its write-ahead log back in.
    assert not Path(f"{db}-wal").exists()
    with sqlite3.connect(db) as conn:
        (enabled,) = conn.execute(
            "SELECT sharing_enabled FROM clients WHERE client_number = '9100002'"
        ).fetchone()
    assert enabled == 0
    listed = _run("--db", str(db), "--format", "csv", "client", "search", "e", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.count("\n") == demo_clients(db) + 1  # header and every row


def test_the_root_help_lists_what_the_full_app_lists(tmp_path: Path) -> None:
    """`arkinctl --help` builds each group as its name and help only; it must read the same."""
    import re

    from typer.testing import CliRunner

    from arkinctl.cli import app

    def commands(text: str) -> list[str]:
        listed = text.split("Commands:", 1)[1]
        return re.findall(r"^  ([a-z]+)\s+(\S.{0,30})", listed, flags=re.MULTILINE)

    quick = _run("--help", cwd=tmp_path)
    assert quick.returncode == 0
    full = CliRunner().invoke(app, ["--help"], terminal_width=200).stdout
    assert commands(quick.stdout) == commands(full)
    assert len(commands(full)) == 15
    # a group's own help still has its subcommands
    assert "link" in _run("care", "--help", cwd=tmp_path).stdout
