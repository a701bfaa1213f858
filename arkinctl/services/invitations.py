"""Invitations to the portal (DESIGN section 4.3): send, resend, withdraw, list, batches.

One path does the work for a single `invite send` and for every chunk of `invite batch`:
load the facts of the chunk's clients with a few set-based queries, decide per client,
then write the invitations, their e-mails (the outbox) and the audit events in bulk, in
one transaction. The chain lock is taken first, so two batches over the same clients take
turns per chunk and the second sees what the first invited; the partial unique index on
live invitations makes a second live invitation for a client impossible in any case.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from arkinctl.config import Settings
from arkinctl.db.bulk import bulk_insert, one_of, reserve_ids, supports_reserved_ids
from arkinctl.db.models import (
    LIVE_INVITATION_STATUSES,
    NO_NAME,
    CareEpisode,
    Client,
    Invitation,
    OutboxMessage,
    PortalAccount,
    person_name,
)
from arkinctl.errors import InvalidInputError
from arkinctl.services.access import checked_first, staff_only
from arkinctl.services.audit import Actor, event_values, lock_chain, record_many
from arkinctl.services.email_address import normalise_email, same_address
from arkinctl.services.outbox import Mail, new_message_id

# Results of one client's invitation, as `invite send` reports and `invite batch` lists them.
SENT, WOULD_SEND, SKIPPED, FAILED = "sent", "would_send", "skipped", "failed"
INVITATION_STATUSES = (
    "queued",
    "sent",
    "accepted",
    "expired",
    "withdrawn",
    "bounced",
    "failed",
    "superseded",
)
CHUNK_SIZE = 500
# On PostgreSQL most rows go the set-based way (invitation_bulk): larger chunks, fewer
# statements; a crash still loses at most one chunk, which a rerun redoes.
BULK_CHUNK_SIZE = 2000


@dataclass(frozen=True)
class SendOptions:
    resend: bool = False  # supersede a live invitation older than the resend window
    force: bool = False  # ... also a younger one
    dry_run: bool = False
    batch_id: str | None = None


@dataclass
class Outcome:
    """What happened (or, in a dry run, would happen) for one client."""

    client_number: str | None
    result: str  # sent | would_send | skipped | failed
    reason: str | None = None
    invitation_id: int | None = None
    email: str | None = None
    expires_at: datetime | None = None
    supersedes: int | None = None
    note: str | None = None
    line: int | None = None  # the CSV line, in a batch


@dataclass(frozen=True)
class _ClientFacts:
    """What a decision needs of a client: read as plain columns (no ORM objects), since a
    batch reads 500 at a time."""

    id: int
    client_number: str
    deceased: bool
    email: str | None
    display_name: str


@dataclass
class _Facts:
    client: _ClientFacts
    treated: bool
    account_statuses: list[str]
    invitations: list[Invitation]  # oldest first

    @property
    def latest(self) -> Invitation | None:
        return self.invitations[-1] if self.invitations else None

    def live(self, now: datetime) -> Invitation | None:
        return next(
            (
                i
                for i in reversed(self.invitations)
                if i.status in LIVE_INVITATION_STATUSES and i.expires_at > now
            ),
            None,
        )


@dataclass
class _Request:
    client_number: str
    email: str | None = None  # given with --email or in the batch file
    line: int | None = None


@dataclass
class _Plan:
    facts: _Facts
    request: _Request
    email: str
    supersede: Invitation | None
    note: str | None


# ---- deciding ------------------------------------------------------------------------------


def _refusal(facts: _Facts, now: datetime, options: SendOptions, settings: Settings) -> str | None:
    """Why this client gets no invitation now, or None when they may get one."""
    client = facts.client
    if client.deceased:
        return "the client is deceased"
    if not facts.treated:
        return "the client has never been treated (no care episode): access starts after that"
    if "active" in facts.account_statuses:
        return "the client already has an active portal account"
    for status in ("blocked", "deactivated"):
        if status in facts.account_statuses:
            return (
                f"the client's portal account is {status}: the technical department must "
                "reactivate it (a new invitation would not help)"
            )
    live = facts.live(now)
    if live is None:
        return None
    if options.batch_id and live.batch_id == options.batch_id:
        # A rerun of the same batch (after a crash, or twice by mistake) never replaces
        # what the batch itself made, not even with --force.
        return f"already invited by this batch (invitation #{live.id})"
    since = (live.sent_at or live.created_at).astimezone(settings.timezone)
    if not (options.resend or options.force):
        return (
            f"a live invitation (#{live.id}, {live.status} {since:%Y-%m-%d}, valid until "
            f"{live.expires_at.astimezone(settings.timezone):%Y-%m-%d}) is waiting; "
            "use --resend to replace it"
        )
    age = now - (live.sent_at or live.created_at)
    if not options.force and age < timedelta(days=settings.resend_after_days):
        return (
            f"the live invitation #{live.id} is only {age.days} day(s) old and the portal "
            f"reminds the client on days 3 and 7; resend after {settings.resend_after_days} "
            "days, or use --force"
        )
    return None


def _email_for(facts: _Facts, request: _Request) -> str:
    given = request.email or facts.client.email
    if not given:
        raise InvalidInputError(
            "the client has no e-mail address in the record; give one with --email "
            "(or an email column)"
        )
    what = "the given e-mail address" if request.email else "the record's e-mail address"
    return normalise_email(given, what=what)


# ---- loading facts ---------------------------------------------------------------------------


def _load_facts(session: Session, numbers: Sequence[str]) -> dict[str, _Facts]:
    rows = session.execute(
        select(
            Client.id,
            Client.client_number,
            Client.deceased,
            Client.email,
            Client.given_name,
            Client.name_prefix,
            Client.family_name,
            Client.name_text,
        ).where(one_of(session, Client.client_number, numbers))
    ).all()
    if not rows:
        return {}
    clients = [
        _ClientFacts(
            id=r.id,
            client_number=r.client_number,
            deceased=bool(r.deceased),
            email=r.email,
            display_name=person_name(r.given_name, r.name_prefix, r.family_name, r.name_text),
        )
        for r in rows
    ]
    ids = [c.id for c in clients]
    treated = set(
        session.scalars(
            select(CareEpisode.client_id)
            .where(one_of(session, CareEpisode.client_id, ids))
            .distinct()
        )
    )
    statuses: dict[str, list[str]] = {}
    for number, status in session.execute(
        select(PortalAccount.identification_number, PortalAccount.status).where(
            one_of(session, PortalAccount.identification_number, numbers)
        )
    ):
        statuses.setdefault(number or "", []).append(status)
    invitations: dict[int, list[Invitation]] = {}
    for inv in session.scalars(
        select(Invitation).where(one_of(session, Invitation.client_id, ids)).order_by(Invitation.id)
    ):
        invitations.setdefault(inv.client_id, []).append(inv)
    return {
        c.client_number: _Facts(
            client=c,
            treated=c.id in treated,
            account_statuses=statuses.get(c.client_number, []),
            invitations=invitations.get(c.id, []),
        )
        for c in clients
    }


# ---- the mail --------------------------------------------------------------------------------


NOBODY = "cliënt"  # the salutation when the record has no name


def invitation_mail(
    display_name: str, email: str, expires_at: datetime, settings: Settings
) -> Mail:
    """The invitation e-mail, in Dutch. Never a BSN, a date of birth or clinical text."""
    name = display_name if display_name != NO_NAME else None
    valid_until = expires_at.astimezone(settings.timezone).strftime("%d-%m-%Y %H:%M")
    where = (
        f"Ga naar {settings.mail.portal_url} en maak uw account aan met dit e-mailadres."
        if settings.mail.portal_url
        else "Maak uw account aan via de link in het cliëntportaal, met dit e-mailadres."
    )
    body = (
        f"Beste {name or NOBODY},\n\n"
        "U bent uitgenodigd voor het cliëntportaal (Karify). Daar leest u delen van uw eigen "
        "dossier.\n\n"
        f"{where}\n"
        "Vul bij het aanmaken uw geboortedatum in zoals die bij ons bekend is; anders kan het "
        "portaal uw dossier niet aan u koppelen.\n\n"
        f"Deze uitnodiging is geldig tot {valid_until}. Na 3 en 7 dagen krijgt u een "
        "herinnering.\n\n"
        "Heeft u deze uitnodiging niet verwacht? Neem dan contact op met uw behandelaar.\n\n"
        "Met vriendelijke groet,\nHet secretariaat\n"
    )
    return Mail(
        recipient=email,
        recipient_name=name,
        subject="Uitnodiging voor het cliëntportaal",
        body=body,
    )


# ---- doing -----------------------------------------------------------------------------------


def _plan(
    facts: _Facts, request: _Request, now: datetime, options: SendOptions, settings: Settings
) -> _Plan | Outcome:
    number = facts.client.client_number
    refusal = _refusal(facts, now, options, settings)
    if refusal is not None:
        return Outcome(number, SKIPPED, refusal, line=request.line)
    try:
        email = _email_for(facts, request)
    except InvalidInputError as exc:
        return Outcome(number, FAILED, exc.message, line=request.line)
    latest = facts.latest
    note = None
    if latest is not None and not same_address(latest.email, email):
        note = "the e-mail address changed since the last invitation; this one goes to the new one"
    return _Plan(facts, request, email, facts.live(now), note)


def _process(
    session: Session,
    requests: Sequence[_Request],
    *,
    settings: Settings,
    actor: Actor,
    options: SendOptions,
    now: datetime,
    seen: dict[str, int | None],
) -> list[Outcome]:
    """Decide and (unless a dry run) invite for one chunk, in the caller's transaction."""
    from arkinctl.services import invitation_bulk

    lock_chain(session)  # before any row is read: see the docstring of this module
    action = "invite.batch" if options.batch_id else "invite.send"
    outcomes: list[Outcome] = []
    audit: list[tuple[int, dict[str, Any]]] = []
    rest = requests
    if options.batch_id and not options.dry_run and invitation_bulk.applies(session):
        expires = now + timedelta(days=settings.invitation_expiry_days)
        quick = invitation_bulk.queue_quick_rows(
            session,
            [invitation_bulk.Request(r.line or 0, r.client_number, r.email) for r in requests],
            settings=settings,
            requested_by=actor.username,
            batch_id=options.batch_id,
            now=now,
            expires=expires,
        )
        for q in quick:
            seen[q.client_number] = q.line
            outcomes.append(
                Outcome(
                    q.client_number,
                    SENT,
                    invitation_id=q.invitation_id,
                    email=q.email,
                    expires_at=expires,
                    line=q.line,
                )
            )
            audit.append(
                (
                    q.line,
                    event_values(
                        actor,
                        action=action,
                        action_code="C",
                        client=q,
                        object_type="invitation",
                        object_id=str(q.invitation_id),
                        occurred_at=now,
                    ),
                )
            )
        done = {q.line for q in quick}
        rest = [r for r in requests if r.line not in done]
    decided, decided_audit = _decide(
        session, rest, settings=settings, actor=actor, options=options, now=now, seen=seen
    )
    outcomes += decided
    audit += decided_audit
    audit.sort(key=lambda pair: pair[0])
    record_many(session, [values for _, values in audit])
    return sorted(outcomes, key=lambda o: o.line or 0)


