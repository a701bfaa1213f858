"""Delivering the outbox (DESIGN 4.3): claim queued messages, send them over SMTP, mark them.

What keeps one message from going out twice:

- A deliverer *claims* a message (status `sending`, who, when) and commits the claim before
  it talks to the mail server. PostgreSQL reads the candidates with `FOR UPDATE SKIP
  LOCKED`; on SQLite every transaction begins IMMEDIATE (the write lock). Either way two
  deliverers never claim one message.
- Messages are claimed one at a time (the next claim goes in the transaction that marks
  the previous message), so a deliverer that dies leaves at most the one message it was
  handing over in `sending`; one it holds but cannot send (the server went away) is queued
  again. The next run after the claim timeout marks it
  `uncertain` (the server may have accepted it); nothing resends it until a person decides
  (`requeue` or `cancel`).
- A connection that breaks after the whole message was handed over, before the server
  answered, also makes it `uncertain`. Before that point a failure is safe to retry.
- Marks are guarded by the claim (who and when): a message a person changed meanwhile is
  left as they left it.

Lock order, as everywhere: the audit chain lock first (only in transactions that audit), then
rows. Claims take row locks only and never wait for the chain lock.

Reasons stored in `last_error` and on invitations are short and never carry the message
body; e-mail addresses a server quotes in its reply are blanked out. The SMTP side (the
connection, and what each answer means) is `smtp_session`.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Exists, and_, exists, func, not_, or_, select
from sqlalchemy.orm import Session, sessionmaker

from arkinctl.config import MailSettings
from arkinctl.db.models import Client, Invitation, OutboxMessage, Ticket
from arkinctl.errors import InvalidInputError
from arkinctl.services.access import staff_only
from arkinctl.services.audit import Actor, lock_chain, record
from arkinctl.services.email_address import ascii_address
from arkinctl.services.outbox import OUTBOX_STATUSES
from arkinctl.services.smtp_session import MailServer, Outcome, ServerError, server_name

# `outbox list` (JSON fields, a stable interface; CSV columns in this order).
MESSAGE_FIELDS = (
    "id",
    "message_id",
    "purpose",
    "invitation_id",
    "ticket_id",
    "recipient",
    "subject",
    "status",
    "attempts",
    "next_attempt_at",
    "last_error",
    "created_at",
    "sent_at",
)
# One row per message handled by `outbox deliver`.
DELIVERY_FIELDS = (
    "id",
    "message_id",
    "purpose",
    "invitation_id",
    "recipient",
    "status",
    "attempts",
    "next_attempt_at",
    "error",
)
# One row per message of `outbox requeue` / `outbox cancel`.
CHANGE_FIELDS = ("id", "previous", "status", "changed", "reason", "note")

DEFAULT_LIMIT = 100
# Backoff never waits longer than this between two attempts.
MAX_BACKOFF = timedelta(days=1)
DELIVERY_STATUSES = ("sent", "queued", "failed", "uncertain", "cancelled")


@dataclass(frozen=True)
class Delivery:
    """What became of one message in this run."""

    id: int
    message_id: str
    purpose: str
    invitation_id: int | None
    recipient: str
    status: str  # sent | queued (tried again later) | failed | uncertain | cancelled
    attempts: int
    next_attempt_at: datetime | None
    error: str | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class DeliveryRun:
    """The result of one `outbox deliver`."""

    server: str  # host:port
    results: list[Delivery] = field(default_factory=list)
    # The mail server could not be used at all (unreachable, TLS, login, sender refused):
    # the one-line reason, and the messages that were put back without being tried.
    server_error: str | None = None
    deferred: list[Delivery] = field(default_factory=list)
    remaining: int = 0  # still due when the run stopped at its limit

    @property
    def all(self) -> list[Delivery]:
        return [*self.results, *self.deferred]

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(DELIVERY_STATUSES, 0)
        for d in self.all:
            counts[d.status] = counts.get(d.status, 0) + 1
        return counts

    @property
    def complete(self) -> bool:
        """Everything handled went out (or was rightly cancelled); nothing waits or failed."""
        return self.server_error is None and all(
            d.status in ("sent", "cancelled") for d in self.all
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "server": self.server,
            "results": [d.as_dict() for d in self.all],
            "summary": {"total": len(self.all), **self.counts()},
            "server_error": self.server_error,
            "remaining": self.remaining,
        }


@dataclass(frozen=True)
class MessageRow:
    id: int
    message_id: str
    purpose: str
    invitation_id: int | None
    ticket_id: int | None
    recipient: str
    subject: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Change:
    """One message of `requeue` / `cancel`: changed, or why not."""

    id: int
    previous: str | None  # None: no such message
    status: str | None
    changed: bool
    reason: str | None = None
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _Claimed:
    """A claimed message, as read when it was claimed."""

    id: int
    message_id: str
    purpose: str
    invitation_id: int | None
    ticket_id: int | None
    recipient: str
    recipient_name: str | None
    subject: str
    body: str
    created_at: datetime
    claimed_by: str
    claimed_at: datetime

    def as_message(self) -> OutboxMessage:
        """A detached copy for building the e-mail (never added to a session)."""
        return OutboxMessage(
            id=self.id,
            message_id=self.message_id,
            purpose=self.purpose,
            recipient=self.recipient,
            recipient_name=self.recipient_name,
            subject=self.subject,
            body=self.body,
            created_at=self.created_at,
        )


def _utcnow() -> datetime:
    return datetime.now(UTC)


def claimer_name() -> str:
    """Who claims: host and process id, so a stale claim names the deliverer that died."""
    return f"{socket.gethostname()}:{os.getpid()}"[:200]


# ---- settings --------------------------------------------------------------------------------


def check_settings(mail: MailSettings) -> None:
    """Refuse to start without a mail server, or with a sender that cannot go over SMTP."""
    if mail.problem:
        raise InvalidInputError(mail.problem)
    if not mail.smtp_host:
        raise InvalidInputError(
            "no mail server is configured",
            hint="set ARKINCTL_SMTP_HOST in the environment or .env; ARKINCTL_SMTP_PORT, "
            "_SECURITY, _USER and _PASSWORD as needed",
        )
    try:
        sender = ascii_address(mail.from_address)
    except (InvalidInputError, ValueError):  # ValueError: email-validator refused it
        sender = ""
    local, _, domain = sender.rpartition("@")
    if not sender.isascii() or not local or not domain:
        raise InvalidInputError(
            "ARKINCTL_MAIL_FROM cannot be used as the sender address",
            hint="use a plain address such as no-reply@example.nl",
        )


# ---- the database side -----------------------------------------------------------------------


def _invitation_not_waiting(now: datetime) -> Exists:
    """The message's invitation no longer waits for it (not queued, or expired).

    Written as "there is such an invitation" so that a claim negates it into an anti-join:
    one index probe per candidate, where an OR with `invitation_id IS NULL` made PostgreSQL
    hash every invitation for every claim."""
    return (
        select(Invitation.id)
        .where(
            Invitation.id == OutboxMessage.invitation_id,
            not_(and_(Invitation.status == "queued", Invitation.expires_at > now)),
        )
        .correlate(OutboxMessage)
        .exists()
    )


def _due(due_by: datetime, now: datetime) -> ColumnElement[bool]:
    """Queued, its time has come, and (for an invitation) the invitation still waits for it."""
    return and_(
        OutboxMessage.status == "queued",
        or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= due_by),
        ~_invitation_not_waiting(now),
    )


def _claimable(due_by: datetime, now: datetime, limit: int) -> Any:
    return (
        select(OutboxMessage)
        .where(_due(due_by, now))
        .order_by(OutboxMessage.created_at, OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )


def claim(
    factory: sessionmaker[Session],
    *,
    limit: int,
    claimer: str | None = None,
    due_by: datetime | None = None,
    now: Callable[[], datetime] = _utcnow,
) -> list[_Claimed]:
    """Claim up to `limit` due messages, oldest first, and commit the claim."""
    at = now()
    with factory.begin() as session:
        return _claim_in(
            session, limit=limit, claimer=claimer or claimer_name(), due_by=due_by or at, at=at
        )


def _claim_in(
    session: Session, *, limit: int, claimer: str, due_by: datetime, at: datetime
) -> list[_Claimed]:
    """Claim in the caller's transaction (it commits the claim before anything is sent)."""
    claimed = []
    for m in session.scalars(_claimable(due_by, at, limit)).all():
        m.status = "sending"
        m.claimed_by = claimer
        m.claimed_at = at
        claimed.append(
            _Claimed(
                id=m.id,
                message_id=m.message_id,
                purpose=m.purpose,
                invitation_id=m.invitation_id,
                ticket_id=m.ticket_id,
                recipient=m.recipient,
                recipient_name=m.recipient_name,
                subject=m.subject,
                body=m.body,
                created_at=m.created_at,
                claimed_by=claimer,
                claimed_at=at,
            )
        )
    return claimed


