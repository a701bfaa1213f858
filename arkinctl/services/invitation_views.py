"""Reading invitations: `invite list`, `invite show`, and `invite pending` (who still needs one).

Lists stream from the database (rows are yielded, never all loaded), so a list of every
pending client at the 1M-client scale stays small in memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, not_, or_, select
from sqlalchemy.orm import Session

from arkinctl.db.models import (
    LIVE_INVITATION_STATUSES,
    MAX_ID,
    CareEpisode,
    Client,
    Invitation,
    OutboxMessage,
    PortalAccount,
)
from arkinctl.errors import InvalidInputError, NotFoundError
from arkinctl.services.access import checked_first, staff_only
from arkinctl.services.audit import Actor, record, record_listing
from arkinctl.services.client_state import effective_invitation_status
from arkinctl.services.invitations import INVITATION_STATUSES

INVITATION_FIELDS = (
    "id",
    "client_number",
    "email",
    "status",
    "created_at",
    "sent_at",
    "expires_at",
    "attempts",
    "requested_by",
    "batch_id",
    "superseded_by_id",
    "status_reason",
    "delivery",
)
PENDING_FIELDS = ("client_number", "email", "name", "last_invitation")


@dataclass(frozen=True)
class InvitationRecord:
    id: int
    client_number: str
    email: str
    status: str  # effective: a queued/sent invitation past its expiry is `expired`
    created_at: datetime
    sent_at: datetime | None
    expires_at: datetime
    attempts: int
    requested_by: str
    batch_id: str | None
    superseded_by_id: int | None
    status_reason: str | None
    delivery: str | None  # the status of its e-mail in the outbox

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _delivery_status() -> Any:
    return (
        select(OutboxMessage.status)
        .where(OutboxMessage.invitation_id == Invitation.id)
        .order_by(OutboxMessage.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def _status_filter(status: str, now: datetime) -> ColumnElement[bool]:
    if status not in INVITATION_STATUSES:
        raise InvalidInputError(
            f"unknown invitation status '{status}'", hint=f"use {', '.join(INVITATION_STATUSES)}"
        )
    if status == "expired":
        return or_(
            Invitation.status == "expired",
            and_(Invitation.status.in_(LIVE_INVITATION_STATUSES), Invitation.expires_at <= now),
        )
    if status in LIVE_INVITATION_STATUSES:
        return and_(Invitation.status == status, Invitation.expires_at > now)
    return Invitation.status == status


def _record(row: Any, now: datetime) -> InvitationRecord:
    inv: Invitation = row[0]
    return InvitationRecord(
        id=inv.id,
        client_number=row[1],
        email=inv.email,
        status=effective_invitation_status(inv.status, inv.expires_at, now),
        created_at=inv.created_at,
        sent_at=inv.sent_at,
        expires_at=inv.expires_at,
        attempts=inv.attempts,
        requested_by=inv.requested_by,
        batch_id=inv.batch_id,
        superseded_by_id=inv.superseded_by_id,
        status_reason=inv.status_reason,
        delivery=row[2],
    )


@checked_first
def list_invitations(
    session: Session,
    *,
    actor: Actor,
    now: datetime,
    client: Client | None = None,
    status: str | None = None,
    batch_id: str | None = None,
    limit: int | None = None,
) -> Iterator[InvitationRecord]:
    """Invitations, newest first, streamed. Audited as one read (of the client, if given)."""
    staff_only(actor, "listing invitations")
    query = select(Invitation, Client.client_number, _delivery_status()).join(
        Client, Client.id == Invitation.client_id
    )
    if client is not None:
        query = query.where(Invitation.client_id == client.id)
    if status is not None:
        query = query.where(_status_filter(status, now))
    if batch_id is not None:
        query = query.where(Invitation.batch_id == batch_id)
    query = query.order_by(Invitation.id.desc())
    if limit:
        query = query.limit(limit)
    record_listing(session, actor, action="invite.list", object_type="invitation", client=client)
    for row in session.execute(query.execution_options(yield_per=1000)):
        yield _record(row, now)


def show_invitation(
    session: Session, invitation_id: int, *, actor: Actor, now: datetime
) -> InvitationRecord:
    staff_only(actor, "showing an invitation")
    if not 0 < invitation_id <= MAX_ID:
        raise NotFoundError(
            f"there is no invitation #{invitation_id}", hint="see `arkinctl invite list`"
        )
    row = session.execute(
        select(Invitation, Client.client_number, _delivery_status())
        .join(Client, Client.id == Invitation.client_id)
        .where(Invitation.id == invitation_id)
    ).first()
    if row is None:
        raise NotFoundError(
            f"there is no invitation #{invitation_id}", hint="see `arkinctl invite list`"
        )
    client = session.get(Client, row[0].client_id)
    record(
        session,
        actor,
        action="invite.show",
        action_code="R",
        client=client,
        object_type="invitation",
        object_id=str(invitation_id),
    )
    return _record(row, now)


@dataclass(frozen=True)
class PendingClient:
    client_number: str
    email: str | None
    name: str
    last_invitation: str | None  # the status of the newest invitation, if any

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@checked_first
def pending_clients(session: Session, *, actor: Actor, now: datetime) -> Iterator[PendingClient]:
    """Every treated, living client with no portal account (or only one still `invited`) and
    no live invitation: the clients who should get one ("new clients are invited
    automatically")."""
    staff_only(actor, "listing clients to invite")
    live = exists().where(
        Invitation.client_id == Client.id,
        Invitation.status.in_(LIVE_INVITATION_STATUSES),
        Invitation.expires_at > now,
    )
    latest = (
        select(Invitation.status, Invitation.expires_at)
        .where(Invitation.client_id == Client.id)
        .order_by(Invitation.id.desc())
        .limit(1)
    )
    query = (
        select(
            Client,
            latest.with_only_columns(Invitation.status).scalar_subquery(),
            latest.with_only_columns(Invitation.expires_at).scalar_subquery(),
        )
        .where(
            Client.deceased.is_(False),
            exists().where(CareEpisode.client_id == Client.id),
            # An account still `invited` is no account yet: such a client needs one too.
            not_(
                exists().where(
                    PortalAccount.identification_number == Client.client_number,
                    PortalAccount.status != "invited",
                )
            ),
            not_(live),
        )
        .order_by(Client.client_number)
    )
    record(session, actor, action="invite.pending", action_code="E", object_type="report")
    for client, status, expires_at in session.execute(query.execution_options(yield_per=1000)):
        yield PendingClient(
            client_number=client.client_number,
            email=client.email,
            name=client.display_name,
            last_invitation=effective_invitation_status(status, expires_at, now)
            if status
            else None,
        )
