"""Who may do what (DESIGN section 5): users and roles, care relationships, break the glass.

- Every invocation acts as a known, active user; anyone else is refused before anything
  is read.
- A practitioner opens only clients with whom they have a current care relationship;
  outside it, a reason (`--reason`) opens the client anyway and flags the audit event
  ("break the glass"). Technical staff open any client but see metadata, not clinical
  titles. Admins do everything, and alone manage users and care relationships.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import ParamSpec, TypeVar

from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.orm import Session

from arkinctl.db.models import CareRelationship, Client, User
from arkinctl.errors import AccessDeniedError, ConflictError, InvalidInputError, NotFoundError
from arkinctl.services.audit import Actor

PRACTITIONER, TECHNICAL, ADMIN = "practitioner", "technical", "admin"


_P = ParamSpec("_P")
_T = TypeVar("_T")


def checked_first(rows: Callable[_P, Iterator[_T]]) -> Callable[_P, Iterator[_T]]:
    """Run a generator of rows up to its first row when it is called: its checks (a role,
    a reference) and its audit event then happen, or fail, before anything is printed,
    not after a listing's first bracket or header."""

    @functools.wraps(rows)
    def primed(*args: _P.args, **kwargs: _P.kwargs) -> Iterator[_T]:
        it = rows(*args, **kwargs)
        try:
            first = next(it)
        except StopIteration:
            return iter(())
        return itertools.chain([first], it)

    return primed


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
    acting_user_name(username)
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
        "you have no current care relationship with this client",
        hint="give --reason to open the file anyway (break the glass: it is flagged in the "
        "audit trail), or ask an admin for `arkinctl care link`",
    )
    error.client_number = client.client_number
    raise error


def acting_user_name(username: str) -> str:
    try:
        return check_username(username)
    except InvalidInputError:
        raise InvalidInputError(
            f"the acting user name must be 1 to {MAX_USERNAME} visible characters without spaces",
            hint="give one with --as or ARKINCTL_USER",
        ) from None


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
    """1 to 64 visible characters: no spaces, control or invisible (format) characters."""
    import unicodedata

    name = username.strip()
    if (
        not name
        or len(name) > MAX_USERNAME
        or any(c.isspace() or unicodedata.category(c)[0] in "CZ" for c in name)
    ):
        raise InvalidInputError(
            f"a user name is 1 to {MAX_USERNAME} visible characters without spaces",
            hint="e.g. j.jansen",
        )
    return name


def _name_key(name: str) -> str:
    import unicodedata

    return unicodedata.normalize("NFKC", name).casefold()


MAX_DISPLAY_NAME = 200


def check_display_name(name: str | None) -> str | None:
    from arkinctl.services.sensitive_text import is_one_line

    name = (name or "").strip()
    if not name:
        return None
    if len(name) > MAX_DISPLAY_NAME or not is_one_line(name):
        raise InvalidInputError(f"--name is one line of at most {MAX_DISPLAY_NAME} characters")
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
    # The same name in another case or Unicode spelling (ZOË/zoë, ｐ/p, K/k) is
    # the same person to a reader: compared here, since SQLite's lower() knows only ASCII.
    key = _name_key(name)
    same = next((u for u in session.scalars(select(User.username)) if _name_key(u) == key), None)
    if same is not None:
        raise ConflictError(
            f"the user {same!r} exists already (user names differ in more than case)",
            hint="see `arkinctl user list`",
        )
    user = User(username=name, role=role, display_name=check_display_name(display_name))
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
    # Lock every admin row first: two admins disabling each other at once must not both
    # succeed (the second sees the first's change, and is the last admin then).
    session.scalars(select(User.id).where(User.role == ADMIN).with_for_update()).all()
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None:
        raise NotFoundError(f"no user {username!r}", hint="see `arkinctl user list`")
    if not active and user.username == by:
        raise ConflictError("you cannot disable yourself", hint="ask another admin")
    acting = session.scalars(select(User).where(User.username == by)).first()
    if acting is not None and not acting.active:
        raise AccessDeniedError(f"the arkinctl user {by!r} is disabled", hint="ask an admin")
    if not active and user.role == ADMIN and user.active and _active_admins(session) <= 1:
        raise ConflictError(
            "this is the last active admin; nobody could manage users after this",
            hint="make another admin first",
        )
    user.active = active
    session.flush()
    return _view(user)


def _active_admins(session: Session) -> int:
    session.expire_all()  # what the lock waited for: the rows as now committed
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


def _current(today: date) -> ColumnElement[bool]:
    return and_(
        or_(CareRelationship.valid_from.is_(None), CareRelationship.valid_from <= today),
        or_(CareRelationship.valid_until.is_(None), CareRelationship.valid_until >= today),
    )


def has_relationship(session: Session, user_id: int, client_id: int, today: date | None) -> bool:
    """A relationship current on `today`; with None, any at all (ended or still to come)."""
    query = select(CareRelationship.id).where(
        CareRelationship.user_id == user_id, CareRelationship.client_id == client_id
    )
    if today is not None:
        query = query.where(_current(today))
    return session.scalars(query).first() is not None


def related_client_ids(user_id: int, today: date) -> Select[int]:
    """A subquery: the ids of the clients `user_id` has a current relationship with."""
    return select(CareRelationship.client_id).where(
        CareRelationship.user_id == user_id,
        _current(today),
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
    session: Session, links: Iterable[tuple[int, str, date | None, date | None]]
) -> tuple[int, list[str]]:
    """Care relationships from an import: (client id, practitioner user name, from, until).
    A pair that has a relationship already is left as it is: an import never reopens one
    an admin ended or moved. Returns how many were made, and the names that are no
    practitioner user (left for a person)."""
    links = list(links)
    names = {name for _, name, _, _ in links}
    users = {
        u.username: u
        for u in session.scalars(select(User).where(User.username.in_(sorted(names))))
        if u.role == PRACTITIONER
    }
    made = 0
    for client_id, name, valid_from, valid_until in links:
        user = users.get(name)
        if user is None or has_relationship(session, user.id, client_id, None):
            continue
        session.add(
            CareRelationship(
                client_id=client_id,
                user_id=user.id,
                valid_from=valid_from,
                valid_until=valid_until,
            )
        )
        session.flush()
        made += 1
    return made, sorted(names - set(users))
