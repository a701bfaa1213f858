"""The "I don't see any data" walk (DESIGN section 2).

`diagnose` walks one client's state check by check and stops at the first failure: that is
the cause. `count_causes` computes the same cause for every client in one aggregate SQL
query (no client is loaded into Python); a test holds the two to the same answers.
"""

from __future__ import annotations

import shlex
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, exists, func, literal, or_, select
from sqlalchemy.orm import Session

from arkinctl.config import Settings
from arkinctl.db.models import CareEpisode, Client, FilePart, Invitation, PortalAccount
from arkinctl.services.access import staff_only
from arkinctl.services.audit import Actor, record
from arkinctl.services.client_state import LIVE_INVITATION, ClientState
from arkinctl.services.dob import DESCRIPTIONS, classify_difference
from arkinctl.services.visibility import is_shared, only_cutoff_fails

CAUSES = (
    "client_not_found",
    "client_deceased",
    "not_treated",
    "no_account",
    "invitation_pending",
    "invitation_expired",
    "account_inactive",
    "dob_missing",
    "dob_mismatch",
    "sharing_disabled",
    "only_before_cutoff",
    "nothing_shared",
    "ok",
)

CHECKS = (
    (1, "client_exists", "The client exists"),
    (2, "client_alive", "The client is alive"),
    (3, "client_treated", "The client has been treated"),
    (4, "portal_account", "A portal account exists"),
    (5, "account_active", "The portal account is active"),
    (6, "dob_match", "Both dates of birth are present and equal"),
    (7, "sharing_enabled", "Sharing is switched on"),
    (8, "parts_shared", "At least one file part is shared"),
)


@dataclass
class Check:
    number: int
    code: str
    label: str
    passed: bool | None  # None: not reached, because an earlier check failed
    detail: str = ""


@dataclass
class Diagnosis:
    client_number: str | None
    name: str | None
    cause: str
    remedy: str
    next_command: str | None
    checks: list[Check]
    dob_difference: str | None = None
    shared_parts: int = 0
    part_counts: dict[str, int] = field(default_factory=dict)
    open_tickets: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.cause == "ok"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _quote(value: str) -> str:
    return shlex.quote(value)


def not_found_diagnosis() -> Diagnosis:
    checks = [Check(n, code, label, None) for n, code, label in CHECKS]
    checks[0].passed = False
    checks[0].detail = "no client matches the reference"
    return Diagnosis(
        client_number=None,
        name=None,
        cause="client_not_found",
        remedy="Search by another key: client number, BSN, e-mail or portal account id, "
        "or search by name.",
        next_command="arkinctl client search NAME",
        checks=checks,
    )


