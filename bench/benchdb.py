"""The throw-away benchmark databases: create, initialise, load, reuse (`--keep`), drop."""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import dataset
import psycopg
from psycopg import sql

# Bump when the generated data changes, so that a kept database is rebuilt.
DATA_VERSION = 1
MARKER_PREFIX = "arkinctl bench"


class BenchError(RuntimeError):
    """Something the benchmark cannot work around; the message says what."""


@dataclass(frozen=True)
class Server:
    """A PostgreSQL server, given by the URL of any database on it (the maintenance one)."""

    url: str

    def libpq_url(self, database: str | None = None) -> str:
        """`postgresql://…` for psycopg and psql, optionally for another database."""
        parts = urlsplit(self.url)
        scheme = "postgresql"
        path = f"/{database}" if database else parts.path
        return urlunsplit(parts._replace(scheme=scheme, path=path))

    def sqlalchemy_url(self, database: str) -> str:
        return self.libpq_url(database).replace("postgresql://", "postgresql+psycopg://", 1)

    def admin(self) -> psycopg.Connection:
        try:
            return psycopg.connect(self.libpq_url(), autocommit=True, connect_timeout=5)
        except psycopg.OperationalError as exc:
            raise BenchError(f"cannot connect to {self.libpq_url()}: {exc}") from exc


def database_name(clients: int) -> str:
    return f"arkinctl_bench_{clients}"


def marker(plan: dataset.LoadPlan) -> str:
    return (
        f"{MARKER_PREFIX} v{DATA_VERSION}: clients={plan.clients} "
        f"parts_per_client={plan.parts_per_client}"
    )


def read_marker(server: Server, name: str) -> str | None:
    with server.admin() as conn:
        row = conn.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
            (name,),
        ).fetchone()
    if row is None:
        return None
    return str(row[0] or "")


def drop(server: Server, name: str) -> None:
    with server.admin() as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def create(server: Server, name: str) -> None:
    with server.admin() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def set_marker(server: Server, name: str, text: str) -> None:
    with server.admin() as conn:
        conn.execute(
            sql.SQL("COMMENT ON DATABASE {} IS {}").format(sql.Identifier(name), sql.Literal(text))
        )


def client_count(url: str) -> int:
    with psycopg.connect(url) as conn:
        return dataset.count(conn, "clients")


def run_arkinctl(arkinctl: str, url: str, *args: str) -> None:
    done = subprocess.run(
        [arkinctl, "--db", url, *args], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise BenchError(
            f"`arkinctl {' '.join(args)}` failed ({done.returncode}): {done.stderr.strip()}"
        )


@dataclass
class Prepared:
    name: str
    url: str  # libpq form
    report: dataset.LoadReport | None  # None when a kept database was reused


def prepare(server: Server, plan: dataset.LoadPlan, *, keep: bool, arkinctl: str) -> Prepared:
    """A database with `plan.clients` clients: reused when kept and complete, else built."""
    name = database_name(plan.clients)
    url = server.libpq_url(name)
    wanted = marker(plan)
    if keep and read_marker(server, name) == wanted and client_count(url) == plan.clients:
        print(f"Reusing {name} (kept from an earlier run).", file=sys.stderr)
        run_arkinctl(arkinctl, url, "db", "upgrade")
        return Prepared(name, url, None)

    print(f"Building {name}: {plan.clients:,} clients …", file=sys.stderr)
    drop(server, name)
    create(server, name)
    started = time.perf_counter()
    run_arkinctl(arkinctl, url, "db", "init")
    init_seconds = time.perf_counter() - started
    report = dataset.load(url, plan)
    report.steps = {"db init": init_seconds, **report.steps}
    set_marker(server, name, wanted)
    return Prepared(name, url, report)
