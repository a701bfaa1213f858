"""Shared fixtures: an isolated environment, and a real database on SQLite and PostgreSQL.

PostgreSQL tests need ARKINCTL_TEST_DATABASE_URL, an admin URL on a server where the test
user may create databases (CI sets it). Each test gets its own throw-away database, cloned
from a migrated template; without the variable the PostgreSQL half is skipped, with why.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"
PG_ADMIN_URL = os.environ.get("ARKINCTL_TEST_DATABASE_URL", "")


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No test reads the developer's settings or writes to their data folder."""
    for key in list(os.environ):
        if key.startswith("ARKINCTL_") or key == "NO_COLOR":
            monkeypatch.delenv(key)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("ARKINCTL_USER", "tester")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


@pytest.fixture
def realdata() -> Path:
    if not REALDATA.is_dir():
        pytest.skip(f"real input files not present at {REALDATA} (they live in ../shared)")
    return REALDATA


def _admin_engine() -> Any:
    from sqlalchemy import create_engine

    from arkinctl.config import normalise_database_url

    return create_engine(normalise_database_url(PG_ADMIN_URL), isolation_level="AUTOCOMMIT")


def _pg_url(dbname: str) -> str:
    from sqlalchemy.engine import make_url

    from arkinctl.config import normalise_database_url

    url = make_url(normalise_database_url(PG_ADMIN_URL)).set(database=dbname)
    return url.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from arkinctl.db.engine import make_engine
    from arkinctl.db.migrate import upgrade

    path = tmp_path_factory.mktemp("tmpl") / "template.db"
    engine = make_engine(f"sqlite:///{path}", create=True)
    upgrade(engine)
    _add_test_users(engine)
    engine.dispose()
    return path


# The users every test database starts with: `tester` (ARKINCTL_USER in the tests) is the
# admin, as whoever ran `db init` would be; tests of the other roles act as these.
TEST_USERS = (("tester", "admin"), ("p.arts", "practitioner"), ("t.helpdesk", "technical"))


def _add_test_users(engine: Any) -> None:
    from sqlalchemy.orm import Session

    from arkinctl.db.models import User

    with Session(engine) as session, session.begin():
        session.add_all(User(username=name, role=role) for name, role in TEST_USERS)


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    if not PG_ADMIN_URL:
        pytest.skip("PostgreSQL tests need ARKINCTL_TEST_DATABASE_URL (an admin URL)")
    from arkinctl.db.engine import make_engine
    from arkinctl.db.migrate import upgrade

    name = f"arkinctl_tmpl_{uuid.uuid4().hex[:10]}"
    admin = _admin_engine()
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine = make_engine(_pg_url(name), create=True)
    upgrade(engine)
    _add_test_users(engine)
    engine.dispose()
    yield name
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


@contextmanager
def throwaway_pg_database(prefix: str, template: str | None = None) -> Iterator[str]:
    """A new PostgreSQL database (a copy of `template` if given), dropped afterwards."""
    if not PG_ADMIN_URL:
        pytest.skip("PostgreSQL tests need ARKINCTL_TEST_DATABASE_URL (an admin URL)")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = _admin_engine()
    copy_of = f' TEMPLATE "{template}"' if template else ""
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"{copy_of}')
    try:
        yield _pg_url(name)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database of each kind, thrown away after the test."""
    if request.param == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "arkinctl-test.db"
        shutil.copy(template, path)
        yield f"sqlite:///{path}"
        return
    with throwaway_pg_database("arkinctl_t", request.getfixturevalue("pg_template")) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def blank_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of each kind with no schema at all."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    with throwaway_pg_database("arkinctl_e") as url:
        yield url


@pytest.fixture
def session_factory(db_url: str) -> Iterator[Any]:
    from sqlalchemy.orm import sessionmaker

    from arkinctl.db.engine import make_engine

    engine = make_engine(db_url)
    yield sessionmaker(engine, expire_on_commit=False)
    engine.dispose()


@pytest.fixture
def session(session_factory: Any) -> Iterator[Any]:
    """A session whose work the test commits itself (other sessions/CLI runs see it then)."""
    with session_factory() as s:
        yield s


@pytest.fixture
def cli(db_url: str) -> Callable[..., Any]:
    """Run arkinctl in-process against the test database: cli("client", "show", "123")."""
    from typer.testing import CliRunner

    from arkinctl.cli import app

    runner = CliRunner()

    def invoke(*args: str, input: str | bytes | None = None) -> Any:
        return runner.invoke(app, ["--db", db_url, *args], input=input)

    return invoke


@pytest.fixture
def run(cli: Callable[..., Any]) -> Callable[..., Any]:
    """`cli`, failing the test on a traceback or an exception the CLI did not handle."""

    def invoke(*args: str, input: str | bytes | None = None) -> Any:
        result = cli(*args, input=input)
        assert "Traceback" not in result.stderr + result.stdout
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise AssertionError(f"uncaught {result.exception!r}") from result.exception
        return result

    return invoke


@pytest.fixture
def smtp_env(monkeypatch: pytest.MonkeyPatch) -> Callable[[int], None]:
    """Point arkinctl's outbox at a test mail server on loopback."""

    def point_at(port: int) -> None:
        monkeypatch.setenv("ARKINCTL_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("ARKINCTL_SMTP_PORT", str(port))
        monkeypatch.setenv("ARKINCTL_SMTP_SECURITY", "none")
        monkeypatch.setenv("ARKINCTL_MAIL_FROM", "no-reply@zorg.example")

    return point_at


@pytest.fixture
def smtp(smtp_env: Callable[[int], None]) -> Iterator[Any]:
    """A real SMTP server (aiosmtpd) on loopback that arkinctl delivers to; yields its Handler."""
    from tests.mailserver import Handler, mail_server

    handler = Handler()
    with mail_server(handler) as port:
        smtp_env(port)
        yield handler
