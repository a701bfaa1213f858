"""The installed `arkinctl` console script, run as a user runs it: a subprocess in a pipe."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from arkinctl.services.diagnose import CAUSES

pytestmark = pytest.mark.e2e

_venv_script = Path(sys.executable).parent / "arkinctl"
ARKINCTL = str(_venv_script) if _venv_script.exists() else shutil.which("arkinctl")
ANSI = re.compile(r"\x1b\[")
BOX = re.compile(r"[\u2500-\u257f]")


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A clean user: own home and data folder, nothing inherited from the developer."""
    home = tmp_path / "user-home"
    home.mkdir()
    return {
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / "data"),
        "PATH": os.defpath,
        "LANG": "C.UTF-8",
        "ARKINCTL_USER": "tester",
    }


def start(db_url: str, cwd: Path, *args: str, **env: str) -> subprocess.Popen[str]:
    """The installed arkinctl as a background process on `db_url`, as a clean user runs it
    (own home, nothing inherited); stdout and stderr are pipes."""
    if ARKINCTL is None:
        pytest.skip("the arkinctl console script is not installed")
    home = cwd / "home"
    home.mkdir(exist_ok=True)
    base = {
        "HOME": str(home),
        "PATH": os.defpath,
        "LANG": "C.UTF-8",
        "ARKINCTL_USER": "tester",
        "ARKINCTL_DATABASE_URL": db_url,
    }
    return subprocess.Popen(
        [ARKINCTL, *args],
        env={**base, **env},
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )


