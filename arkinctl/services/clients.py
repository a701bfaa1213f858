"""Finding clients: by reference (number, BSN, e-mail, account id) and by name search."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from arkinctl.config import Settings
from arkinctl.db.models import Client, PortalAccount
from arkinctl.errors import AmbiguousReferenceError, InvalidInputError, NotFoundError, UsageError
from arkinctl.services.audit import Actor
from arkinctl.services.bsn import compact_bsn, looks_like_bsn, mask_bsn
from arkinctl.textnorm import fold

# Enough rows for a person to pick from; a longer list means the search is too broad.
DEFAULT_SEARCH_LIMIT = 50
MAX_SEARCH_TEXT = 200


def resolve_client(session: Session, ref: str) -> Client:
    """The one client `ref` names: a client number, BSN, e-mail address or portal account id.

    Errors never repeat the reference: it may be a BSN or an e-mail address.
    """
    ref = ref.strip()
    kind, _, rest = ref.partition(":")
    only = kind.lower() if rest and kind.lower() in REF_KINDS else None
    if only:
        ref = rest.strip()
    if not ref:
        raise InvalidInputError("the client reference is empty")
    found: dict[int, Client] = {}

    def add(clients: Sequence[Client]) -> None:
        for c in clients:
            found.setdefault(c.id, c)

    if only in (None, "client"):
        add(session.scalars(select(Client).where(Client.client_number == ref)).all())
        if found or only:
            if not found:
                raise NotFoundError("no client has that client number", hint=_SEARCH_HINT)
            # An exact client number wins: it is how staff name clients, and another
            # client's BSN or account id may be written the same (use bsn:/account: then).
            return _one(found)

    if only in (None, "bsn") and (looks_like_bsn(ref) or only):
        bsn = compact_bsn(ref)
        if bsn is not None:
            add(session.scalars(select(Client).where(Client.bsn == bsn)).all())
        elif not found:
            raise InvalidInputError(
                "the reference looks like a BSN but fails the 11-proof"
                + ("" if only else ", and no client has it as client number"),
                hint="check the digits",
            )

    if only in (None, "email") and "@" in ref:
        email = ref.lower()
        add(session.scalars(select(Client).where(func.lower(Client.email) == email)).all())
        add(
            session.scalars(
                select(Client)
                .join(PortalAccount, PortalAccount.identification_number == Client.client_number)
                .where(func.lower(PortalAccount.email) == email)
            ).all()
        )

    if only in (None, "account"):
        add(
            session.scalars(
                select(Client)
                .join(PortalAccount, PortalAccount.identification_number == Client.client_number)
                .where(PortalAccount.account_id == ref)
            ).all()
        )
    if only and not found:
        what = {"bsn": "that BSN", "email": "that e-mail address", "account": "that account id"}
        raise NotFoundError(f"no client has {what[only]}", hint=_SEARCH_HINT)
    return _one(found)


_SEARCH_HINT = "try `arkinctl client search NAME`"
# `bsn:999990007`, `account:acc-2`, `email:…`, `client:…`: look the reference up one way only.
REF_KINDS = ("client", "bsn", "email", "account")


def _one(found: dict[int, Client]) -> Client:
    if not found:
        raise NotFoundError(
            "no client matches that reference (tried client number, BSN, e-mail and "
            "portal account id)",
            hint="try `arkinctl client search NAME`",
        )
    if len(found) > 1:
        candidates = sorted(found.values(), key=lambda c: c.client_number)
        raise AmbiguousReferenceError(
            f"the reference matches {len(candidates)} clients; use a client number "
            "(or bsn:, email:, account: before the reference)",
            candidates=[f"{c.client_number}  {c.display_name}" for c in candidates],
        )
    return next(iter(found.values()))


@dataclass(frozen=True)
class ClientHit:
    client_number: str
    name: str
    birth_date: date | None
    birth_date_partial: str | None
    email: str | None
    deceased: bool


def _like_pattern(word: str) -> str:
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_clients_for(
    session: Session,
    actor: Actor,
    text: str,
    *,
    dob: date | None = None,
    limit: int = DEFAULT_SEARCH_LIMIT,
) -> list[ClientHit]:
    """`client search` as `actor` may do it, audited: a practitioner finds only their own
    clients, unless they give a reason, which searches everyone and flags the event."""

    from arkinctl.services.access import PRACTITIONER, related_client_ids
    from arkinctl.services.audit import record

    among = None
    glass = actor.role == PRACTITIONER and bool(actor.purpose)
    if actor.role == PRACTITIONER and not glass:
        today = actor.today or datetime.now(UTC).date()
        among = related_client_ids(actor.user_id or 0, today)
    hits = search_clients(session, text, dob=dob, limit=limit, among=among)
    if not hits:
        record(
            session,
            actor,
            action="client.search",
            action_code="E",
            object_type="search",
            object_id="0 result(s)",
            break_glass=glass,
        )
        return hits
    # One event per client shown: a search result discloses who they are, and the
    # client's own audit report must list it.
    from arkinctl.services.audit import event_values, lock_chain, record_many

    lock_chain(session)
    found = session.execute(
        select(Client.id, Client.client_number).where(
            Client.client_number.in_([h.client_number for h in hits])
        )
    ).all()
    record_many(
        session,
        [
            event_values(
                actor,
                action="client.search",
                action_code="E",
                client=row,
                object_type="search",
                object_id=f"{len(hits)} result(s)",
                break_glass=glass,
            )
            for row in sorted(found, key=lambda r: r.client_number)
        ],
    )
    return hits


def search_clients(
    session: Session,
    text: str,
    *,
    dob: date | None = None,
    limit: int = DEFAULT_SEARCH_LIMIT,
    among: Select[int] | None = None,
) -> list[ClientHit]:
    """Clients whose name, number or e-mail contain every word of `text` (and whose id is
    in the subquery `among`, when given).

    Case- and accent-insensitive (both sides folded); `%` and `_` match themselves.
    """
    if len(text) > MAX_SEARCH_TEXT:
        raise InvalidInputError(
            f"the search text is longer than {MAX_SEARCH_TEXT} characters",
            hint="search for a name, a number or an e-mail address",
        )
    words = fold(text).split()
    if not words and dob is None:
        raise UsageError("give a name, number or e-mail to search for (or --dob)")
    query = select(Client)
    for word in words:
        query = query.where(Client.search_text.like(_like_pattern(word), escape="\\"))
    if dob is not None:
        query = query.where(Client.birth_date == dob)
    if among is not None:
        query = query.where(Client.id.in_(among))
    query = query.order_by(Client.id).limit(limit)
    return [
        ClientHit(
            client_number=c.client_number,
            name=c.display_name,
            birth_date=c.birth_date,
            birth_date_partial=c.birth_date_partial,
            email=c.email,
            deceased=c.deceased,
        )
        for c in session.scalars(query)
    ]


@dataclass(frozen=True)
class ClientSummary:
    """`client show`: who this is, in one screen. The JSON keys are a documented interface."""

    client_number: str
    name: str
    given_name: str | None
    name_prefix: str | None
    family_name: str | None
    bsn: str | None  # masked unless revealed
    bsn_revealed: bool
    birth_date: date | None
    birth_date_partial: str | None
    email: str | None
    phone: str | None
    unit: str | None
    deceased: bool
    deceased_date: date | None
    care_episodes: int
    sharing_enabled: bool
    sharing_changed_at: datetime | None
    sharing_changed_by: str | None
    sharing_reason: str | None
    account: dict[str, Any] | None
    other_accounts: list[dict[str, Any]]
    invitation: dict[str, Any] | None
    parts: dict[str, Any]
    open_tickets: list[dict[str, Any]]


def show_client(
    session: Session,
    ref: str,
    *,
    settings: Settings,
    actor: Actor,
    reveal: bool = False,
    now: datetime | None = None,
) -> ClientSummary:
    from arkinctl.services.audit import record
    from arkinctl.services.client_state import load_state
    from arkinctl.services.lookups import open_client

    client = open_client(session, ref, actor=actor, action="client.show")
    if reveal and client.bsn:
        record(
            session,
            actor,
            action="client.reveal_bsn",
            action_code="R",
            client=client,
            object_type="bsn",
            object_id=client.client_number,
        )
    state = load_state(session, client, settings=settings, now=now or datetime.now(UTC))
    counts = state.part_counts
    inv = state.latest_invitation
    return ClientSummary(
        client_number=client.client_number,
        name=client.display_name,
        given_name=client.given_name,
        name_prefix=client.name_prefix,
        family_name=client.family_name,
        bsn=client.bsn if reveal else mask_bsn(client.bsn),
        bsn_revealed=reveal and client.bsn is not None,
        birth_date=client.birth_date,
        birth_date_partial=client.birth_date_partial,
        email=client.email,
        phone=client.phone,
        unit=client.unit,
        deceased=client.deceased,
        deceased_date=client.deceased_date,
        care_episodes=state.episodes,
        sharing_enabled=client.sharing_enabled,
        sharing_changed_at=client.sharing_changed_at,
        sharing_changed_by=client.sharing_changed_by,
        sharing_reason=client.sharing_reason,
        account=asdict(state.account) if state.account else None,
        other_accounts=[asdict(a) for a in state.accounts[1:]],
        invitation=asdict(inv) if inv else None,
        parts={
            "total": state.total_parts,
            "shared": state.shared_parts,
            "not_shared": state.total_parts - state.shared_parts,
            "before_cutoff": counts.get("before_cutoff", 0),
            "by_reason": counts,
        },
        open_tickets=[asdict(t) for t in state.open_tickets],
    )
