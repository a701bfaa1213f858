"""The migrations are the schema: upgrading from empty must give exactly the models."""

from __future__ import annotations

import re
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from arkinctl.db.engine import KNOWN_REVISIONS, SCHEMA_HEAD, make_engine
from arkinctl.db.migrate import head_revision, upgrade
from arkinctl.db.models import Base


def test_schema_head_constant_matches_newest_migration() -> None:
    assert head_revision() == SCHEMA_HEAD
    assert KNOWN_REVISIONS[-1] == SCHEMA_HEAD


# The trigram index exists on PostgreSQL only (ddl_if); SQLite cannot reflect expression
# indexes, so those are checked by name instead.
_PG_ONLY = {"ix_clients_search_trgm"}
_EXPRESSION_INDEXES = {"ix_clients_email_lower", "ix_portal_accounts_email_lower"}


@pytest.mark.filterwarnings("ignore::UserWarning", "ignore:Skipped unsupported reflection")
def test_upgrade_from_empty_matches_models(blank_db_url: str) -> None:
    engine = make_engine(blank_db_url, create=True)
    upgrade(engine)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff: list[Any] = compare_metadata(ctx, Base.metadata)
        inspector = inspect(conn)
        index_names = {
            ix["name"]
            for table in ("clients", "portal_accounts")
            for ix in inspector.get_indexes(table)
            if ix["name"]
        }
        if conn.dialect.name == "sqlite":
            rows = conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type='index'")
            index_names |= {r[0] for r in rows}
    engine.dispose()
    if blank_db_url.startswith("sqlite"):
        diff = [d for d in diff if not (d[0] == "add_index" and d[1].name in _PG_ONLY)]
        assert not (index_names & _PG_ONLY)
    else:
        assert index_names >= _PG_ONLY
    assert diff == []
    assert index_names >= _EXPRESSION_INDEXES


def test_upgrade_is_repeatable(blank_db_url: str) -> None:
    engine = make_engine(blank_db_url, create=True)
    upgrade(engine)
    upgrade(engine)  # a second run is a no-op, not an error
    with engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == SCHEMA_HEAD
    engine.dispose()


def test_an_older_trail_is_intact_after_the_chain_head_migration(blank_db_url: str) -> None:
    """0003 describes the chain as it stands: events written before it still verify."""
    from sqlalchemy.orm import sessionmaker

    from arkinctl.services.audit import Actor, record
    from arkinctl.services.audit_log import verify_chain

    engine = make_engine(blank_db_url, create=True)
    upgrade(engine, "0003_audit_chain_head")
    factory = sessionmaker(engine, expire_on_commit=False)
    who = Actor(username="tester", role="admin", host="h", command="pytest")
    for _ in range(3):
        with factory.begin() as s:
            record(s, who, action="client.show", action_code="R")
    with engine.begin() as conn:  # back to 0002 with a trail, as a user upgrading has it
        conn.exec_driver_sql("DROP TABLE audit_chain_head")
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0002_invitations_outbox'")
    upgrade(engine)
    with factory.begin() as s:
        report = verify_chain(s, actor=who)
    assert report.ok and report.checked == 3
    engine.dispose()


# What the models leave to the migrations (dialect options would load both dialects into
# every command): the conditions of the partial indexes and the trigram index's method.
_PARTIAL_INDEXES = {
    "uq_invitations_live_client": "status IN ('queued', 'sent')",
    "ix_outbox_messages_queue_order": "status = 'queued'",
    "ix_outbox_messages_unsettled": "status IN ('sending', 'uncertain', 'failed')",
    "ix_outbox_messages_ticket_id": "ticket_id IS NOT NULL",
}


def _index_sql(conn: Any, name: str) -> str:
    if conn.dialect.name == "sqlite":
        row = conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = ?", (name,))
    else:
        row = conn.exec_driver_sql("SELECT indexdef FROM pg_indexes WHERE indexname = %s", (name,))
    return str(row.scalar_one())


def test_partial_and_trigram_indexes_are_in_the_migrated_schema(blank_db_url: str) -> None:
    engine = make_engine(blank_db_url, create=True)
    upgrade(engine)
    with engine.connect() as conn:
        for name, condition in _PARTIAL_INDEXES.items():
            sql = " ".join(_index_sql(conn, name).split())
            if conn.dialect.name == "sqlite":
                assert sql.endswith(f"WHERE {condition}"), sql
            else:  # PostgreSQL prints the condition in its own normal form
                where = sql.split(" WHERE ")[1]
                assert all(word in where for word in re.findall(r"[a-z_]{4,}", condition)), sql
        if conn.dialect.name == "postgresql":
            assert "USING gin (search_text gin_trgm_ops)" in _index_sql(
                conn, "ix_clients_search_trgm"
            )
        assert "UNIQUE" in _index_sql(conn, "uq_invitations_live_client").upper()
    engine.dispose()


def test_importing_the_models_loads_no_database_dialect() -> None:
    """Each command loads only the dialect of the database it talks to."""
    import subprocess
    import sys

    code = (
        "import sys, arkinctl.db.models; "
        "print(sorted(m for m in sys.modules if m.startswith('sqlalchemy.dialects.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