def release(factory: sessionmaker[Session], claimed: _Claimed) -> None:
    """Give back a claim that was never handed to the server: queued again, as it was."""
    with factory.begin() as session:
        message = session.scalars(
            select(OutboxMessage)
            .where(
                OutboxMessage.id == claimed.id,
                OutboxMessage.claimed_by == claimed.claimed_by,
                OutboxMessage.claimed_at == claimed.claimed_at,
                OutboxMessage.status == "sending",
            )
            .with_for_update()
        ).one_or_none()
        if message is not None:
            message.status, message.claimed_by, message.claimed_at = "queued", None, None


def _client_id(session: Session, invitation_id: int | None, ticket_id: int | None) -> int | None:
    if invitation_id is not None:
        return session.scalar(select(Invitation.client_id).where(Invitation.id == invitation_id))
    if ticket_id is not None:
        return session.scalar(select(Ticket.client_id).where(Ticket.id == ticket_id))
    return None


def _audit(
    session: Session,
    actor: Actor,
    client_id: int | None,
    message_id: int,
    *,
    action: str,
    code: str,
    outcome: str,
) -> None:
    if client_id is None:
        return
    record(
        session,
        actor,
        action=action,
        action_code=code,
        client=session.get(Client, client_id),
        object_type="outbox_message",
        object_id=str(message_id),
        outcome=outcome,
    )


