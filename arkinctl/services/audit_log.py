"""Reading the audit trail: `audit list` (filtered, streamed) and `audit verify` (the chain).

Every event stores the hash of the one before it and its own hash over its fields, so a
changed event no longer matches its hash, and a removed one breaks the link of the next.
Ids alone prove nothing: a rolled-back transaction leaves a gap in the sequence.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from arkinctl.db.models import AuditChainHead, AuditEvent, Client
from arkinctl.services.access import staff_only
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


def list_events(
    session: Session,
    *,
    actor: Actor,
    client: Client | None = None,
    user: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    action: str | None = None,
) -> Iterator[dict[str, Any]]:
    """Events, oldest first, streamed. Reading the trail is itself an event."""
    staff_only(actor, "reading the audit trail")
    query = select(*(getattr(AuditEvent, f) for f in AUDIT_FIELDS))
    if client is not None:
        query = query.where(AuditEvent.client_id == client.id)
    if user is not None:
        query = query.where(AuditEvent.user == user)
    if since is not None:
        query = query.where(AuditEvent.occurred_at >= since)
    if until is not None:
        query = query.where(AuditEvent.occurred_at < until)
    if action is not None:
        query = query.where(AuditEvent.action == action)
    record(
        session,
        actor,
        action="audit.list",
        action_code="R" if client is not None else "E",
        client=client,
        object_type="audit_trail",
    )
    for row in session.execute(query.order_by(AuditEvent.id).execution_options(yield_per=2000)):
        yield dict(zip(AUDIT_FIELDS, row, strict=True))


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
