"""Audit events (NEN 7513): who read or changed which client's data, when, why, with what result.

Events are append-only and hash-chained: each stores the hash of the one before it, so a
changed or removed event breaks the chain (`audit verify`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Protocol

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from arkinctl.db.bulk import bulk_insert
from arkinctl.db.models import AuditChainHead, AuditEvent, Client, User
from arkinctl.errors import InvalidInputError

GENESIS_HASH = "0" * 64
# Any fixed key: serialises chain writers on PostgreSQL for the rest of their transaction.
_CHAIN_LOCK_KEY = 7513


@dataclass(frozen=True)
class Actor:
    username: str
    role: str | None
    host: str | None
    command: str | None
    purpose: str | None = None
    on_behalf_of: str | None = None
    user_id: int | None = None
    today: date | None = None  # the care provider's date, for care relationships
    # Clients opened outside a care relationship, with a reason: their events are flagged.
    break_glass: set[int] = field(default_factory=set, compare=False)


MAX_USERNAME = 64
MAX_PURPOSE = 500


def make_actor(
    session: Session,
    *,
    username: str,
    host: str | None,
    command: str | None,
    purpose: str | None,
    on_behalf_of: str | None = None,
    today: date | None = None,
    known: tuple[int, str] | None = None,
) -> Actor:
    """The acting user, who must be a known, active arkinctl user (AccessDeniedError);
    `known`: their id and role, as checked already in this invocation."""
    from arkinctl.services.access import acting_user, acting_user_name

    acting_user_name(username)
    if purpose is not None:
        purpose = check_reason(purpose)
    user_id, role = known or _checked(acting_user(session, username))
    if on_behalf_of is not None and on_behalf_of != username:
        acting_user(session, on_behalf_of)  # the responsible user must exist too
    else:
        on_behalf_of = None
    return Actor(
        username=username,
        role=role,
        host=host,
        command=command,
        purpose=purpose,
        on_behalf_of=on_behalf_of,
        user_id=user_id,
        today=today,
    )


def check_reason(purpose: str) -> str:
    """A reason kept in the trail for good: said in words, not blank, no BSN in it."""
    from arkinctl.services.sensitive_text import check_free_text, is_one_line

    purpose = purpose.strip()
    if not purpose:
        raise InvalidInputError("--reason is empty", hint="say why, in a few words")
    if len(purpose) > MAX_PURPOSE:
        raise InvalidInputError(
            f"--reason is longer than {MAX_PURPOSE} characters", hint="say it shorter"
        )
    if not is_one_line(purpose):
        raise InvalidInputError("--reason is one line of visible characters")
    check_free_text(purpose, what="--reason", birth_dates=())
    return purpose


def _checked(user: User) -> tuple[int, str]:
    return user.id, user.role


def unchecked_actor(
    username: str, *, host: str | None, command: str | None, role: str | None = None
) -> Actor:
    """For recording a refused attempt by someone who may not be a user at all: their
    name as given, with control and invisible characters shown as `?`."""
    from arkinctl.services.sensitive_text import visible

    shown = visible(username)[:MAX_USERNAME] or "?"
    return Actor(username=shown, role=role, host=host, command=command)


def event_hash(prev_hash: str, fields: dict[str, object]) -> str:
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256((prev_hash + canonical).encode()).hexdigest()


HASHED_FIELDS = (
    "event_id",
    "occurred_at",
    "user",
    "role",
    "on_behalf_of",
    "host",
    "client_id",
    "client_number",
    "action",
    "action_code",
    "object_type",
    "object_id",
    "purpose",
    "outcome",
    "break_glass",
    "command",
)


def hashed_fields(event: AuditEvent | Mapping[str, Any]) -> dict[str, object]:
    """The fields the chain hash covers, from a stored event or the values of a new one."""
    values = event if isinstance(event, Mapping) else {k: getattr(event, k) for k in HASHED_FIELDS}
    fields: dict[str, object] = {k: values[k] for k in HASHED_FIELDS}
    fields["occurred_at"] = values["occurred_at"].astimezone(UTC).isoformat()
    return fields


def lock_chain(session: Session) -> None:
    """Serialise chain writers for the rest of the transaction (PostgreSQL; SQLite's
    BEGIN IMMEDIATE already does). Take it before any row lock, as every writer does."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _CHAIN_LOCK_KEY})


