"""Managing the people who run arkinctl: admin only, and every change audited."""

from __future__ import annotations

from sqlalchemy.orm import Session

from arkinctl.services import access
from arkinctl.services.access import ADMIN, UserView, require_role
from arkinctl.services.audit import Actor, record


def add_user(
    session: Session, actor: Actor, username: str, *, role: str, display_name: str | None
) -> UserView:
    require_role(actor.role, ADMIN, what="adding users")
    view = access.create_user(session, username, role=role, display_name=display_name)
    record(
        session,
        actor,
        action="user.add",
        action_code="C",
        object_type="user",
        object_id=view.username,
    )
    return view


def list_users(session: Session, actor: Actor) -> list[UserView]:
    require_role(actor.role, ADMIN, what="listing users")
    record(session, actor, action="user.list", action_code="R", object_type="user")
    return access.all_users(session)


def set_active(session: Session, actor: Actor, username: str, *, active: bool) -> UserView:
    require_role(actor.role, ADMIN, what="enabling and disabling users")
    view = access.set_user_active(session, username, active=active, by=actor.username)
    record(
        session,
        actor,
        action="user.enable" if active else "user.disable",
        action_code="U",
        object_type="user",
        object_id=view.username,
    )
    return view
