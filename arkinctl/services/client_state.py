"""Everything the tool knows about one client, loaded with a handful of indexed queries.

`client show` summarises it and `diagnose` walks it; both read the same state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from arkinctl.config import Settings
from arkinctl.db.models import CareEpisode, Client, FilePart, Invitation, PortalAccount, Ticket
from arkinctl.services.visibility import REASONS, reason_expr

LIVE_INVITATION = ("queued", "sent")
OPEN_TICKET = ("open", "in_progress", "waiting")
# Which account speaks for the client when there are several: the usable one first.
_ACCOUNT_PREFERENCE = {"active": 0, "blocked": 1, "deactivated": 2, "invited": 3}


@dataclass(frozen=True)
class AccountView:
    account_id: str
    status: str
    email: str | None
    birth_date: date | None
    created_at: datetime | None
    last_login_at: datetime | None


@dataclass(frozen=True)
class InvitationView:
    id: int
    status: str  # effective: a queued/sent invitation past its expiry counts as expired
    email: str
    created_at: datetime
    sent_at: datetime | None
    expires_at: datetime


@dataclass(frozen=True)
class TicketView:
    number: str
    category: str
    status: str
    title: str


@dataclass
class ClientState:
    client: Client
    episodes: int
    accounts: list[AccountView]
    # newest first; all of them: a live one may be older than later bounced or failed ones
    invitations: list[InvitationView]
    part_counts: dict[str, int] = field(default_factory=dict)
    open_tickets: list[TicketView] = field(default_factory=list)

    @property
    def account(self) -> AccountView | None:
        return self.accounts[0] if self.accounts else None

    @property
    def latest_invitation(self) -> InvitationView | None:
        return self.invitations[0] if self.invitations else None

    @property
    def live_invitation(self) -> InvitationView | None:
        return next((i for i in self.invitations if i.status in LIVE_INVITATION), None)

    @property
    def total_parts(self) -> int:
        return sum(self.part_counts.values())

    @property
    def shared_parts(self) -> int:
        return self.part_counts.get("shared", 0)


def effective_invitation_status(status: str, expires_at: datetime, now: datetime) -> str:
    if status in LIVE_INVITATION and expires_at <= now:
        return "expired"
    return status


def load_state(
    session: Session, client: Client, *, settings: Settings, now: datetime
) -> ClientState:
    episodes = session.scalar(
        select(func.count()).select_from(CareEpisode).where(CareEpisode.client_id == client.id)
    )
    accounts = [
        AccountView(
            account_id=a.account_id,
            status=a.status,
            email=a.email,
            birth_date=a.birth_date,
            created_at=a.created_at,
            last_login_at=a.last_login_at,
        )
        for a in session.scalars(
            select(PortalAccount)
            .where(PortalAccount.identification_number == client.client_number)
            .order_by(PortalAccount.id)
        )
    ]
    accounts.sort(key=lambda a: _ACCOUNT_PREFERENCE.get(a.status, 9))
    invitations = [
        InvitationView(
            id=i.id,
            status=effective_invitation_status(i.status, i.expires_at, now),
            email=i.email,
            created_at=i.created_at,
            sent_at=i.sent_at,
            expires_at=i.expires_at,
        )
        for i in session.scalars(
            select(Invitation)
            .where(Invitation.client_id == client.id)
            .order_by(Invitation.id.desc())
        )
    ]
    return ClientState(
        client=client,
        episodes=episodes or 0,
        accounts=accounts,
        invitations=invitations,
        part_counts=part_counts(session, client.id, settings=settings),
        open_tickets=[
            TicketView(number=t.number, category=t.category, status=t.status, title=t.title)
            for t in session.scalars(
                select(Ticket)
                .where(Ticket.client_id == client.id, Ticket.status.in_(OPEN_TICKET))
                .order_by(Ticket.id)
            )
        ],
    )


def part_counts(session: Session, client_id: int, *, settings: Settings) -> dict[str, int]:
    """How many of the client's parts have each visibility reason."""
    # Grouping over a subquery: PostgreSQL will not match a CASE with bound parameters
    # in SELECT against the same CASE in GROUP BY.
    reasons = (
        select(reason_expr(settings).label("reason"))
        .where(FilePart.client_id == client_id)
        .subquery()
    )
    rows = session.execute(select(reasons.c.reason, func.count()).group_by(reasons.c.reason))
    counts = dict.fromkeys(REASONS, 0)
    for reason, n in rows:
        counts[reason] = n
    return counts
