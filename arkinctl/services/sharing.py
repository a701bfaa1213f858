"""Switching portal sharing for a client (technical staff)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from arkinctl.db.models import Client
from arkinctl.errors import InvalidInputError
from arkinctl.services.audit import Actor
from arkinctl.services.lookups import open_client


@dataclass(frozen=True)
class SharingChange:
    client_number: str
    enabled: bool
    changed: bool  # False when it already was in the requested state
    changed_by: str | None
    changed_at: datetime | None
    reason: str | None


def set_sharing(client: Client, *, enabled: bool, reason: str, user: str) -> SharingChange:
    reason = reason.strip()
    if not reason:
        raise InvalidInputError("say why with --reason; it is kept with the change")
    changed = client.sharing_enabled != enabled
    if changed:
        client.sharing_enabled = enabled
        client.sharing_changed_at = datetime.now(UTC)
        client.sharing_changed_by = user
        client.sharing_reason = reason[:500]
    return SharingChange(
        client_number=client.client_number,
        enabled=client.sharing_enabled,
        changed=changed,
        changed_by=client.sharing_changed_by,
        changed_at=client.sharing_changed_at,
        reason=client.sharing_reason,
    )


def switch_sharing(
    session: Session, ref: str, *, enabled: bool, reason: str, actor: Actor
) -> SharingChange:
    client = open_client(
        session,
        ref,
        actor=actor,
        action="share.enable" if enabled else "share.disable",
        action_code="U",
        object_type="sharing",
    )
    return set_sharing(client, enabled=enabled, reason=reason, user=actor.username)