def _backoff(mail: MailSettings, attempts: int) -> timedelta:
    exponent = min(max(attempts - 1, 0), 30)
    return min(timedelta(seconds=mail.retry_base_seconds * 2**exponent), MAX_BACKOFF)


def _apply(
    session: Session,
    message: OutboxMessage,
    outcome: Outcome,
    *,
    mail: MailSettings,
    actor: Actor,
    client_id: int | None,
    at: datetime,
    counted: bool = False,
) -> Delivery:
    """Record one attempt's outcome on the message, its invitation and the audit trail
    (`counted`: the attempt was counted already). The caller holds the chain lock when
    `client_id` is set."""
    if not counted:
        message.attempts += 1
    error = outcome.reason
    if outcome.kind == "sent":
        message.status, message.sent_at, message.last_error = "sent", at, None
        message.next_attempt_at = None
    elif outcome.kind == "retry" and message.attempts < mail.max_attempts:
        message.status = "queued"
        message.next_attempt_at = at + _backoff(mail, message.attempts)
    elif outcome.kind == "uncertain":
        message.status = "uncertain"
        message.next_attempt_at = None
    else:
        message.status = "failed"
        message.next_attempt_at = None
        if outcome.kind == "retry":
            error = f"{error} (gave up after {message.attempts} attempts)"
    if error is not None:
        message.last_error = error[:500]
    if message.invitation_id is not None:
        invitation = session.get(Invitation, message.invitation_id, with_for_update=True)
        if invitation is not None:
            if not counted:
                invitation.attempts = (invitation.attempts or 0) + 1
            if invitation.status == "queued":
                if message.status == "sent":
                    invitation.status, invitation.sent_at = "sent", at
                    invitation.status_reason = None
                elif message.status == "failed":
                    invitation.status = "bounced" if outcome.kind == "bounced" else "failed"
                    invitation.status_reason = (error or "the e-mail could not be sent")[:500]
    _audit(
        session,
        actor,
        client_id,
        message.id,
        action="outbox.deliver",
        code="E",
        outcome="ok" if message.status == "sent" else "error",
    )
    return _delivery(message)


def _delivery(message: OutboxMessage) -> Delivery:
    return Delivery(
        id=message.id,
        message_id=message.message_id,
        purpose=message.purpose,
        invitation_id=message.invitation_id,
        recipient=message.recipient,
        status=message.status,
        attempts=message.attempts,
        next_attempt_at=message.next_attempt_at,
        error=message.last_error if message.status != "sent" else None,
    )


def _finish(
    factory: sessionmaker[Session],
    claimed: _Claimed,
    outcome: Outcome,
    *,
    mail: MailSettings,
    actor: Actor,
    now: Callable[[], datetime],
    claim_next: datetime | None = None,
) -> tuple[Delivery, _Claimed | None]:
    """Mark a claimed message after the attempt, in a new transaction; with `claim_next`
    (the run's due-by time), claim the next due message in that same transaction, which
    saves a commit per message. Lock order as everywhere: the chain, then rows."""
    with factory.begin() as session:
        client_id = _client_id(session, claimed.invitation_id, claimed.ticket_id)
        if client_id is not None:
            lock_chain(session)
        delivery = _mark(
            session, claimed, outcome, mail=mail, actor=actor, client_id=client_id, at=now()
        )
        following = None
        if claim_next is not None:
            at = now()
            got = _claim_in(session, limit=1, claimer=claimed.claimed_by, due_by=claim_next, at=at)
            following = got[0] if got else None
        return delivery, following