class ClientKey(Protocol):
    """What an event records of its client (a Client row, or a batch's plain facts)."""

    @property
    def id(self) -> int: ...

    @property
    def client_number(self) -> str: ...


def new_event_id() -> str:
    """A UUID version 7 (RFC 9562): random, but in time order, so the unique index on event
    ids takes a batch's 100,000 new ones at its end instead of all over it."""
    import os
    import time

    value = (time.time_ns() // 1_000_000) << 80 | int.from_bytes(os.urandom(10), "big")
    value = value & ~(0xF << 76) | 0x7 << 76  # version 7
    value = value & ~(0x3 << 62) | 0x2 << 62  # the RFC variant
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def event_values(
    actor: Actor,
    *,
    action: str,
    action_code: str,
    client: ClientKey | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    outcome: str = "ok",
    break_glass: bool = False,
    occurred_at: datetime | None = None,
) -> dict[str, Any]:
    """The columns of one new event, before it is chained."""
    return {
        "event_id": new_event_id(),
        "occurred_at": occurred_at or datetime.now(UTC),
        "user": actor.username,
        "role": actor.role,
        "on_behalf_of": actor.on_behalf_of,
        "host": actor.host[:200] if actor.host else None,
        "client_id": client.id if client else None,
        "client_number": client.client_number if client else None,
        "action": action,
        "action_code": action_code,
        "object_type": object_type,
        "object_id": object_id,
        "purpose": actor.purpose,
        "outcome": outcome,
        "break_glass": break_glass or (client is not None and client.id in actor.break_glass),
        "command": actor.command,
    }


def _last_hash(session: Session) -> str:
    prev = session.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1))
    return prev or GENESIS_HASH


def record(
    session: Session,
    actor: Actor,
    *,
    action: str,
    action_code: str,
    client: Client | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    outcome: str = "ok",
    break_glass: bool = False,
) -> AuditEvent:
    """Append one event in the caller's transaction (it commits or rolls back with the work)."""
    lock_chain(session)
    values = event_values(
        actor,
        action=action,
        action_code=action_code,
        client=client,
        object_type=object_type,
        object_id=object_id,
        outcome=outcome,
        break_glass=break_glass,
    )
    prev = _last_hash(session)
    event = AuditEvent(**values, prev_hash=prev, hash=event_hash(prev, hashed_fields(values)))
    session.add(event)
    session.flush()
    _move_head(session, event.id, event.hash, 1)
    return event


def _move_head(session: Session, last_id: int, last_hash: str, added: int) -> None:
    session.execute(
        update(AuditChainHead)
        .where(AuditChainHead.id == 1)
        .values(last_event_id=last_id, last_hash=last_hash, events=AuditChainHead.events + added)
    )


def record_listing(
    session: Session, actor: Actor, *, action: str, object_type: str, client: Client | None
) -> AuditEvent:
    """A list command's one event: a read of one client's data when it is filtered to a
    client, else an execute over many clients (a report)."""
    return record(
        session,
        actor,
        action=action,
        action_code="R" if client is not None else "E",
        client=client,
        object_type=object_type if client is not None else "report",
    )


def record_many(session: Session, events: Sequence[dict[str, Any]]) -> None:
    """Append many events (from `event_values`) with one statement: for batches.

    The caller must hold the chain lock (`lock_chain`) and have flushed its other events.
    """
    if not events:
        return
    prev = _last_hash(session)
    for values in events:
        values["prev_hash"] = prev
        values["hash"] = prev = event_hash(prev, hashed_fields(values))
    bulk_insert(session, AuditEvent.__table__, events)  # type: ignore[arg-type]
    last_id = session.scalar(select(func.max(AuditEvent.id)))
    assert last_id is not None
    _move_head(session, last_id, str(events[-1]["hash"]), len(events))