def arkinctl(
    *args: str, env: dict[str, str], cwd: Path, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    if ARKINCTL is None:
        pytest.skip("the arkinctl console script is not installed")
    result = subprocess.run(
        [ARKINCTL, *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result


def _plain(text: str) -> None:
    assert not ANSI.search(text), repr(text[:300])
    assert not BOX.search(text), repr(text[:300])


def test_help_with_an_empty_environment_and_no_database(tmp_path: Path) -> None:
    tmp_path = tmp_path / "empty"
    tmp_path.mkdir()
    result = arkinctl("--help", env={}, cwd=tmp_path, timeout=30)
    assert result.returncode == 0, result.stderr
    assert "diagnose" in result.stdout and "demo" in result.stdout
    assert result.stderr == ""
    assert list(tmp_path.iterdir()) == []  # nothing created
    version = arkinctl("--version", env={}, cwd=tmp_path, timeout=30)
    assert version.returncode == 0 and version.stdout.startswith("arkinctl ")
    sub = arkinctl("diagnose", "--help", env={}, cwd=tmp_path, timeout=30)
    assert sub.returncode == 0 and "--all" in sub.stdout


def test_demo_on_the_default_sqlite_database(env: dict[str, str], tmp_path: Path) -> None:
    db_file = Path(env["XDG_DATA_HOME"]) / "arkinctl" / "arkinctl.db"
    assert not db_file.exists()

    demo = arkinctl("--format", "json", "demo", env=env, cwd=tmp_path)
    assert demo.returncode == 0, demo.stderr
    assert db_file.is_file()
    assert f"Created the arkinctl schema in sqlite:///{db_file}" in demo.stderr
    doc = json.loads(demo.stdout)
    assert all(doc["causes"][c] > 0 for c in CAUSES[1:])

    for cause in ("ok", "dob_mismatch"):
        d = arkinctl("--format", "json", "diagnose", doc["examples"][cause], env=env, cwd=tmp_path)
        assert d.returncode == (0 if cause == "ok" else 20)
        diagnosis = json.loads(d.stdout)
        assert diagnosis["cause"] == cause
        assert "dob_difference" in diagnosis
        assert d.stderr == ""  # the database exists now: nothing to say
    missing = arkinctl("diagnose", "7999999", "--format", "json", env=env, cwd=tmp_path)
    assert missing.returncode == 3
    assert json.loads(missing.stdout)["cause"] == "client_not_found"

    # human output in a pipe: plain text
    ok = doc["examples"]["ok"]
    for args in (
        ("diagnose", ok),
        ("files", "list", ok),
        ("dob", "verify", doc["examples"]["dob_mismatch"], "--claimed", "4-3-1985"),
    ):
        r = arkinctl(*args, env=env, cwd=tmp_path)
        assert r.returncode in (0, 20), (args, r.stderr)
        assert r.stdout.strip(), args
        _plain(r.stdout)
        _plain(r.stderr)

    # the audit trail names the command and its options, never a reference or a reason
    email = "zoe.van.der.meulenozdemir@example.com"  # the demo's featured client
    r = arkinctl("client", "show", email, "--reason", "belde op", env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    _plain(r.stdout)
    assert "Zoë van der Meulen-Özdemir" in r.stdout
    with sqlite3.connect(db_file) as conn:
        user, action, number, command, purpose = conn.execute(
            "SELECT user, action, client_number, command, purpose FROM audit_events "
            "ORDER BY id DESC LIMIT 1"
        ).fetchone()
    assert (user, action, number, purpose) == ("tester", "client.show", ok, "belde op")
    assert command.startswith("arkinctl client show")
    assert email not in command and "--reason" in command and "belde" not in command


def test_db_init_then_demo(blank_db_url: str, env: dict[str, str], tmp_path: Path) -> None:
    """On an empty database of each kind (PostgreSQL: a fresh database on the test server)."""
    before = arkinctl("--db", blank_db_url, "diagnose", "1", env=env, cwd=tmp_path)
    assert before.returncode == 9
    assert "db init" in before.stderr
    assert len(before.stderr.strip().splitlines()) == 1

    init = arkinctl("--db", blank_db_url, "db", "init", env=env, cwd=tmp_path)
    assert init.returncode == 0, init.stderr
    status = arkinctl("--db", blank_db_url, "db", "status", "-f", "json", env=env, cwd=tmp_path)
    assert status.returncode == 0 and json.loads(status.stdout)["current"] is True

    demo = arkinctl("--db", blank_db_url, "--format", "json", "demo", env=env, cwd=tmp_path)
    assert demo.returncode == 0, demo.stderr
    doc = json.loads(demo.stdout)
    assert all(doc["causes"][c] > 0 for c in CAUSES[1:])
    report = arkinctl(
        "--db", blank_db_url, "diagnose", "--all", "-f", "json", env=env, cwd=tmp_path
    )
    assert json.loads(report.stdout)["causes"] == doc["causes"]
    d = arkinctl(
        "--db", blank_db_url, "diagnose", doc["examples"]["sharing_disabled"], env=env, cwd=tmp_path
    )
    assert d.returncode == 20
    assert "sharing_disabled" in d.stdout
    _plain(d.stdout)
    # nothing was written to the default data folder
    assert not (Path(env["XDG_DATA_HOME"]) / "arkinctl").exists()


def test_database_url_from_dot_env(blank_db_url: str, env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"ARKINCTL_DATABASE_URL={blank_db_url}\n")
    assert arkinctl("db", "init", env=env, cwd=tmp_path).returncode == 0
    r = arkinctl("diagnose", "--all", "-f", "json", env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["total"] == 0


def test_unreachable_database_is_one_line(env: dict[str, str], tmp_path: Path) -> None:
    r = arkinctl(
        "--db", "postgresql://nobody@127.0.0.1:1/x", "diagnose", "1", env=env, cwd=tmp_path
    )
    assert r.returncode == 8
    assert r.stdout == ""
    assert len(r.stderr.strip().splitlines()) == 1
    assert r.stderr.startswith("Error: ")


def test_output_cut_short_by_head_is_quiet(env: dict[str, str], tmp_path: Path) -> None:
    """`arkinctl … | head -1`: no error message, exit 141 like any tool killed by SIGPIPE."""
    if ARKINCTL is None:
        pytest.skip("the arkinctl console script is not installed")
    db = tmp_path / "pipe.db"
    assert arkinctl("--db", str(db), "demo", env=env, cwd=tmp_path).returncode == 0
    reader = subprocess.Popen(
        f"'{ARKINCTL}' --db '{db}' --format json client search a | head -c 1",
        shell=True,
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        executable="/bin/bash",
    )
    out, err = reader.communicate(timeout=120)
    assert out == b"["
    assert b"Error" not in err and b"Traceback" not in err, err


def test_two_demos_at_once_on_postgresql(env: dict[str, str], tmp_path: Path) -> None:
    from tests.conftest import throwaway_pg_database

    with throwaway_pg_database("arkinctl_demo2") as url:
        assert arkinctl("--db", url, "db", "init", env=env, cwd=tmp_path).returncode == 0
        runs = [
            subprocess.Popen(
                [str(ARKINCTL), "--db", url, "--format", "json", "demo"],
                env=env,
                cwd=tmp_path,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        for p in runs:
            stdout, stderr = p.communicate(timeout=300)
            assert p.returncode == 0, stderr
            assert json.loads(stdout)["clients"] == 43
