"""The e-mail outbox: messages are queued in the same transaction as the change that causes
them (an invitation, a ticket), and `outbox deliver` sends them later.

So a rolled-back change never sends mail, and a committed one is never lost. Every message
gets its Message-ID when queued, so a receiver can recognise a duplicate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from sqlalchemy.orm import Session

from arkinctl.config import MailSettings
from arkinctl.db.models import OutboxMessage
from arkinctl.errors import InvalidInputError
from arkinctl.services.email_address import ascii_address

OUTBOX_STATUSES = ("queued", "sending", "sent", "failed", "uncertain", "cancelled")


@dataclass(frozen=True)
class Mail:
    recipient: str
    recipient_name: str | None
    subject: str
    body: str


def new_message_id(mail: MailSettings) -> str:
    return make_msgid(idstring="arkinctl", domain=_message_id_domain(mail))


def message_id_parts(mail: MailSettings) -> tuple[str, str]:
    """Head and tail of the Message-IDs of e-mails queued in SQL, which puts the message's
    own number and a random number between them (unique in the database by the number,
    across databases by the random part and the time)."""
    import os
    import time

    return f"<{int(time.time() * 100)}.{os.getpid()}.", f".arkinctl@{_message_id_domain(mail)}>"


def _message_id_domain(mail: MailSettings) -> str:
    if mail.problem:  # every queued e-mail passes here: none is made from bad settings
        raise InvalidInputError(mail.problem)
    return ascii_address(mail.from_address).rpartition("@")[2] or "localhost"


def enqueue(
    session: Session,
    mail: Mail,
    *,
    purpose: str,
    settings: MailSettings,
    invitation_id: int | None = None,
    ticket_id: int | None = None,
) -> OutboxMessage:
    """Queue `mail` in the caller's transaction; it is sent once that commits."""
    message = OutboxMessage(
        message_id=new_message_id(settings),
        purpose=purpose,
        invitation_id=invitation_id,
        ticket_id=ticket_id,
        recipient=mail.recipient,
        recipient_name=mail.recipient_name,
        subject=mail.subject,
        body=mail.body,
        status="queued",
        attempts=0,
        next_attempt_at=datetime.now(UTC),
    )
    session.add(message)
    return message


def build_email(message: OutboxMessage, settings: MailSettings) -> EmailMessage:
    """The RFC 5322 message: UTF-8 subject, names and body; addresses in ASCII form."""
    email = EmailMessage()
    email["Message-ID"] = message.message_id
    email["Date"] = format_datetime(message.created_at or datetime.now(UTC))
    email["From"] = Address(addr_spec=ascii_address(settings.from_address))
    email["To"] = Address(
        display_name=message.recipient_name or "", addr_spec=ascii_address(message.recipient)
    )
    email["Subject"] = message.subject
    email["Auto-Submitted"] = "auto-generated"
    email.set_content(message.body, charset="utf-8", cte="quoted-printable")
    return email