def _decide(
    session: Session,
    requests: Sequence[_Request],
    *,
    settings: Settings,
    actor: Actor,
    options: SendOptions,
    now: datetime,
    seen: dict[str, int | None],
) -> tuple[list[Outcome], list[tuple[int, dict[str, Any]]]]:
    """The row-by-row way: load the facts, weigh each request, write what is to be written.
    Returns the outcomes and the audit events (by line), which the caller records."""
    if not requests:
        return [], []
    facts = _load_facts(session, list(dict.fromkeys(r.client_number for r in requests)))
    outcomes: list[Outcome | None] = []
    plans: list[tuple[int, _Plan]] = []
    audit: list[tuple[int, dict[str, Any]]] = []
    action = "invite.batch" if options.batch_id else "invite.send"
    for request in requests:
        number = request.client_number
        if number in seen:
            where = f" (line {seen[number]})" if seen[number] else ""
            outcomes.append(
                Outcome(number, SKIPPED, f"already in this batch{where}", line=request.line)
            )
            continue
        seen[number] = request.line
        found = facts.get(number)
        if found is None:
            outcomes.append(
                Outcome(number, FAILED, "no client has this client number", line=request.line)
            )
            continue
        planned = _plan(found, request, now, options, settings)
        writes = isinstance(planned, _Plan) and not options.dry_run
        audit.append(
            (
                request.line or 0,
                event_values(
                    actor,
                    action=action,
                    action_code="C" if writes else "R",
                    client=found.client,
                    object_type="invitation",
                    outcome="ok" if isinstance(planned, _Plan) else "refused",
                    occurred_at=now,
                ),
            )
        )
        if isinstance(planned, Outcome):
            outcomes.append(planned)
        else:
            plans.append((len(outcomes), planned))
            outcomes.append(None)

    if options.dry_run:
        for index, plan in plans:
            outcomes[index] = Outcome(
                plan.facts.client.client_number,
                WOULD_SEND,
                "would supersede a live invitation" if plan.supersede else None,
                email=plan.email,
                expires_at=now + timedelta(days=settings.invitation_expiry_days),
                supersedes=plan.supersede.id if plan.supersede else None,
                note=plan.note,
                line=plan.request.line,
            )
    elif plans:
        _write(session, plans, outcomes, settings=settings, actor=actor, options=options, now=now)
        # Only the rows that made one: a repeat of the client later in the chunk must not
        # wipe the id off the first row's event.
        made = {
            o.client_number: o.invitation_id
            for o in outcomes
            if o is not None and o.invitation_id is not None
        }
        for _, values in audit:
            if values["action_code"] == "C" and made.get(values["client_number"]):
                values["object_id"] = str(made[values["client_number"]])
    return [o for o in outcomes if o is not None], audit