def _mark(
    session: Session,
    claimed: _Claimed,
    outcome: Outcome,
    *,
    mail: MailSettings,
    actor: Actor,
    client_id: int | None,
    at: datetime,
) -> Delivery:
    message = session.scalars(
        select(OutboxMessage)
        .where(
            OutboxMessage.id == claimed.id,
            OutboxMessage.claimed_by == claimed.claimed_by,
            OutboxMessage.claimed_at == claimed.claimed_at,
            # `uncertain`: another run timed the claim out; now we know better.
            OutboxMessage.status.in_(("sending", "uncertain")),
        )
        .with_for_update()
    ).one_or_none()
    if message is None:  # a person requeued or cancelled it meanwhile: theirs now
        current = session.get(OutboxMessage, claimed.id)
        if current is not None:
            return _delivery(current)
        return Delivery(  # deleted with its invitation or ticket
            id=claimed.id,
            message_id=claimed.message_id,
            purpose=claimed.purpose,
            invitation_id=claimed.invitation_id,
            recipient=claimed.recipient,
            status="cancelled",
            attempts=0,
            next_attempt_at=None,
            error="deleted while it was being sent",
        )
    return _apply(
        session,
        message,
        outcome,
        mail=mail,
        actor=actor,
        client_id=client_id,
        at=at,
        counted=message.status == "uncertain",  # a stale sweep counted this attempt
    )


def mark_stale(
    factory: sessionmaker[Session],
    mail: MailSettings,
    *,
    actor: Actor,
    now: Callable[[], datetime] = _utcnow,
) -> list[Delivery]:
    """Messages claimed longer ago than the claim timeout and never marked: their deliverer
    stopped between claim and mark, and the server may have accepted them. `uncertain`;
    never resent automatically."""
    at = now()
    cutoff = at - timedelta(seconds=mail.claim_timeout_seconds)
    stale = and_(
        OutboxMessage.status == "sending",
        or_(OutboxMessage.claimed_at.is_(None), OutboxMessage.claimed_at < cutoff),
    )
    with factory.begin() as session:
        if not session.scalar(select(exists().where(stale))):
            return []
        lock_chain(session)
        results = []
        for message in session.scalars(
            select(OutboxMessage)
            .where(stale)
            .order_by(OutboxMessage.id)
            .with_for_update(skip_locked=True)
        ).all():
            since = f" at {message.claimed_at:%Y-%m-%d %H:%M:%S} UTC" if message.claimed_at else ""
            reason = (
                f"claimed by {message.claimed_by or 'an unknown deliverer'}{since} and never "
                "marked: the deliverer stopped mid-send and the server may have accepted it; "
                "check the mail server's log, then `outbox requeue` or `outbox cancel`"
            )
            results.append(
                _apply(
                    session,
                    message,
                    Outcome("uncertain", reason),
                    mail=mail,
                    actor=actor,
                    client_id=_client_id(session, message.invitation_id, message.ticket_id),
                    at=at,
                )
            )
    return results


def cancel_orphans(
    factory: sessionmaker[Session], *, actor: Actor, now: Callable[[], datetime] = _utcnow
) -> list[Delivery]:
    """Queued invitation e-mails whose invitation no longer waits for them (withdrawn,
    superseded, expired while queued…): cancelled, with the reason."""
    at = now()
    orphan = and_(
        OutboxMessage.status == "queued",
        OutboxMessage.invitation_id.is_not(None),
        _invitation_not_waiting(at),
    )
    with factory.begin() as session:
        if not session.scalar(select(exists().where(orphan))):
            return []
        lock_chain(session)
        results = []
        rows = session.execute(
            select(OutboxMessage, Invitation.status, Invitation.expires_at, Invitation.client_id)
            .join(Invitation, Invitation.id == OutboxMessage.invitation_id)
            .where(orphan)
            .order_by(OutboxMessage.id)
            .with_for_update(of=OutboxMessage, skip_locked=True)
        ).all()
        for message, status, expires_at, client_id in rows:
            expired = status == "queued" and expires_at <= at
            why = "expired before it was sent" if expired else f"is {status}"
            message.status = "cancelled"
            message.last_error = f"not sent: invitation #{message.invitation_id} {why}"
            message.next_attempt_at = None
            _audit(
                session,
                actor,
                client_id,
                message.id,
                action="outbox.deliver",
                code="E",
                outcome="ok",
            )
            results.append(_delivery(message))
    return results


