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
from sqlalchemy.exc import ArgumentError, DatabaseError, DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from arkinctl.errors import DatabaseUnavailableError, InvalidInputError, SchemaOutdatedError

SCHEMA_HEAD = "0005_audit_append_only"
KNOWN_REVISIONS = (
    "0001_initial",
    "0002_invitations_outbox",
    "0003_audit_chain_head",
    "0004_outbox_lean_indexes",
    "0005_audit_append_only",
)


# How long a command waits for a lock another session holds before it gives up and says so.
LOCK_TIMEOUT_SECONDS = 30


def sqlite_path(url: str) -> Path | None:
    """The file an SQLite URL names (None for other databases and in-memory ones)."""
    if not url.startswith("sqlite"):
        return None
    path = url.split(":///", 1)[1] if ":///" in url else ""
    return Path(path) if path and path != ":memory:" else None


def make_engine(url: str, *, create: bool = False) -> Engine:
    """An engine for `url`. An SQLite file is created only when `create` is set, so that a
    mistyped --db path is reported instead of quietly becoming a new, empty database."""
    path = sqlite_path(url)
    if path is None and url.startswith("sqlite"):
        raise InvalidInputError(
            "an in-memory SQLite database keeps nothing: arkinctl needs a file",
            hint="use sqlite:///path/to/file.db or a plain file path",
        )
    if path is not None:
        if not path.exists():
            if not create:
                raise SchemaOutdatedError(
                    f"there is no database file at {path}",
                    hint=f"check the path, or create it with `arkinctl --db {path} db init`",
                )
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DatabaseUnavailableError(
                    f"cannot create the folder {path.parent}: {exc.strerror}",
                    hint="set --db or ARKINCTL_DATABASE_URL to a place you can write",
                ) from None
        engine = _create(url, {"timeout": LOCK_TIMEOUT_SECONDS})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return _create(
        url, {"connect_timeout": 5, "options": f"-c lock_timeout={LOCK_TIMEOUT_SECONDS}s"}
    )


def _create(url: str, connect_args: dict[str, Any]) -> Engine:
    try:
        return create_engine(url, connect_args=connect_args)
    except (ArgumentError, ValueError) as exc:
        raise InvalidInputError(
            f"the database URL cannot be read ({type(exc).__name__})",
            hint="write it as postgresql://user@host:port/dbname or sqlite:///path/file.db",
        ) from None


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
            # One round trip: every command pays for this check.
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except DatabaseError as exc:
        if _is_missing_table(exc):
            return None
        raise unavailable(engine, exc) from exc


def _is_missing_table(exc: DBAPIError) -> bool:
    sqlstate = getattr(exc.orig, "sqlstate", None)
    return sqlstate == "42P01" or "no such table" in str(exc.orig)


def unavailable(engine: Engine, exc: DBAPIError) -> DatabaseUnavailableError:
    """The one-line error for a database that cannot be used, with the hint that fits."""
    detail = describe_db_error(exc)
    if "locked" in detail or "lock timeout" in detail:
        return DatabaseUnavailableError(
            f"the database is busy: another session holds a lock ({detail})",
            hint="try again in a moment",
        )
    if engine.dialect.name == "sqlite":
        return DatabaseUnavailableError(
            f"cannot use the SQLite database: {detail}",
            hint="check the file given to --db / ARKINCTL_DATABASE_URL",
        )
    return DatabaseUnavailableError(
        f"cannot reach the database: {detail}",
        hint="check --db / ARKINCTL_DATABASE_URL and that the server runs (`arkinctl doctor`)",
    )


def schema_problem(revision: str | None) -> SchemaOutdatedError | None:
    """What is wrong with a database at `revision`, or None when it is current."""
    if revision == SCHEMA_HEAD:
        return None
    if revision is None:
        return SchemaOutdatedError(
            "the database has no arkinctl schema", hint="run `arkinctl db init` first"
        )
    if revision in KNOWN_REVISIONS:
        return SchemaOutdatedError(
            f"the database schema is out of date (at {revision}, need {SCHEMA_HEAD})",
            hint="run `arkinctl db upgrade`",
        )
    return SchemaOutdatedError(
        f"the database schema ({revision}) is newer than this arkinctl knows",
        hint="upgrade arkinctl to the version that wrote it",
    )


def ensure_schema_current(engine: Engine, *, auto_create: bool) -> bool:
    """Raise unless the schema is at SCHEMA_HEAD. Returns True when it had to be created."""
    revision = current_revision(engine)
    if revision is None and auto_create:
        from arkinctl.db.migrate import upgrade

        upgrade(engine)
        return True
    problem = schema_problem(revision)
    if problem is not None:
        raise problem
    return False


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back on any exception."""
    with factory.begin() as session:
        yield session