def diagnose(state: ClientState, *, settings: Settings, now: datetime) -> Diagnosis:
    c = state.client
    cn = _quote(c.client_number)
    checks = [Check(n, code, label, None) for n, code, label in CHECKS]

    def result(cause: str, remedy: str, next_command: str | None, **extra: Any) -> Diagnosis:
        return Diagnosis(
            client_number=c.client_number,
            name=c.display_name,
            cause=cause,
            remedy=remedy,
            next_command=next_command,
            checks=checks,
            shared_parts=state.shared_parts,
            part_counts=dict(state.part_counts),
            open_tickets=[t.number for t in state.open_tickets],
            **extra,
        )

    def passed(i: int, detail: str = "") -> None:
        checks[i - 1].passed, checks[i - 1].detail = True, detail

    def failed(i: int, detail: str) -> None:
        checks[i - 1].passed, checks[i - 1].detail = False, detail

    passed(1, f"client number {c.client_number}")

    if c.deceased:
        failed(2, f"deceased {c.deceased_date.isoformat()}" if c.deceased_date else "deceased")
        return result(
            "client_deceased",
            "Portal access ends when a client dies; there is nothing to fix.",
            None,
        )
    passed(2)

    if state.episodes == 0:
        failed(3, "no care episode in the record")
        return result(
            "not_treated",
            "Portal access starts after the first treatment; it opens once a care episode "
            "is recorded.",
            None,
        )
    passed(3, f"{state.episodes} care episode(s)")

    account = state.account
    if account is None or account.status == "invited":
        live, latest = state.live_invitation, state.latest_invitation
        if live is not None:
            failed(4, f"invitation {live.status}, valid until {live.expires_at:%Y-%m-%d}")
            age = now - (live.sent_at or live.created_at)
            may_resend = age >= timedelta(days=settings.resend_after_days)
            where = (
                f"sent to {live.email}"
                if live.status == "sent"
                else f"queued for {live.email}, not sent yet (`arkinctl outbox deliver`)"
            )
            return result(
                "invitation_pending",
                "The client has an invitation but has not accepted it yet. Ask them to look "
                f"for the e-mail (also in spam), {where}; it is valid until "
                f"{live.expires_at:%Y-%m-%d}. The portal reminds them on days 3 and 7. If it "
                "is lost or went to a wrong address, resend it (to the address in the record)"
                + (
                    "."
                    if may_resend
                    else f"; before day {settings.resend_after_days} only with --force."
                ),
                f"arkinctl invite send {cn} --resend"
                if may_resend
                else f"arkinctl invite show {live.id}",
            )
        if latest is not None and latest.status == "expired":
            failed(4, f"the last invitation expired on {latest.expires_at:%Y-%m-%d}")
            return result(
                "invitation_expired",
                "The invitation expired before the client accepted it: send a new one, to "
                "the e-mail address in the record.",
                f"arkinctl invite send {cn}",
            )
        if account is not None and latest is None:
            failed(4, f"account {account.account_id} is invited but not yet activated")
            return result(
                "invitation_pending",
                "The portal account exists but the client has not activated it yet. Ask "
                "them to accept the invitation e-mail (also in spam), or send a new one.",
                f"arkinctl invite send {cn}",
            )
        detail = "no portal account and no live invitation"
        if latest is not None:
            detail += f" (last invitation {latest.status})"
        failed(4, detail)
        return result(
            "no_account",
            "The client has no portal account: send an invitation, to the e-mail address "
            "in the record.",
            f"arkinctl invite send {cn}",
        )
    passed(4, f"account {account.account_id}")

    if account.status != "active":
        failed(5, f"account {account.account_id} is {account.status}")
        return result(
            "account_inactive",
            f"The portal account is {account.status}. Only the technical department can "
            "reactivate it: "
            + (
                f"ticket {state.open_tickets[0].number} is open for it; follow it up there."
                if state.open_tickets
                else "open a ticket (it names the client by client number only)."
            ),
            f"arkinctl ticket show {state.open_tickets[0].number}"
            if state.open_tickets
            else f"arkinctl ticket open {cn} --from-diagnosis",
        )
    passed(5, "active")

    record_dob, portal_dob = c.birth_date, account.birth_date
    if record_dob is None or portal_dob is None:
        missing = []
        if record_dob is None:
            missing.append(
                "the care record has only a partial date of birth (year or month)"
                if c.birth_date_partial
                else "the care record has no date of birth"
            )
        if portal_dob is None:
            missing.append("the portal account has no date of birth")
        failed(6, "; ".join(missing))
        return result(
            "dob_missing",
            "A date of birth is missing, so the portal cannot match the client to the record. "
            "Complete it: the client in the portal (My account), or the record if it is the "
            "record that lacks it.",
            f"arkinctl dob verify {cn}",
        )
    difference = classify_difference(record_dob, portal_dob)
    if difference is not None:
        failed(6, f"the dates differ: {DESCRIPTIONS[difference]}")
        return result(
            "dob_mismatch",
            "The date of birth in the portal differs from the care record "
            f"({DESCRIPTIONS[difference]}). The client corrects it in the portal (My "
            "account); if the record is wrong, the record is corrected. Confirm with the "
            "client first.",
            f"arkinctl dob verify {cn} --claimed DATE",
            dob_difference=difference,
        )
    passed(6, "equal")

    if not c.sharing_enabled:
        who = f" by {c.sharing_changed_by}" if c.sharing_changed_by else ""
        when = f" on {c.sharing_changed_at:%Y-%m-%d}" if c.sharing_changed_at else ""
        failed(7, f"switched off{who}{when}")
        return result(
            "sharing_disabled",
            "Sharing with the portal is switched off for this client. Technical staff can "
            "switch it on, after checking why it was switched off.",
            f"arkinctl share enable {cn} --reason TEXT",
        )
    passed(7)

    cutoff = settings.cutoff_date.isoformat()
    before = state.part_counts.get("before_cutoff", 0)
    if state.shared_parts == 0:
        if before:
            failed(
                8, f"0 shared; {before} part(s) would be shared but were entered before {cutoff}"
            )
            return result(
                "only_before_cutoff",
                f"Everything that could be shared was entered before {cutoff}. The portal "
                "never shows parts entered before that date; nothing to fix. New entries will "
                "appear.",
                f"arkinctl files list {cn} --before-cutoff",
            )
        if state.total_parts == 0:
            failed(8, "the care file has no parts at all")
            return result(
                "nothing_shared",
                "The care file has no parts yet, so there is nothing to show. Parts entered "
                "from now on appear once they are final.",
                None,
            )
        failed(8, f"0 shared of {state.total_parts} part(s)")
        return result(
            "nothing_shared",
            "No part of the file is shareable (drafts, withheld parts or kinds that are not "
            "shared). See the reasons per part.",
            f"arkinctl files list {cn} --not-shared",
        )
    passed(8, f"{state.shared_parts} shared")
    return result(
        "ok",
        f"Everything checks out: the client should see {state.shared_parts} part(s) in "
        "My file. If they still see nothing, hand it to the technical department: "
        f"`arkinctl ticket open {cn} --from-diagnosis`.",
        f"arkinctl files list {cn} --shared",
    )