def _defer_due(
    factory: sessionmaker[Session],
    reason: str,
    *,
    limit: int,
    due_by: datetime,
    mail: MailSettings,
    actor: Actor,
    now: Callable[[], datetime],
) -> list[Delivery]:
    """The server cannot be used: every due message (up to `limit`) waits for a later run,
    with the reason. No attempt is counted: an outage or a wrong setting on our side says
    nothing about the message, and must not use up its attempts until it fails."""
    if limit <= 0:
        return []
    at = now()
    with factory.begin() as session:
        results = []
        for message in session.scalars(_claimable(due_by, at, limit)).all():
            message.last_error = reason[:500]
            message.next_attempt_at = at + _backoff(mail, 1)
            results.append(_delivery(message))
    return results


def _anything_due(factory: sessionmaker[Session], due_by: datetime, now: datetime) -> bool:
    with factory() as session:
        return bool(session.scalar(select(exists().where(_due(due_by, now)))))


def deliver(
    factory: sessionmaker[Session],
    mail: MailSettings,
    *,
    actor: Actor,
    limit: int = DEFAULT_LIMIT,
    claimer: str | None = None,
    on_result: Callable[[Delivery], None] | None = None,
    now: Callable[[], datetime] = _utcnow,
) -> DeliveryRun:
    """Send up to `limit` due messages over one SMTP connection, one claim at a time.

    First, stale claims become `uncertain` and e-mails of invitations that no longer wait
    are cancelled. A message tried in this run is not tried again in it (its next attempt
    lies after the run's start)."""
    staff_only(actor, "delivering e-mail")
    check_settings(mail)
    run = DeliveryRun(server=server_name(mail))
    run.results.extend(mark_stale(factory, mail, actor=actor, now=now))
    run.results.extend(cancel_orphans(factory, actor=actor, now=now))
    started = now()
    who = claimer or claimer_name()
    server = MailServer(mail)
    tried = 0
    held: _Claimed | None = None  # claimed, not yet handed to the server
    try:
        while tried < limit:
            if server.smtp is None:  # connect (again) before claiming, not after
                if held is None and not _anything_due(factory, started, now()):
                    break
                try:
                    server.connect()
                except ServerError as exc:
                    run.server_error = exc.message
                    break
            if held is None:
                got = claim(factory, limit=1, claimer=who, due_by=started, now=now)
                if not got:
                    break
                held = got[0]
            sending, held = held, None
            outcome = server.send(sending.as_message())
            tried += 1
            more = tried < limit and outcome.server is None
            result, held = _finish(
                factory,
                sending,
                outcome,
                mail=mail,
                actor=actor,
                now=now,
                claim_next=started if more else None,
            )
            run.results.append(result)
            if on_result is not None:
                on_result(result)
            if outcome.server is not None:
                run.server_error = outcome.server
                break
    finally:
        server.close()
        if held is not None:  # never handed over: safe to queue again, not uncertain
            release(factory, held)
    if run.server_error is not None:
        run.deferred = _defer_due(
            factory,
            run.server_error,
            limit=limit - tried,
            due_by=started,
            mail=mail,
            actor=actor,
            now=now,
        )
    if run.server_error is not None or tried >= limit:
        with factory() as session:
            run.remaining = (
                session.scalar(
                    select(func.count()).select_from(OutboxMessage).where(_due(started, now()))
                )
                or 0
            )
    return run


# ---- a person's decisions --------------------------------------------------------------------


def _load(session: Session, ids: Sequence[int]) -> dict[int, OutboxMessage]:
    usable = {i for i in ids if 0 < i < 2**63}  # larger ones cannot exist (BigInteger)
    rows = session.scalars(
        select(OutboxMessage).where(OutboxMessage.id.in_(usable)).with_for_update()
    ).all()
    return {m.id: m for m in rows}


