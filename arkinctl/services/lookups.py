"""Opening a client's data: resolve the reference and write the audit event, together."""

from __future__ import annotations

from sqlalchemy.orm import Session

from arkinctl.db.models import Client
from arkinctl.services.audit import Actor, record
from arkinctl.services.clients import resolve_client


def find_client(session: Session, ref: str, *, actor: Actor) -> Client:
    """Resolve `ref` to a client the actor may open (the caller writes the audit event)."""
    from datetime import UTC, datetime

    from arkinctl.errors import AmbiguousReferenceError
    from arkinctl.services.access import PRACTITIONER, authorize_client

    today = actor.today or datetime.now(UTC).date()
    try:
        client = resolve_client(session, ref)
    except AmbiguousReferenceError:
        if actor.role == PRACTITIONER and not actor.purpose:
            # the candidates are names of clients the practitioner may not know about
            raise AmbiguousReferenceError(
                "the reference matches several clients; use the client number",
                candidates=[],
            ) from None
        raise
    authorize_client(session, actor, client, today=today)
    return client


def open_client(
    session: Session,
    ref: str,
    *,
    actor: Actor,
    action: str,
    action_code: str = "R",
    object_type: str = "client",
) -> Client:
    client = find_client(session, ref, actor=actor)
    record(
        session,
        actor,
        action=action,
        action_code=action_code,
        client=client,
        object_type=object_type,
        object_id=client.client_number,
    )
    return client
