"""Audit events (NEN 7513): who read or changed which client's data, when, why, with what result.

Events are append-only and hash-chained: each stores the hash of the one before it, so a
changed or removed event breaks the chain (`audit verify`).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from arkinctl.db.models import AuditEvent, Client, User
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


MAX_USERNAME = 64
MAX_PURPOSE = 500


def make_actor(
    session: Session, *, username: str, host: str | None, command: str | None, purpose: str | None
) -> Actor:
    if not username.strip() or len(username) > MAX_USERNAME:
        raise InvalidInputError(
            f"the acting user name must be 1 to {MAX_USERNAME} characters", hint="check --as"
        )
    if purpose is not None and len(purpose) > MAX_PURPOSE:
        raise InvalidInputError(
            f"--reason is longer than {MAX_PURPOSE} characters", hint="say it shorter"
        )
    role = session.scalar(select(User.role).where(User.username == username))
    return Actor(username=username, role=role, host=host, command=command, purpose=purpose)


def event_hash(prev_hash: str, fields: dict[str, object]) -> str:
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256((prev_hash + canonical).encode()).hexdigest()


def hashed_fields(event: AuditEvent) -> dict[str, object]:
    return {
        "event_id": event.event_id,
        "occurred_at": event.occurred_at.astimezone(UTC).isoformat(),
        "user": event.user,
        "role": event.role,
        "on_behalf_of": event.on_behalf_of,
        "host": event.host,
        "client_id": event.client_id,
        "client_number": event.client_number,
        "action": event.action,
        "action_code": event.action_code,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "purpose": event.purpose,
        "outcome": event.outcome,
        "break_glass": event.break_glass,
        "command": event.command,
    }


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
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _CHAIN_LOCK_KEY})
    prev = session.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1))
    event = AuditEvent(
        event_id=str(uuid.uuid4()),
        occurred_at=datetime.now(UTC),
        user=actor.username,
        role=actor.role,
        on_behalf_of=actor.on_behalf_of,
        host=actor.host[:200] if actor.host else None,
        client_id=client.id if client else None,
        client_number=client.client_number if client else None,
        action=action,
        action_code=action_code,
        object_type=object_type,
        object_id=object_id,
        purpose=actor.purpose,
        outcome=outcome,
        break_glass=break_glass,
        command=actor.command,
        prev_hash=prev or GENESIS_HASH,
    )
    event.hash = event_hash(event.prev_hash, hashed_fields(event))
    session.add(event)
    session.flush()
    return event
