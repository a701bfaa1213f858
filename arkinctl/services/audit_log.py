"""Reading the audit trail: `audit list` (filtered, streamed) and `audit verify` (the chain).

Every event stores the hash of the one before it and its own hash over its fields, so a
changed event no longer matches its hash, and a removed one breaks the link of the next.
Ids alone prove nothing: a rolled-back transaction leaves a gap in the sequence.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, case, func, literal_column, select
from sqlalchemy.orm import Session

from arkinctl.db.models import AuditChainHead, AuditEvent, Client
from arkinctl.services.access import checked_first, staff_only
from arkinctl.services.audit import (
    GENESIS_HASH,
    HASHED_FIELDS,
    Actor,
    event_hash,
    hashed_fields,
    lock_chain,
    record,
)

# What `audit list` shows: the row id and every hashed field but the internal client id.
AUDIT_FIELDS = ("id", *(f for f in HASHED_FIELDS if f != "client_id"))


@dataclass(frozen=True)
class EventFilter:
    client: Client | None = None
    user: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    action: str | None = None


def _open_listing(session: Session, actor: Actor, where: EventFilter) -> None:
    """The checks and the audit event of a listing (reading the trail is itself an event)."""
    staff_only(actor, "reading the audit trail")
    record(
        session,
        actor,
        action="audit.list",
        action_code="R" if where.client is not None else "E",
        client=where.client,
        object_type="audit_trail",
    )


def _filtered(query: Select[Any], where: EventFilter) -> Select[Any]:
    """`query` over audit events, narrowed as `where` says, oldest first."""
    if where.client is not None:
        query = query.where(AuditEvent.client_id == where.client.id)
    if where.user is not None:
        query = query.where(AuditEvent.user == where.user)
    if where.since is not None:
        query = query.where(AuditEvent.occurred_at >= where.since)
    if where.until is not None:
        query = query.where(AuditEvent.occurred_at < where.until)
    if where.action is not None:
        query = query.where(AuditEvent.action == where.action)
    return query.order_by(AuditEvent.id)


@checked_first
def list_events(
    session: Session, *, actor: Actor, where: EventFilter = EventFilter()
) -> Iterator[dict[str, Any]]:
    """Events, oldest first, streamed. Reading the trail is itself an event."""
    _open_listing(session, actor, where)
    query = _filtered(select(*(getattr(AuditEvent, f) for f in AUDIT_FIELDS)), where)
    for row in session.execute(query.execution_options(yield_per=2000)):
        yield dict(zip(AUDIT_FIELDS, row, strict=True))


# `audit list --format csv` on PostgreSQL: the database writes the CSV (COPY), byte for byte
# as the row-by-row writer would (`tests/cli/test_audit.py` compares them): ISO instants in
# UTC with microseconds only when there are any, true/false, and an empty field for both
# NULL and an empty text. A million events take seconds instead of a minute.
_ISO_UTC = (
    "to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS') || CASE WHEN "
    "mod(date_part('microseconds', occurred_at)::bigint, 1000000) = 0 THEN '' ELSE "
    "to_char(occurred_at AT TIME ZONE 'UTC', '.US') END || '+00:00'"
)


def _csv_column(name: str) -> Any:
    column = getattr(AuditEvent, name)
    if name == "id":
        return column
    if name == "occurred_at":
        return literal_column(_ISO_UTC)
    if name == "break_glass":
        return case((column, "true"), else_="false")
    return func.nullif(column, "")


def copy_events_csv(
    session: Session, write: Callable[[bytes], object], *, actor: Actor, where: EventFilter
) -> bool:
    """Write the listing as CSV with a header through `write`, on PostgreSQL; False (and
    nothing done) elsewhere, where the caller writes it row by row."""
    bind = session.get_bind()
    if bind.dialect.name != "postgresql":
        return False
    _open_listing(session, actor, where)
    query = _filtered(select(*(_csv_column(f).label(f) for f in AUDIT_FIELDS)), where)
    compiled = query.compile(dialect=bind.dialect)
    statement = f"COPY ({compiled}) TO STDOUT WITH (FORMAT csv, HEADER)"
    raw = session.connection().connection.driver_connection
    assert raw is not None
    with raw.cursor() as cursor, cursor.copy(statement, compiled.params) as copy:
        for block in copy:
            write(bytes(block))
    return True


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    first_problem_id: int | None  # the first event that does not fit
    problem: str | None  # changed | broken_link | truncated
    detail: str | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def verify_chain(session: Session, *, actor: Actor) -> ChainReport:
    """Walk the whole chain in order; stop at the first event that does not fit."""
    staff_only(actor, "verifying the audit trail")
    lock_chain(session)  # no event is written meanwhile: the head must match what was read
    previous = GENESIS_HASH
    checked = 0
    report = None
    rows = session.scalars(
        select(AuditEvent).order_by(AuditEvent.id).execution_options(yield_per=2000)
    )
    for event in rows:
        if event.prev_hash != previous:
            report = ChainReport(
                False,
                checked,
                event.id,
                "broken_link",
                f"event #{event.id} does not follow the one before it: an event before it was "
                "removed or changed",
            )
            break
        if event_hash(event.prev_hash, hashed_fields(event)) != event.hash:
            report = ChainReport(
                False,
                checked,
                event.id,
                "changed",
                f"event #{event.id} was changed after it was written (its hash does not match)",
            )
            break
        previous = event.hash
        checked += 1
        session.expunge(event)  # constant memory over millions of events
    if report is None:
        head = session.get(AuditChainHead, 1)
        if head is not None and (
            head.events != checked or (head.last_hash or GENESIS_HASH) != previous
        ):
            report = ChainReport(
                False,
                checked,
                head.last_event_id,
                "truncated",
                f"the newest event(s) were removed: {head.events} written, {checked} found "
                f"(the last one written was #{head.last_event_id})",
            )
    record(session, actor, action="audit.verify", action_code="E", object_type="audit_trail")
    return report or ChainReport(True, checked, None, None, None)
