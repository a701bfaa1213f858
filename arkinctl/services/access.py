"""Who may do what (DESIGN section 5): users and roles, care relationships, break the glass.

- Every invocation acts as a known, active user; anyone else is refused before anything
  is read.
- A practitioner opens only clients with whom they have a current care relationship;
  outside it, a reason (`--reason`) opens the client anyway and flags the audit event
  ("break the glass"). Technical staff open any client but see metadata, not clinical
  titles. Admins do everything, and alone manage users and care relationships.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from arkinctl.db.models import CareRelationship, Client, User
from arkinctl.errors import AccessDeniedError, ConflictError, InvalidInputError, NotFoundError
from arkinctl.services.audit import Actor

PRACTITIONER, TECHNICAL, ADMIN = "practitioner", "technical", "admin"
ROLES = (PRACTITIONER, TECHNICAL, ADMIN)
MAX_USERNAME = 64


@dataclass(frozen=True)
class UserView:
    username: str
    display_name: str | None
    role: str
    active: bool
    created_at: datetime


def _view(user: User) -> UserView:
    return UserView(user.username, user.display_name, user.role, user.active, user.created_at)


def acting_user(session: Session, username: str) -> User:
    """The user an invocation acts as; AccessDeniedError for an unknown or disabled one."""
    if not username.strip() or len(username) > MAX_USERNAME:
        raise InvalidInputError(
            f"the acting user name must be 1 to {MAX_USERNAME} characters", hint="check --as"
        )
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None:
        raise AccessDeniedError(
            f"{username!r} is not an arkinctl user",
            hint="an admin adds you with `arkinctl user add NAME --role ROLE`; "
            "or act as another user with --as",
        )
    if not user.active:
        raise AccessDeniedError(f"the arkinctl user {username!r} is disabled", hint="ask an admin")
    return user


def authorize_client(session: Session, actor: Actor, client: Client, *, today: date) -> None:
    """May `actor` open `client`? A practitioner outside a current care relationship only
    with a reason, which flags every event about this client in this invocation."""
    if actor.role != PRACTITIONER:
        return
    if actor.user_id is not None and has_relationship(session, actor.user_id, client.id, today):
        return
    if actor.purpose:
        actor.break_glass.add(client.id)
        return
    error = AccessDeniedError(
        f"you have no current care relationship with client {client.client_number}",
        hint="give --reason to open the file anyway (break the glass: it is flagged in the "
        "audit trail), or ask an admin for `arkinctl care link`",
    )
    error.client_number = client.client_number
    raise error


def require_role(role: str | None, *allowed: str, what: str) -> None:
    if role not in allowed:
        names = " or ".join(allowed)
        raise AccessDeniedError(
            f"{what} is for the {names} role (you are {role or 'no user'})",
            hint="ask a colleague with that role",
        )


def staff_only(actor: Actor, what: str) -> None:
    """Work over many clients at once (imports, batches, the outbox, the audit trail) is
    for technical staff and admins; a practitioner works client by client."""
    require_role(actor.role, TECHNICAL, ADMIN, what=what)


def check_username(username: str) -> str:
    name = username.strip()
    if not name or len(name) > MAX_USERNAME or any(c.isspace() for c in name):
        raise InvalidInputError(
            f"a user name is 1 to {MAX_USERNAME} characters without spaces",
            hint="e.g. j.jansen",
        )
    return name


def check_role(role: str) -> str:
    if role not in ROLES:
        raise InvalidInputError(f"unknown role {role!r}", hint=f"use one of {', '.join(ROLES)}")
    return role


def create_user(
    session: Session, username: str, *, role: str, display_name: str | None
) -> UserView:
    name = check_username(username)
    check_role(role)
    if session.scalars(select(User.id).where(User.username == name)).first() is not None:
        raise ConflictError(f"the user {name!r} exists already", hint="see `arkinctl user list`")
    user = User(username=name, role=role, display_name=(display_name or "").strip() or None)
    session.add(user)
    session.flush()
    return _view(user)


def bootstrap_admin(session: Session, username: str) -> bool:
    """In a database without any user, make `username` its first admin. True if it did."""
    if session.scalars(select(User.id).limit(1)).first() is not None:
        return False
    session.add(User(username=check_username(username), role=ADMIN, display_name=None))
    session.flush()
    return True


def set_user_active(session: Session, username: str, *, active: bool, by: str) -> UserView:
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None:
        raise NotFoundError(f"no user {username!r}", hint="see `arkinctl user list`")
    if not active and user.username == by:
        raise ConflictError("you cannot disable yourself", hint="ask another admin")
    if not active and user.role == ADMIN and user.active and _active_admins(session) == 1:
        raise ConflictError(
            "this is the last active admin; nobody could manage users after this",
            hint="make another admin first",
        )
    user.active = active
    session.flush()
    return _view(user)


def _active_admins(session: Session) -> int:
    return len(session.scalars(select(User.id).where(User.role == ADMIN, User.active)).all())


def all_users(session: Session) -> list[UserView]:
    return [_view(u) for u in session.scalars(select(User).order_by(User.username))]


# ---- care relationships -------------------------------------------------------------------


@dataclass(frozen=True)
class RelationshipView:
    client_number: str
    username: str
    valid_from: date | None
    valid_until: date | None
    current: bool


def _current(today: date) -> object:
    return and_(
        or_(CareRelationship.valid_from.is_(None), CareRelationship.valid_from <= today),
        or_(CareRelationship.valid_until.is_(None), CareRelationship.valid_until >= today),
    )


def has_relationship(session: Session, user_id: int, client_id: int, today: date) -> bool:
    found = session.scalars(
        select(CareRelationship.id).where(
            CareRelationship.user_id == user_id,
            CareRelationship.client_id == client_id,
            _current(today),  # type: ignore[arg-type]
        )
    ).first()
    return found is not None


def related_client_ids(user_id: int, today: date) -> object:
    """A subquery: the ids of the clients `user_id` has a current relationship with."""
    return select(CareRelationship.client_id).where(
        CareRelationship.user_id == user_id,
        _current(today),  # type: ignore[arg-type]
    )


def link(
    session: Session,
    client: Client,
    username: str,
    *,
    valid_from: date | None,
    valid_until: date | None,
    today: date,
) -> RelationshipView:
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None:
        raise NotFoundError(f"no user {username!r}", hint="see `arkinctl user list`")
    if user.role != PRACTITIONER:
        raise InvalidInputError(
            f"{username!r} is {user.role}, not a practitioner: care relationships are "
            "for practitioners (other roles need none)"
        )
    if valid_from and valid_until and valid_until < valid_from:
        raise InvalidInputError("--until is before --from")
    existing = session.scalars(
        select(CareRelationship).where(
            CareRelationship.user_id == user.id, CareRelationship.client_id == client.id
        )
    ).first()
    if existing is None:
        existing = CareRelationship(client_id=client.id, user_id=user.id)
        session.add(existing)
    existing.valid_from, existing.valid_until = valid_from, valid_until
    session.flush()
    return _relationship(existing, client.client_number, username, today)


def unlink(session: Session, client: Client, username: str) -> int:
    user_id = session.scalars(select(User.id).where(User.username == username)).first()
    if user_id is None:
        raise NotFoundError(f"no user {username!r}", hint="see `arkinctl user list`")
    rows = session.scalars(
        select(CareRelationship).where(
            CareRelationship.user_id == user_id, CareRelationship.client_id == client.id
        )
    ).all()
    for row in rows:
        session.delete(row)
    session.flush()
    return len(rows)


def relationships(session: Session, client: Client, today: date) -> list[RelationshipView]:
    rows = session.execute(
        select(CareRelationship, User.username)
        .join(User, User.id == CareRelationship.user_id)
        .where(CareRelationship.client_id == client.id)
        .order_by(User.username)
    ).all()
    return [_relationship(r, client.client_number, name, today) for r, name in rows]


def _relationship(r: CareRelationship, number: str, username: str, today: date) -> RelationshipView:
    current = (r.valid_from is None or r.valid_from <= today) and (
        r.valid_until is None or r.valid_until >= today
    )
    return RelationshipView(number, username, r.valid_from, r.valid_until, current)


def link_many(
    session: Session, pairs: Iterable[tuple[int, str]], *, today: date
) -> tuple[int, list[str]]:
    """Care relationships from an import: (client id, practitioner user name) pairs. Returns
    how many were new, and the names that are no practitioner user (left for a person)."""
    pairs = list(pairs)
    names = {name for _, name in pairs}
    users = {
        u.username: u
        for u in session.scalars(select(User).where(User.username.in_(sorted(names))))
        if u.role == PRACTITIONER
    }
    made = 0
    for client_id, name in pairs:
        user = users.get(name)
        if user is None:
            continue
        if not has_relationship(session, user.id, client_id, today):
            session.add(CareRelationship(client_id=client_id, user_id=user.id))
            made += 1
    session.flush()
    return made, sorted(names - set(users))
