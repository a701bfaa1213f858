"""SQL taken from arkinctl itself (compiled with literal binds), and sanity checks of the data."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg
from dataset import BENCH_USER
from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql import Select

from arkinctl.config import Settings
from arkinctl.db.models import Client, client_search_text
from arkinctl.services.bsn import compact_bsn
from arkinctl.services.diagnose import cause_expr


def bench_settings(url: str) -> Settings:
    """The defaults arkinctl uses when no ARKINCTL_* variable is set (the bench clears them)."""
    return Settings(database_url=url, database_is_default=False, user=BENCH_USER)


def compile_sql(statement: Select[tuple[object, ...]]) -> str:
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    return str(statement.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


def cause_counts_sql(settings: Settings, now: datetime | None = None) -> str:
    """What `diagnose --all` runs: the cause of every client, counted in the database."""
    causes = select(cause_expr(settings, now or datetime.now(UTC)).label("cause")).subquery()
    return compile_sql(select(causes.c.cause, func.count()).group_by(causes.c.cause))


def ok_client_sql(settings: Settings, from_id: int) -> str:
    """The first client from `from_id` on whose diagnosis is `ok` (a typical client)."""
    cause = cause_expr(settings, datetime.now(UTC))
    query = (
        select(Client.client_number)
        .where(Client.id >= from_id, cause == "ok")
        .order_by(Client.id)
        .limit(1)
    )
    return compile_sql(query)


def typical_client(url: str, settings: Settings, clients: int) -> str:
    with psycopg.connect(url) as conn:
        row = conn.execute(ok_client_sql(settings, clients // 2)).fetchone()
    if row is None:
        raise RuntimeError("no client with cause ok in the second half of the clients")
    return str(row[0])


def check_sample(url: str, size: int = 500) -> list[str]:
    """Problems in a random sample: search_text as the model writes it, valid BSNs."""
    problems: list[str] = []
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT client_number, given_name, name_prefix, family_name, name_text, email, "
            "search_text, bsn FROM clients ORDER BY random() LIMIT %s",
            (size,),
        ).fetchall()
    for number, given, prefix, family, name_text, email, search_text, bsn in rows:
        expected = client_search_text(given, prefix, family, name_text, number, email)
        if search_text != expected:
            problems.append(f"client {number}: search_text {search_text!r} != {expected!r}")
        if bsn is not None and compact_bsn(bsn) != bsn:
            problems.append(f"client {number}: BSN fails the 11-proof")
    return problems