def _write(
    session: Session,
    plans: Sequence[tuple[int, _Plan]],
    outcomes: list[Outcome | None],
    *,
    settings: Settings,
    actor: Actor,
    options: SendOptions,
    now: datetime,
) -> None:
    # A live invitation must leave the live states before its successor is inserted (the
    # partial unique index), and one past its expiry is marked so.
    for _, plan in plans:
        for inv in plan.facts.invitations:
            if inv.status in LIVE_INVITATION_STATUSES:
                inv.status = "superseded" if inv is plan.supersede else "expired"
    session.flush()
    expires = now + timedelta(days=settings.invitation_expiry_days)
    rows = [
        {
            "client_id": plan.facts.client.id,
            "email": plan.email,
            "status": "queued",
            "created_at": now,
            "expires_at": expires,
            "attempts": 0,
            "requested_by": actor.username,
            "batch_id": options.batch_id,
        }
        for _, plan in plans
    ]
    if supports_reserved_ids(session):
        new_ids = reserve_ids(session, Invitation.__table__, len(rows))  # type: ignore[arg-type]
        bulk_insert(
            session,
            Invitation.__table__,  # type: ignore[arg-type]
            [{"id": i, **row} for i, row in zip(new_ids, rows, strict=True)],
        )
    else:
        new_ids = list(
            session.scalars(
                insert(Invitation).returning(Invitation.id, sort_by_parameter_order=True), rows
            )
        )
    superseded = {
        plan.supersede.id: new_id
        for (_, plan), new_id in zip(plans, new_ids, strict=True)
        if plan.supersede is not None
    }
    for (_, plan), new_id in zip(plans, new_ids, strict=True):
        if plan.supersede is not None:
            plan.supersede.superseded_by_id = new_id
            plan.supersede.status_reason = f"superseded by invitation #{new_id}"
    if superseded:
        # The old invitation's e-mail, if still unsent, must not go out after the new one.
        session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.invitation_id.in_(list(superseded)),
                OutboxMessage.status == "queued",
            )
            .values(status="cancelled", last_error="invitation superseded")
        )
    messages = []
    for (index, plan), new_id in zip(plans, new_ids, strict=True):
        mail = invitation_mail(plan.facts.client.display_name, plan.email, expires, settings)
        messages.append(
            {
                "message_id": new_message_id(settings.mail),
                "purpose": "invitation",
                "invitation_id": new_id,
                "recipient": mail.recipient,
                "recipient_name": mail.recipient_name,
                "subject": mail.subject,
                "body": mail.body,
                "status": "queued",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
        )
        outcomes[index] = Outcome(
            plan.facts.client.client_number,
            SENT,
            None,
            invitation_id=new_id,
            email=plan.email,
            expires_at=expires,
            supersedes=plan.supersede.id if plan.supersede else None,
            note=plan.note,
            line=plan.request.line,
        )
    bulk_insert(session, OutboxMessage.__table__, messages)  # type: ignore[arg-type]


# ---- the entry points ------------------------------------------------------------------------


def send_invitation(
    session: Session,
    client: Client,
    *,
    email: str | None,
    settings: Settings,
    actor: Actor,
    options: SendOptions,
    now: datetime,
) -> Outcome:
    """Invite one client (already resolved); the outcome says if it was refused and why."""
    request = _Request(client.client_number, email=email)
    return _process(
        session, [request], settings=settings, actor=actor, options=options, now=now, seen={}
    )[0]


@dataclass
class BatchRow:
    line: int
    client_number: str | None
    email: str | None
    problem: str | None = None


@dataclass
class BatchSummary:
    batch_id: str
    dry_run: bool
    total: int = 0
    counts: dict[str, int] = field(
        default_factory=lambda: {SENT: 0, WOULD_SEND: 0, SKIPPED: 0, FAILED: 0}
    )

    def add(self, outcome: Outcome) -> None:
        self.total += 1
        self.counts[outcome.result] += 1

    @property
    def failed(self) -> int:
        return self.counts[FAILED]


@checked_first
def run_batch(
    factory: sessionmaker[Session],
    rows: Iterable[BatchRow],
    *,
    settings: Settings,
    actor: Actor,
    options: SendOptions,
    now: Callable[[], datetime],
    chunk_size: int | None = None,
) -> Iterator[Outcome]:
    """Invite the clients `rows` name, yielding each row's outcome in file order.

    One transaction per chunk: a crash loses at most the chunk in progress, and a rerun
    skips what is done (those clients have a live invitation by then).

    Memory stays flat whatever the file's length: a client named twice is found within a
    chunk by the chunk's own list, and across chunks by the database (the live invitation
    this batch made). Only a dry run, which writes nothing, remembers every client.
    """
    staff_only(actor, "an invitation batch")
    remembered: dict[str, int | None] = {}
    if chunk_size is None:
        bind = factory.kw.get("bind")
        bulk = bind is not None and bind.dialect.name == "postgresql" and not options.dry_run
        chunk_size = BULK_CHUNK_SIZE if bulk else CHUNK_SIZE
    for chunk in _chunks(rows, chunk_size):
        seen = remembered if options.dry_run else {}
        outcomes: list[Outcome] = []
        requests = []
        for row in chunk:
            if row.problem is not None or not row.client_number:
                reason = row.problem or "no client number on this row"
                outcomes.append(Outcome(row.client_number, FAILED, reason, line=row.line))
            else:
                requests.append(_Request(row.client_number, email=row.email, line=row.line))
        if requests:
            with factory.begin() as session:
                outcomes += _process(
                    session,
                    requests,
                    settings=settings,
                    actor=actor,
                    options=options,
                    now=now(),
                    seen=seen,
                )
        yield from sorted(outcomes, key=lambda o: o.line or 0)


def after_batch(factory: sessionmaker[Session]) -> None:
    """Fresh planner statistics once a batch has written many invitations and e-mails."""
    from arkinctl.db.bulk import refresh_statistics

    with factory.begin() as session:
        refresh_statistics(session, Invitation.__table__, OutboxMessage.__table__)  # type: ignore[arg-type]


def _chunks(rows: Iterable[BatchRow], size: int) -> Iterator[list[BatchRow]]:
    chunk: list[BatchRow] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def withdraw_invitation(
    session: Session, client: Client, *, reason: str | None, actor: Actor, now: datetime
) -> Invitation | None:
    """End the client's live invitation (None: there is none); its e-mail, if still unsent,
    is cancelled. The attempt is audited either way."""
    from arkinctl.services.audit import record

    lock_chain(session)
    live = session.scalars(
        select(Invitation)
        .where(
            Invitation.client_id == client.id,
            Invitation.status.in_(LIVE_INVITATION_STATUSES),
        )
        .order_by(Invitation.id.desc())
    ).first()
    record(
        session,
        actor,
        action="invite.withdraw",
        action_code="U",
        client=client,
        object_type="invitation",
        object_id=str(live.id) if live else None,
        outcome="ok" if live is not None and live.expires_at > now else "refused",
    )
    if live is None or live.expires_at <= now:
        return None
    live.status = "withdrawn"
    live.withdrawn_at = now
    live.withdrawn_by = actor.username
    live.status_reason = (reason or "withdrawn").strip()[:500] or "withdrawn"
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.invitation_id == live.id, OutboxMessage.status == "queued")
        .values(status="cancelled", last_error="invitation withdrawn")
    )
    session.flush()
    return live


