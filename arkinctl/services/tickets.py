"""Tickets for the technical department (DESIGN 4.4): open, comment, assign, status, close.

A ticket names its client by client number only; every free text is checked for a BSN or the
client's date of birth before it is stored (`sensitive_text`). An open ticket for the same
client and category gets a comment instead of a twin. The chain lock is taken first, so two
people opening one at the same moment take turns and the second finds the first's ticket.

Numbers are `TD-<year>-<id, 6 digits>`: made from the row id, unique however many people
open tickets at once.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from arkinctl.config import Settings
from arkinctl.db.models import MAX_ID, Client, PortalAccount, Ticket, TicketEvent, User
from arkinctl.errors import AccessDeniedError, InvalidInputError, NotFoundError
from arkinctl.services.access import PRACTITIONER, checked_first, related_client_ids
from arkinctl.services.audit import Actor, lock_chain, record, record_listing
from arkinctl.services.email_address import normalise_email
from arkinctl.services.outbox import Mail, enqueue
from arkinctl.services.sensitive_text import check_free_text, is_one_line

if TYPE_CHECKING:
    from arkinctl.services.diagnose import Diagnosis

CATEGORIES = ("dob_mismatch", "sharing", "account", "invitation", "missing_data", "other")
STATUSES = ("open", "in_progress", "waiting", "resolved", "closed")
OPEN_STATUSES = ("open", "in_progress", "waiting")
PRIORITIES = ("low", "normal", "high", "urgent")
CAUSE_CATEGORY = {
    "dob_mismatch": "dob_mismatch",
    "dob_missing": "dob_mismatch",
    "sharing_disabled": "sharing",
    "account_inactive": "account",
    "no_account": "invitation",
    "invitation_pending": "invitation",
    "invitation_expired": "invitation",
    "ok": "missing_data",
    "only_before_cutoff": "missing_data",
    "nothing_shared": "missing_data",
}
CATEGORY_TITLES = {
    "dob_mismatch": "Geboortedatum portaal wijkt af van het dossier",
    "sharing": "Delen met het portaal",
    "account": "Portaalaccount niet actief",
    "invitation": "Uitnodiging voor het portaal",
    "missing_data": "Cliënt ziet geen gegevens in het portaal",
    "other": "Vraag over het portaal",
}
MAX_TITLE = 300
MAX_TEXT = 10_000


@dataclass(frozen=True)
class EventView:
    kind: str  # created | comment | assign | status | close | reopen
    author: str
    at: datetime
    body: str | None


@dataclass
class TicketView:
    number: str
    client_number: str | None
    category: str
    title: str
    description: str | None
    diagnosis: dict[str, Any] | None
    status: str
    priority: str
    created_by: str
    assignee: str | None
    resolution: str | None
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    events: list[EventView] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class TicketSummary:
    number: str
    client_number: str | None
    category: str
    title: str
    status: str
    priority: str
    assignee: str | None
    created_by: str
    created_at: datetime
    updated_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


SUMMARY_FIELDS = tuple(TicketSummary.__dataclass_fields__)


@dataclass(frozen=True)
class Opened:
    ticket: TicketView
    created: bool  # False: an open ticket of this client and category got a comment instead
    notified: bool  # an e-mail to the technical department was queued


# ---- checks ---------------------------------------------------------------------------------


def _choice(value: str, allowed: tuple[str, ...], what: str) -> str:
    value = value.strip().lower()
    if value not in allowed:
        raise InvalidInputError(f"unknown {what} '{value}'", hint=f"use {', '.join(allowed)}")
    return value


def _birth_dates(session: Session, client: Client | None) -> list[Any]:
    if client is None:
        return []
    portal = session.scalars(
        select(PortalAccount.birth_date).where(
            PortalAccount.identification_number == client.client_number
        )
    ).all()
    return [client.birth_date, *portal]


def _text(
    session: Session,
    value: str | None,
    *,
    what: str,
    client: Client | None,
    limit: int,
    one_line: bool = False,
) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        if len(value) > limit:
            raise InvalidInputError(
                f"{what} is longer than {limit} characters", hint="say it shorter"
            )
        if one_line and not is_one_line(value):
            raise InvalidInputError(f"{what} must be one line", hint="put details in --description")
        check_free_text(value, what=what, birth_dates=_birth_dates(session, client))
    except InvalidInputError as exc:
        exc.client_number = client.client_number if client else None  # for the audit trail
        raise
    return value


def diagnosis_snapshot(d: Diagnosis) -> dict[str, Any]:
    """What the technical department sees of a diagnosis: checks and cause, no name."""
    return {
        "cause": d.cause,
        "dob_difference": d.dob_difference,
        "checks": [
            {"number": c.number, "code": c.code, "passed": c.passed, "detail": c.detail}
            for c in d.checks
        ],
        "shared_parts": d.shared_parts,
        "part_counts": d.part_counts,
    }


def _snapshot_text(snapshot: dict[str, Any]) -> str:
    marks = {True: "ok", False: "FAILED", None: "not reached"}
    lines = [f"Diagnosis: {snapshot['cause']}"]
    if snapshot.get("dob_difference"):
        lines[0] += f" ({snapshot['dob_difference']})"
    for check in snapshot["checks"]:
        detail = f": {check['detail']}" if check["detail"] else ""
        lines.append(f"  {check['number']}. {check['code']} {marks[check['passed']]}{detail}")
    return "\n".join(lines)


# ---- reading ---------------------------------------------------------------------------------


def _may_open(session: Session, actor: Actor, ticket: Ticket) -> None:
    """A practitioner follows the tickets they opened and those of their own clients."""
    from arkinctl.services.access import has_relationship

    if actor.role != PRACTITIONER or ticket.created_by == actor.username:
        return
    today = actor.today or datetime.now(UTC).date()
    related = (
        ticket.client_id is not None
        and actor.user_id is not None
        and has_relationship(session, actor.user_id, ticket.client_id, today)
    )
    if related:
        return
    error = AccessDeniedError(
        "this ticket is about a client you have no current care relationship with",
        hint="ask the technical department, or an admin for `arkinctl care link`",
    )
    error.client_number = ticket.client_number
    raise error


def _find(
    session: Session, number: str, *, actor: Actor | None = None, lock: bool = False
) -> Ticket:
    key = number.strip().upper()
    query = select(Ticket).where(Ticket.number == key)
    if key.isdigit():
        query = select(Ticket).where(Ticket.id == (int(key) if int(key) <= MAX_ID else 0))
    ticket = session.scalars(query.with_for_update() if lock else query).one_or_none()
    if ticket is None:
        raise NotFoundError(
            f"there is no ticket {number.strip()}", hint="see `arkinctl ticket list`"
        )
    if actor is not None:
        _may_open(session, actor, ticket)
    return ticket


def _view(session: Session, ticket: Ticket) -> TicketView:
    events = session.scalars(
        select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id)
    ).all()
    return TicketView(
        number=ticket.number,
        client_number=ticket.client_number,
        category=ticket.category,
        title=ticket.title,
        description=ticket.description,
        diagnosis=json.loads(ticket.diagnosis) if ticket.diagnosis else None,
        status=ticket.status,
        priority=ticket.priority,
        created_by=ticket.created_by,
        assignee=ticket.assignee,
        resolution=ticket.resolution,
        created_at=ticket.created_at,
        updated_at=ticket.updated_at,
        closed_at=ticket.closed_at,
        events=[EventView(e.kind, e.author, e.created_at, e.body) for e in events],
    )


def _client_of(session: Session, ticket: Ticket) -> Client | None:
    return session.get(Client, ticket.client_id) if ticket.client_id is not None else None


def _audit(
    session: Session, actor: Actor, ticket: Ticket, action: str, code: str, outcome: str = "ok"
) -> None:
    record(
        session,
        actor,
        action=action,
        action_code=code,
        client=_client_of(session, ticket),
        object_type="ticket",
        object_id=ticket.number,
        outcome=outcome,
    )


def show_ticket(session: Session, number: str, *, actor: Actor) -> TicketView:
    ticket = _find(session, number, actor=actor)
    _audit(session, actor, ticket, "ticket.show", "R")
    return _view(session, ticket)


@checked_first
def list_tickets(
    session: Session,
    *,
    actor: Actor,
    status: str | None = None,
    assignee: str | None = None,
    client: Client | None = None,
    limit: int | None = None,
) -> Iterator[TicketSummary]:
    """Tickets, newest first, streamed. `status` None: the unresolved ones; `all`: every one."""
    query = select(Ticket)
    if status is None:
        query = query.where(Ticket.status.in_(OPEN_STATUSES))
    elif status != "all":
        query = query.where(Ticket.status == _choice(status, (*STATUSES, "all"), "ticket status"))
    if assignee is not None:
        query = query.where(Ticket.assignee == assignee)
    if client is not None:
        query = query.where(Ticket.client_id == client.id)
    if actor.role == PRACTITIONER:
        today = actor.today or datetime.now(UTC).date()
        query = query.where(
            or_(
                Ticket.created_by == actor.username,
                Ticket.client_id.in_(related_client_ids(actor.user_id or 0, today)),
            )
        )
    query = query.order_by(Ticket.id.desc())
    if limit:
        query = query.limit(limit)
    record_listing(session, actor, action="ticket.list", object_type="ticket", client=client)
    for t in session.scalars(query.execution_options(yield_per=1000)):
        yield TicketSummary(
            number=t.number,
            client_number=t.client_number,
            category=t.category,
            title=t.title,
            status=t.status,
            priority=t.priority,
            assignee=t.assignee,
            created_by=t.created_by,
            created_at=t.created_at,
            updated_at=t.updated_at,
        )


# ---- changing --------------------------------------------------------------------------------


def _event(
    session: Session, ticket: Ticket, kind: str, actor: Actor, now: datetime, body: str | None
) -> None:
    session.add(
        TicketEvent(
            ticket_id=ticket.id, kind=kind, author=actor.username, body=body, created_at=now
        )
    )
    ticket.updated_at = now


def _notify(
    session: Session, ticket: Ticket, *, settings: Settings, what: str, by: str | None = None
) -> bool:
    """Queue a notice to the technical department (None configured: nothing, say False)."""
    address = settings.mail.technical_address
    if not address:
        return False
    recipient = normalise_email(address, what="ARKINCTL_TECHNICAL_EMAIL")
    body = (
        f"Ticket {ticket.number} is {what}.\n\n"
        f"Client number: {ticket.client_number or '-'}\n"
        f"Category:      {ticket.category}\n"
        f"Priority:      {ticket.priority}\n"
        f"Title:         {ticket.title}\n"
        f"Opened by:     {ticket.created_by}\n" + (f"Reopened by:   {by}\n" if by else "") + "\n"
        f"See `arkinctl ticket show {ticket.number}`.\n"
    )
    enqueue(
        session,
        Mail(recipient, "Technische dienst", f"[{ticket.number}] {what}: {ticket.title}", body),
        purpose="ticket",
        settings=settings.mail,
        ticket_id=ticket.id,
    )
    return True


def open_ticket(
    session: Session,
    client: Client,
    *,
    category: str | None,
    title: str | None,
    description: str | None,
    diagnosis: Diagnosis | None,
    priority: str,
    new: bool,
    settings: Settings,
    actor: Actor,
    now: datetime,
) -> Opened:
    """Open a ticket for `client`, or comment on the open one of the same category."""
    lock_chain(session)
    if category is None:
        if diagnosis is None:
            raise InvalidInputError(
                "say which --category (or use --from-diagnosis to take it from the cause)",
                hint=f"categories: {', '.join(CATEGORIES)}",
            )
        category = CAUSE_CATEGORY.get(diagnosis.cause, "other")
    try:
        category = _choice(category, CATEGORIES, "category")
        priority = _choice(priority, PRIORITIES, "priority")
    except InvalidInputError as exc:
        exc.client_number = client.client_number
        raise
    title = _text(session, title, what="the title", client=client, limit=MAX_TITLE, one_line=True)
    description = _text(session, description, what="the description", client=client, limit=MAX_TEXT)
    snapshot = diagnosis_snapshot(diagnosis) if diagnosis is not None else None

    existing = None
    if not new:
        existing = session.scalars(
            select(Ticket)
            .where(
                Ticket.client_id == client.id,
                Ticket.category == category,
                Ticket.status.in_(OPEN_STATUSES),
            )
            .order_by(Ticket.id)
            .limit(1)
            .with_for_update()
        ).first()
    if existing is not None:
        if PRIORITIES.index(priority) > PRIORITIES.index(existing.priority):
            _event(session, existing, "priority", actor, now, f"{existing.priority} → {priority}")
            existing.priority = priority
        parts = [p for p in (title, description) if p]
        if snapshot is not None:
            parts.append(_snapshot_text(snapshot))
        _event(session, existing, "comment", actor, now, "\n\n".join(parts) or "opened again")
        if snapshot is not None:
            existing.diagnosis = json.dumps(snapshot)
        _audit(session, actor, existing, "ticket.comment", "U")
        session.flush()
        return Opened(_view(session, existing), created=False, notified=False)

    if title is None:
        title = CATEGORY_TITLES[category]
        if diagnosis is not None:
            title += f" ({diagnosis.cause})"
    ticket = Ticket(
        number=f"NEW-{uuid.uuid4().hex[:16]}",  # replaced by the id-based number below
        client_id=client.id,
        client_number=client.client_number,
        category=category,
        title=title,
        description=description,
        diagnosis=json.dumps(snapshot) if snapshot is not None else None,
        status="open",
        priority=priority,
        created_by=actor.username,
        created_at=now,
        updated_at=now,
    )
    session.add(ticket)
    session.flush()
    ticket.number = f"TD-{now.astimezone(settings.timezone):%Y}-{ticket.id:06d}"
    _event(session, ticket, "created", actor, now, None)
    notified = _notify(session, ticket, settings=settings, what="opened")
    _audit(session, actor, ticket, "ticket.open", "C")
    session.flush()
    return Opened(_view(session, ticket), created=True, notified=notified)


def comment_ticket(
    session: Session, number: str, text: str, *, actor: Actor, now: datetime
) -> TicketView:
    lock_chain(session)
    ticket = _find(session, number, actor=actor, lock=True)
    body = _text(
        session, text, what="the comment", client=_client_of(session, ticket), limit=MAX_TEXT
    )
    if body is None:
        raise InvalidInputError("the comment is empty")
    _event(session, ticket, "comment", actor, now, body)
    _audit(session, actor, ticket, "ticket.comment", "U")
    session.flush()
    return _view(session, ticket)


def assign_ticket(
    session: Session, number: str, username: str, *, actor: Actor, now: datetime
) -> TicketView:
    lock_chain(session)
    ticket = _find(session, number, actor=actor, lock=True)
    username = username.strip()
    assignee = session.scalars(select(User).where(User.username == username)).first()
    if assignee is None or not assignee.active:
        raise InvalidInputError(
            f"{username!r} is no active arkinctl user", hint="see `arkinctl user list`"
        )
    if ticket.assignee != username:
        before = ticket.assignee or "nobody"
        ticket.assignee = username
        _event(session, ticket, "assign", actor, now, f"{before} → {username}")
    _audit(session, actor, ticket, "ticket.assign", "U")
    session.flush()
    return _view(session, ticket)


def set_ticket_status(
    session: Session,
    number: str,
    status: str,
    *,
    resolution: str | None = None,
    settings: Settings,
    actor: Actor,
    now: datetime,
) -> tuple[TicketView, bool]:
    """Change the status; returns the ticket and whether the department was notified (a
    resolved or closed ticket that is reopened)."""
    lock_chain(session)
    ticket = _find(session, number, actor=actor, lock=True)
    status = _choice(status, STATUSES, "ticket status")
    client = _client_of(session, ticket)
    resolution = _text(session, resolution, what="the resolution", client=client, limit=MAX_TEXT)
    if status == "closed" and resolution is None and ticket.resolution is None:
        raise InvalidInputError(
            "say how it was resolved", hint="use `arkinctl ticket close N --resolution TEXT`"
        )
    notified = False
    before = ticket.status
    if status != before:
        reopened = before not in OPEN_STATUSES and status in OPEN_STATUSES
        kind = "reopen" if reopened else ("close" if status == "closed" else "status")
        _event(session, ticket, kind, actor, now, f"{before} → {status}")
        ticket.status = status
        if status in ("resolved", "closed"):
            ticket.closed_at = now
        if reopened:
            ticket.closed_at = None
            ticket.resolution = None  # the old one stays in the history
            notified = _notify(
                session, ticket, settings=settings, what="reopened", by=actor.username
            )
    if resolution is not None:
        ticket.resolution = resolution
        _event(session, ticket, "resolution", actor, now, resolution)
    _audit(session, actor, ticket, "ticket.close" if status == "closed" else "ticket.status", "U")
    session.flush()
    return _view(session, ticket), notified
