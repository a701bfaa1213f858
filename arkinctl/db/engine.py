"""Engine and unit-of-work handling, plus the check that the schema is current.

The schema check reads `alembic_version` directly so that ordinary commands never import
alembic (start-up time); `SCHEMA_HEAD` must equal the newest migration, which a test checks.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError
from sqlalchemy.orm import Session, sessionmaker

from arkinctl.errors import DatabaseUnavailableError, SchemaOutdatedError

SCHEMA_HEAD = "0001_initial"
KNOWN_REVISIONS = ("0001_initial",)


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[1] if ":///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, connect_args={"connect_timeout": 5})


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # pysqlite opens transactions lazily, only before a write, so a SAVEPOINT could start
    # (and its RELEASE commit) a transaction of its own. Take over: no implicit BEGIN here,
    # an explicit one in _sqlite_begin (SQLAlchemy's documented pysqlite recipe).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    # WAL: readers never wait for a writer, so two arkinctl processes can work at once.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.close()


def _sqlite_begin(conn: Any) -> None:
    # IMMEDIATE takes the write lock up front: every command appends to the audit chain,
    # and two deferred transactions could otherwise both read the same last hash.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def describe_db_error(exc: DBAPIError) -> str:
    """The first line of the driver's message: enough to act on, no SQL, no parameters."""
    original = str(exc.orig) if exc.orig is not None else str(exc)
    first = original.strip().splitlines()[0] if original.strip() else type(exc).__name__
    return first


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at, or None when it has no arkinctl schema."""
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                exists = conn.execute(
                    text(
                        "SELECT 1 FROM sqlite_master WHERE type='table' AND name='alembic_version'"
                    )
                ).first()
            else:
                exists = conn.execute(text("SELECT to_regclass('alembic_version')")).scalar()
            if not exists:
                return None
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except (OperationalError, ProgrammingError) as exc:
        raise DatabaseUnavailableError(
            f"cannot reach the database: {describe_db_error(exc)}",
            hint="check --db / ARKINCTL_DATABASE_URL and that the server runs (`arkinctl doctor`)",
        ) from exc


def ensure_schema_current(engine: Engine, *, auto_create: bool) -> bool:
    """Raise unless the schema is at SCHEMA_HEAD. Returns True when it had to be created."""
    revision = current_revision(engine)
    if revision == SCHEMA_HEAD:
        return False
    if revision is None:
        if auto_create:
            from arkinctl.db.migrate import upgrade

            upgrade(engine)
            return True
        raise SchemaOutdatedError(
            "the database has no arkinctl schema", hint="run `arkinctl db init` first"
        )
    if revision in KNOWN_REVISIONS:
        raise SchemaOutdatedError(
            f"the database schema is out of date (at {revision}, need {SCHEMA_HEAD})",
            hint="run `arkinctl db upgrade`",
        )
    raise SchemaOutdatedError(
        f"the database schema ({revision}) is newer than this arkinctl knows",
        hint="upgrade arkinctl",
    )


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back on any exception."""
    with factory.begin() as session:
        yield session
