"""Bad settings and bad surroundings: one line on stderr, the documented exit code, no change.

Regression tests for what a new user broke (each was a traceback, a hang or a silent
misbehaviour before).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from arkinctl.db.models import AuditEvent, Client
from tests.factories import add_account, add_episode, make_client


def _one_line_error(result: Any, code: int) -> str:
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "unexpected" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return str(lines[0])


def test_malformed_database_url_is_invalid_input(cli: Callable[..., Any]) -> None:
    from typer.testing import CliRunner

    from arkinctl.cli import app

    r = CliRunner().invoke(app, ["--db", "postgresql://postgres@[::1/x", "diagnose", "1"])
    assert "cannot be read" in _one_line_error(r, 5)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"\xff\xfe\x00garbage\x00\x81", "not UTF-8"),
        (b'ARKINCTL_CUTOFF_DATE="soon\n', "line 1 cannot be read"),
    ],
)
def test_unreadable_env_file_is_named(
    cli: Callable[..., Any], isolated_env: Path, content: bytes, expected: str
) -> None:
    (isolated_env / ".env").write_bytes(content)
    line = _one_line_error(cli("client", "search", "x"), 5)
    assert ".env" in line and expected in line


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("ARKINCTL_SHARED_KINDS", " , ", "names no kinds"),
        ("ARKINCTL_INVITATION_EXPIRY_DAYS", "-5", "at least 1"),
        ("ARKINCTL_TIMEZONE", "Mars/Base", "not a known time zone"),
    ],
)
def test_bad_settings_are_refused(
    cli: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
    value: str,
    expected: str,
) -> None:
    monkeypatch.setenv(variable, value)
    assert expected in _one_line_error(cli("client", "search", "x"), 5)


def test_overlong_user_and_reason_are_refused_and_nothing_changes(
    cli: Callable[..., Any], session_factory: Any
) -> None:
    with session_factory.begin() as s:
        make_client(s, number="7100001")
    assert "1 to 64" in _one_line_error(cli("--as", "u" * 100, "diagnose", "7100001"), 5)
    r = cli("share", "disable", "7100001", "--reason", "r" * 600)
    assert "longer than 500" in _one_line_error(r, 5)
    with session_factory() as s:
        assert s.scalar(select(Client.sharing_enabled)) is True


def test_schema_newer_than_the_tool(cli: Callable[..., Any], session_factory: Any) -> None:
    with session_factory.begin() as s:
        s.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    for args in (("diagnose", "1"), ("db", "upgrade"), ("db", "init")):
        assert "newer than this arkinctl" in _one_line_error(cli(*args), 9)


def test_a_client_with_an_empty_file_is_told_so(
    cli: Callable[..., Any], session_factory: Any
) -> None:
    with session_factory.begin() as s:
        c = make_client(s, number="7100002")
        add_episode(s, c)
        add_account(s, c)
    r = cli("--format", "json", "diagnose", "7100002")
    assert r.exit_code == 20
    import json

    doc = json.loads(r.stdout)
    assert doc["cause"] == "nothing_shared"
    assert doc["checks"][7]["detail"] == "the care file has no parts at all"
    assert doc["next_command"] is None


def test_audit_command_keeps_no_argument_after_double_dash(
    cli: Callable[..., Any], session_factory: Any
) -> None:
    cli("diagnose", "--", "--928740158")
    with session_factory() as s:
        last = s.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert last is not None and last.command is not None
    assert "928740158" not in last.command
    assert last.command.startswith("arkinctl diagnose")


def test_claimed_date_in_the_future_or_empty(cli: Callable[..., Any], session_factory: Any) -> None:
    with session_factory.begin() as s:
        make_client(s, number="7100003")
    assert "future" in _one_line_error(
        cli("dob", "verify", "7100003", "--claimed", "01-01-2199"), 5
    )
    assert "empty" in _one_line_error(cli("dob", "verify", "7100003", "--claimed", ""), 5)