def requeue(session: Session, ids: Sequence[int], *, actor: Actor, now: datetime) -> list[Change]:
    """Put `uncertain` or `failed` messages back in the queue (their attempts kept); a failed
    or bounced invitation they belong to waits for them again, unless it has expired or the
    client has another live invitation."""
    staff_only(actor, "requeueing e-mail")
    lock_chain(session)
    messages = _load(session, ids)
    changes = []
    for mid in dict.fromkeys(ids):
        message = messages.get(mid)
        if message is None:
            changes.append(Change(mid, None, None, False, "no such message"))
            continue
        previous = message.status
        if previous not in ("uncertain", "failed"):
            why = f"only uncertain or failed messages go back; this one is {previous}"
            changes.append(Change(mid, previous, previous, False, why))
            continue
        refusal = _revive_invitation(session, message, now)
        if refusal is not None:
            changes.append(Change(mid, previous, previous, False, refusal))
            continue
        message.status = "queued"
        message.next_attempt_at = now
        message.claimed_by = message.claimed_at = None
        client_id = _client_id(session, message.invitation_id, message.ticket_id)
        _audit(session, actor, client_id, mid, action="outbox.requeue", code="U", outcome="ok")
        changes.append(Change(mid, previous, "queued", True))
    session.flush()
    return changes


def _revive_invitation(session: Session, message: OutboxMessage, now: datetime) -> str | None:
    """Make the message's invitation wait for it again; the reason when it cannot."""
    if message.invitation_id is None:
        return None
    invitation = session.get(Invitation, message.invitation_id, with_for_update=True)
    if invitation is None:
        return None
    if invitation.expires_at <= now:
        return f"invitation #{invitation.id} has expired; send a new one with `invite send`"
    if invitation.status == "queued":
        return None
    if invitation.status not in ("failed", "bounced"):
        return f"invitation #{invitation.id} is {invitation.status}; nothing to send"
    other = session.scalar(
        select(Invitation.id).where(
            Invitation.client_id == invitation.client_id,
            Invitation.id != invitation.id,
            Invitation.status.in_(("queued", "sent")),
        )
    )
    if other is not None:
        return f"the client has a newer live invitation (#{other})"
    invitation.status = "queued"
    invitation.status_reason = None
    return None


def cancel(session: Session, ids: Sequence[int], *, actor: Actor, now: datetime) -> list[Change]:
    """Stop messages from being sent: queued, failed or uncertain ones become `cancelled`."""
    staff_only(actor, "cancelling e-mail")
    lock_chain(session)
    messages = _load(session, ids)
    changes = []
    for mid in dict.fromkeys(ids):
        message = messages.get(mid)
        if message is None:
            changes.append(Change(mid, None, None, False, "no such message"))
            continue
        previous = message.status
        if previous not in ("queued", "failed", "uncertain"):
            why = {
                "sending": "a deliverer is sending it right now",
                "sent": "it was sent",
                "cancelled": "it was already cancelled",
            }.get(previous, f"it is {previous}")
            changes.append(Change(mid, previous, previous, False, why))
            continue
        message.status = "cancelled"
        message.next_attempt_at = None
        message.last_error = f"cancelled by {actor.username} at {now:%Y-%m-%d %H:%M} UTC"
        note = None
        if message.invitation_id is not None:
            status = session.scalar(
                select(Invitation.status).where(Invitation.id == message.invitation_id)
            )
            if status == "queued":
                # Without its e-mail the invitation can never be accepted: not live any more.
                invitation = session.get(Invitation, message.invitation_id, with_for_update=True)
                assert invitation is not None
                invitation.status = "failed"
                invitation.status_reason = f"its e-mail was cancelled by {actor.username}"
                note = (
                    f"invitation #{message.invitation_id} is failed now; "
                    "`arkinctl invite send` makes a new one"
                )
        client_id = _client_id(session, message.invitation_id, message.ticket_id)
        _audit(session, actor, client_id, mid, action="outbox.cancel", code="U", outcome="ok")
        changes.append(Change(mid, previous, "cancelled", True, note=note))
    session.flush()
    return changes


def list_messages(
    session: Session, *, actor: Actor, status: str | None = None, limit: int | None = None
) -> list[MessageRow]:
    """Outbox messages, newest first. Audited as one read over many clients."""
    staff_only(actor, "listing the outbox")
    if status is not None and status not in OUTBOX_STATUSES:
        raise InvalidInputError(
            f"unknown outbox status '{status}'", hint=f"use {', '.join(OUTBOX_STATUSES)}"
        )
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc())
    if status is not None:
        query = query.where(OutboxMessage.status == status)
    if limit:
        query = query.limit(limit)
    record(session, actor, action="outbox.list", action_code="E", object_type="outbox_message")
    return [
        MessageRow(**{f: getattr(m, f) for f in MESSAGE_FIELDS}) for m in session.scalars(query)
    ]
