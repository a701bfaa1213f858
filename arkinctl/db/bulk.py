"""Bulk writes in the caller's transaction: COPY on PostgreSQL, executemany elsewhere.

A batch of 100,000 invitations writes three rows per client (invitation, e-mail, audit
event). A multi-row INSERT with that many parameters costs more in building and parsing the
statement than in the database; COPY is what PostgreSQL offers for this, and it runs on the
session's own connection, so it commits or rolls back with the rest of the work.
"""

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Table, any_, bindparam, insert, text
from sqlalchemy.orm import InstrumentedAttribute, Session


def _is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def reserve_ids(session: Session, table: Table, count: int) -> list[int]:
    """`count` new primary keys for `table`, in order, without inserting (PostgreSQL)."""
    if count == 0:
        return []
    statement = text(
        "SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)"
    )
    return [int(i) for i in session.scalars(statement, {"table": table.name, "n": count})]


def bulk_insert(session: Session, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert `rows` (all with the same keys) into `table`; ids come from the table's
    sequence unless given."""
    if not rows:
        return
    if not _is_postgresql(session):
        session.execute(insert(table), list(rows))
        return
    columns = list(rows[0])
    quoted = ", ".join(f'"{c}"' for c in columns)
    raw = session.connection().connection.driver_connection
    assert raw is not None
    with raw.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({quoted}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row([row[c] for c in columns])


def refresh_statistics(session: Session, *tables: Table) -> None:
    """ANALYZE after a bulk write (PostgreSQL): until autovacuum gets there, the planner
    would plan for the tables as they were, e.g. sort the whole new outbox for every claim."""
    if _is_postgresql(session):
        for table in tables:
            session.execute(text(f'ANALYZE "{table.name}"'))


def supports_reserved_ids(session: Session) -> bool:
    return _is_postgresql(session)


def one_of(
    session: Session, column: InstrumentedAttribute[Any], values: Sequence[Any]
) -> ColumnElement[bool]:
    """`column IN values`; on PostgreSQL as `= ANY(array)`, one parameter instead of 500
    (psycopg parses every placeholder of a statement, and each chunk's differs)."""
    if not _is_postgresql(session):
        return column.in_(values)
    from sqlalchemy.dialects.postgresql import ARRAY

    return column == any_(bindparam(None, value=list(values), type_=ARRAY(column.type)))
