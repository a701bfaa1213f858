"""Settings: database URL normalisation, secret masking, `.env`, and bad values."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from arkinctl.config import (
    DEFAULT_SHARED_KINDS,
    load_settings,
    mask_url,
    normalise_database_url,
)
from arkinctl.errors import ExitCode, InvalidInputError


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (
            "postgres://u:pw@db.example:5432/arkin",
            "postgresql+psycopg://u:pw@db.example:5432/arkin",
        ),
        ("postgresql://u@db/arkin", "postgresql+psycopg://u@db/arkin"),
        ("postgresql+psycopg2://u@db/arkin", "postgresql+psycopg://u@db/arkin"),
        ("postgresql+psycopg://u@db/arkin", "postgresql+psycopg://u@db/arkin"),
        ("POSTGRES://u@db/arkin", "postgresql+psycopg://u@db/arkin"),
        ("  postgresql://u@db/arkin\n", "postgresql+psycopg://u@db/arkin"),
        (
            "postgresql://u@db/arkin?sslmode=require",
            "postgresql+psycopg://u@db/arkin?sslmode=require",
        ),
        ("sqlite:///data/arkin.db", "sqlite:///data/arkin.db"),
        ("sqlite://", "sqlite://"),
    ],
)
def test_database_urls_as_people_paste_them(given: str, expected: str) -> None:
    assert normalise_database_url(given) == expected


def test_a_bare_path_is_an_sqlite_file(isolated_env: Path) -> None:
    assert normalise_database_url("clients.db") == f"sqlite:///{isolated_env / 'clients.db'}"
    assert normalise_database_url("/tmp/x/a.db") == "sqlite:////tmp/x/a.db"
    home = Path.home()
    assert normalise_database_url("~/a.db") == f"sqlite:///{home / 'a.db'}"


@pytest.mark.parametrize("url", ["mysql://u@h/db", "mssql+pyodbc://h/db", "http://example.com"])
def test_unknown_scheme_is_invalid_input(url: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        normalise_database_url(url)
    assert caught.value.exit_code is ExitCode.INVALID_INPUT
    assert "scheme" in str(caught.value)


@pytest.mark.parametrize("url", ["", "   "])
def test_empty_url_is_invalid_input(url: str) -> None:
    with pytest.raises(InvalidInputError):
        normalise_database_url(url)


@pytest.mark.parametrize(
    ("url", "secret"),
    [
        ("postgresql+psycopg://arkin:s3cret@db.example:5432/arkin", "s3cret"),
        ("postgresql+psycopg://arkin:p%40ss%3Aw0rd@db/arkin", "p%40ss%3Aw0rd"),
        ("postgresql+psycopg://arkin:pa:ss@db/arkin", "pa:ss"),
        ("postgresql+psycopg://arkin@db/arkin?password=hunter2", "hunter2"),
        ("postgresql+psycopg://arkin@db/arkin?sslmode=require&password=hunter2", "hunter2"),
    ],
)
def test_mask_url_hides_passwords(url: str, secret: str) -> None:
    masked = mask_url(url)
    assert secret not in masked
    assert "***" in masked
    assert "arkin" in masked and "db" in masked


def test_mask_url_keeps_urls_without_a_password() -> None:
    for url in ("postgresql+psycopg://arkin@db/arkin", "sqlite:////tmp/a.db"):
        assert mask_url(url) == url
    assert (
        mask_url("postgresql+psycopg://arkin:pw@db/arkin")
        == "postgresql+psycopg://arkin:***@db/arkin"
    )


# ---- load_settings ------------------------------------------------------------------------


def test_defaults_with_an_empty_environment(isolated_env: Path) -> None:
    s = load_settings()
    assert s.database_is_default
    data_home = Path.home() / ".local" / "share"
    assert s.database_url == f"sqlite:///{data_home / 'arkinctl' / 'arkinctl.db'}"
    assert s.sources["database"] == "default"
    assert s.user == "tester"  # ARKINCTL_USER, set by the isolated environment
    assert s.cutoff_date == date(2022, 3, 1)
    assert s.timezone == ZoneInfo("Europe/Amsterdam")
    assert s.shared_kinds == DEFAULT_SHARED_KINDS
    assert "progress_note" not in s.shared_kinds and "letter" in s.shared_kinds
    assert s.invitation_expiry_days == 14


def test_dot_env_in_the_working_directory_is_read(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ARKINCTL_USER")
    (isolated_env / ".env").write_text(
        "ARKINCTL_DATABASE_URL=postgres://arkin:pw@db.example/arkin\n"
        "ARKINCTL_USER=from.dotenv\n"
        "ARKINCTL_CUTOFF_DATE=2023-01-01\n"
        "ARKINCTL_SHARED_KINDS=letter, report\n",
        encoding="utf-8",
    )
    s = load_settings()
    assert s.database_url == "postgresql+psycopg://arkin:pw@db.example/arkin"
    assert not s.database_is_default
    assert s.sources["database"] == "ARKINCTL_DATABASE_URL in .env"  # where it came from
    assert s.user == "from.dotenv"
    assert s.cutoff_date == date(2023, 1, 1)
    assert s.shared_kinds == frozenset({"letter", "report"})


def test_environment_wins_over_dot_env(isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (isolated_env / ".env").write_text(
        "ARKINCTL_DATABASE_URL=postgres://dotenv@db/arkin\nARKINCTL_USER=from.dotenv\n"
    )
    monkeypatch.setenv("ARKINCTL_DATABASE_URL", "postgresql://env@db/arkin")
    s = load_settings()
    assert s.database_url == "postgresql+psycopg://env@db/arkin"
    assert s.user == "tester"


def test_options_win_over_environment(isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARKINCTL_DATABASE_URL", "postgresql://env@db/arkin")
    s = load_settings(database_url="sqlite:///x.db", user="cli.user")
    assert s.database_url == "sqlite:///x.db"
    assert s.sources["database"] == "--db"
    assert s.user == "cli.user"


def test_a_dot_env_elsewhere_is_not_read(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = isolated_env.parent / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / ".env").write_text("ARKINCTL_DATABASE_URL=postgres://x@db/arkin\n")
    assert load_settings().database_is_default


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ARKINCTL_TIMEZONE", "Mars/Olympus_Mons"),
        ("ARKINCTL_TIMEZONE", "../../etc/passwd"),
        ("ARKINCTL_TIMEZONE", "europe/amsterdam"),
        ("ARKINCTL_CUTOFF_DATE", "01-03-2022"),
        ("ARKINCTL_CUTOFF_DATE", "2022-02-30"),
        ("ARKINCTL_CUTOFF_DATE", "soon"),
        ("ARKINCTL_SHARED_KINDS", "letter,secret_diary"),
        ("ARKINCTL_INVITATION_EXPIRY_DAYS", "two weeks"),
    ],
)
def test_bad_settings_are_invalid_input(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(InvalidInputError) as caught:
        load_settings()
    assert caught.value.exit_code is ExitCode.INVALID_INPUT
    assert name in str(caught.value)


def test_bad_setting_in_dot_env_is_invalid_input(isolated_env: Path) -> None:
    (isolated_env / ".env").write_text("ARKINCTL_TIMEZONE=Nowhere/Special\n")
    with pytest.raises(InvalidInputError):
        load_settings()


def test_good_timezone_cutoff_and_kinds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARKINCTL_TIMEZONE", "America/New_York")
    monkeypatch.setenv("ARKINCTL_CUTOFF_DATE", " 2022-07-01 ")
    monkeypatch.setenv("ARKINCTL_SHARED_KINDS", "letter progress_note")
    monkeypatch.setenv("ARKINCTL_INVITATION_EXPIRY_DAYS", "21")
    s = load_settings()
    assert s.timezone == ZoneInfo("America/New_York")
    assert s.cutoff_date == date(2022, 7, 1)
    assert s.shared_kinds == frozenset({"letter", "progress_note"})
    assert s.invitation_expiry_days == 21


def test_bad_database_url_in_environment_is_invalid_input(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARKINCTL_DATABASE_URL", "oracle://scott:tiger@db/orcl")
    with pytest.raises(InvalidInputError) as caught:
        load_settings()
    assert "tiger" not in str(caught.value)


def test_a_wrong_mail_setting_is_kept_for_the_commands_that_send(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ARKINCTL_SMTP_SECURITY", "bogus")
    s = load_settings()  # diagnose and the rest still run
    assert s.mail.problem is not None and "ARKINCTL_SMTP_SECURITY" in s.mail.problem
    from arkinctl.services.delivery import check_settings

    with pytest.raises(InvalidInputError, match="ARKINCTL_SMTP_SECURITY"):
        check_settings(s.mail)