# ---- the same walk, as one SQL expression per client --------------------------------------


def cause_expr(settings: Settings, now: datetime) -> ColumnElement[str]:
    """The cause of DESIGN section 2 for the client in the enclosing query."""
    acct = PortalAccount
    linked = acct.identification_number == Client.client_number
    has_episode = exists().where(CareEpisode.client_id == Client.id)
    has_usable_account = exists().where(linked, acct.status != "invited")
    has_invited_account = exists().where(linked, acct.status == "invited")
    has_active_account = exists().where(linked, acct.status == "active")
    live_invitation = exists().where(
        Invitation.client_id == Client.id,
        Invitation.status.in_(LIVE_INVITATION),
        Invitation.expires_at > now,
    )
    latest = (
        select(Invitation.status, Invitation.expires_at)
        .where(Invitation.client_id == Client.id)
        .order_by(Invitation.id.desc())
        .limit(1)
    )
    latest_status = latest.with_only_columns(Invitation.status).scalar_subquery()
    latest_expires = latest.with_only_columns(Invitation.expires_at).scalar_subquery()
    latest_expired = or_(
        latest_status == "expired",
        and_(latest_status.in_(LIVE_INVITATION), latest_expires <= now),
    )
    portal_dob = (
        select(acct.birth_date)
        .where(linked, acct.status == "active")
        .order_by(acct.id)
        .limit(1)
        .scalar_subquery()
    )
    any_shared = exists().where(FilePart.client_id == Client.id, is_shared(settings))
    any_before = exists().where(FilePart.client_id == Client.id, only_cutoff_fails(settings))
    return case(
        (Client.deceased.is_(True), literal("client_deceased")),
        (~has_episode, literal("not_treated")),
        (
            ~has_usable_account,
            case(
                (live_invitation, literal("invitation_pending")),
                (latest_expired, literal("invitation_expired")),
                (
                    and_(has_invited_account, ~exists().where(Invitation.client_id == Client.id)),
                    literal("invitation_pending"),
                ),
                else_=literal("no_account"),
            ),
        ),
        (~has_active_account, literal("account_inactive")),
        (or_(Client.birth_date.is_(None), portal_dob.is_(None)), literal("dob_missing")),
        (Client.birth_date != portal_dob, literal("dob_mismatch")),
        (Client.sharing_enabled.is_(False), literal("sharing_disabled")),
        (any_shared, literal("ok")),
        (any_before, literal("only_before_cutoff")),
        else_=literal("nothing_shared"),
    )


def count_causes(session: Session, *, settings: Settings, now: datetime) -> dict[str, int]:
    """How many clients have each cause; computed in the database, nothing loaded per client."""
    causes = select(cause_expr(settings, now).label("cause")).subquery()
    rows = session.execute(select(causes.c.cause, func.count()).group_by(causes.c.cause))
    counts = dict.fromkeys(CAUSES[1:], 0)
    for cause, n in rows:
        counts[cause] = n
    return counts


def causes_by_client(session: Session, *, settings: Settings, now: datetime) -> dict[str, str]:
    """Client number → cause for every client (for tests and small exports)."""
    rows = session.execute(select(Client.client_number, cause_expr(settings, now)))
    return {number: cause for number, cause in rows}


def diagnose_client(
    session: Session, ref: str, *, settings: Settings, actor: Actor, now: datetime
) -> Diagnosis:
    """Resolve, audit and walk one client; an unknown reference is the cause, not an error."""
    from arkinctl.errors import NotFoundError
    from arkinctl.services.client_state import load_state
    from arkinctl.services.lookups import open_client

    try:
        client = open_client(session, ref, actor=actor, action="diagnose")
    except NotFoundError:
        record(session, actor, action="diagnose", action_code="R", outcome="not_found")
        return not_found_diagnosis()
    return diagnose(
        load_state(session, client, settings=settings, now=now), settings=settings, now=now
    )


def count_causes_audited(
    session: Session, *, settings: Settings, actor: Actor, now: datetime
) -> dict[str, int]:
    staff_only(actor, "counting causes over all clients")
    record(session, actor, action="diagnose.all", action_code="E", object_type="report")
    return count_causes(session, settings=settings, now=now)
