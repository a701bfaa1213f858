"""Care relationships between practitioners and clients: admin only, audited."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy.orm import Session

from arkinctl.services import access
from arkinctl.services.access import ADMIN, RelationshipView, require_role
from arkinctl.services.audit import Actor, record
from arkinctl.services.clients import resolve_client


def _today(actor: Actor) -> date:
    return actor.today or datetime.now(UTC).date()


def link_practitioner(
    session: Session,
    actor: Actor,
    ref: str,
    username: str,
    *,
    valid_from: date | None,
    valid_until: date | None,
) -> RelationshipView:
    require_role(actor.role, ADMIN, what="linking practitioners to clients")
    client = resolve_client(session, ref)
    view = access.link(
        session,
        client,
        username,
        valid_from=valid_from,
        valid_until=valid_until,
        today=_today(actor),
    )
    record(
        session,
        actor,
        action="care.link",
        action_code="U",
        client=client,
        object_type="care_relationship",
        object_id=username,
    )
    return view


def unlink_practitioner(session: Session, actor: Actor, ref: str, username: str) -> tuple[str, int]:
    require_role(actor.role, ADMIN, what="unlinking practitioners from clients")
    client = resolve_client(session, ref)
    removed = access.unlink(session, client, username)
    record(
        session,
        actor,
        action="care.unlink",
        action_code="D" if removed else "U",
        client=client,
        object_type="care_relationship",
        object_id=username,
        outcome="ok" if removed else "refused",
    )
    return client.client_number, removed


def client_relationships(session: Session, actor: Actor, ref: str) -> list[RelationshipView]:
    require_role(actor.role, ADMIN, access.TECHNICAL, what="listing care relationships")
    client = resolve_client(session, ref)
    record(
        session,
        actor,
        action="care.list",
        action_code="R",
        client=client,
        object_type="care_relationship",
    )
    return access.relationships(session, client, _today(actor))