# `invite batch` files: client_number and an optional email; `invite pending --format csv`
# writes name and last_invitation too, read here and ignored.
BATCH_COLUMNS: dict[str, tuple[str, ...]] = {
    "client_number": ("cliëntnummer", "clientnr", "client_id", "identification_number"),
    "email": ("e-mail", "e-mailadres", "email_address"),
    "name": ("naam",),
    "last_invitation": ("laatste uitnodiging",),
}


@dataclass
class BatchFile:
    notes: list[str]
    rows: Iterator[BatchRow]
    count: Callable[[], int]  # the number of data rows (reads the file once more)


def default_batch_id(data: bytes) -> str:
    """`B-` and a hash of the file's text, its line endings, BOM, encoding and blank lines
    aside: saving the same list again (or piping it) is the same batch."""
    import hashlib

    from arkinctl.services.csv_reader import decode

    text = decode(data)[0]
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return f"B-{hashlib.sha256(chr(10).join(lines).encode()).hexdigest()[:16]}"


def read_batch_file(data: bytes) -> BatchFile:
    """The rows of an `invite batch` CSV; a bad file raises InvalidInputError before any
    row is read, a bad row comes out with its `problem`."""
    from arkinctl.services.csv_reader import read_csv

    table = read_csv(data, columns=BATCH_COLUMNS, required=("client_number",))

    def rows() -> Iterator[BatchRow]:
        for record in table.records():
            number = record.values.get("client_number") or None
            email = record.values.get("email") or None
            yield BatchRow(record.line, number, email, record.problem)

    return BatchFile(table.notes, rows(), lambda: sum(1 for _ in table.records()))


def accept_for_active_accounts(session: Session, *, now: datetime) -> int:
    """Live invitations of clients who now have an active portal account are `accepted`;
    their e-mail, if still queued, is cancelled at the next delivery run. Returns how many."""
    active = (
        select(Client.id)
        .join(PortalAccount, PortalAccount.identification_number == Client.client_number)
        .where(PortalAccount.status == "active")
    )
    result = session.execute(
        update(Invitation)
        .where(Invitation.status.in_(LIVE_INVITATION_STATUSES), Invitation.client_id.in_(active))
        .values(
            status="accepted",
            accepted_at=now,
            status_reason="the client has an active portal account",
        )
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
