"""The set-based way through a chunk of `invite batch` on PostgreSQL, for the common row.

Most rows of a large batch name a treated, living client with no portal account and no
invitation at all: nothing to weigh, only to write. For those rows the checks are one query
over a temporary table of the chunk, and the invitations with their e-mails are one
statement, so the database does the per-row work instead of Python. Every other row (an
unknown client, a refusal, a resend, a repeat, an e-mail address that is not valid) goes the
row-by-row way of `invitations`, in the same transaction. Both ways give the same results,
rows and mails: `tests/services/test_invitation_bulk.py` compares them.

SQLite has no data-modifying CTEs and no performance goal; it always goes row by row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from arkinctl.config import Settings
from arkinctl.db.models import NO_NAME
from arkinctl.errors import InvalidInputError
from arkinctl.services.email_address import normalise_email

# Temporary tables live as long as the connection; ON COMMIT DELETE ROWS empties them for
# the next chunk without creating them again.
_ROWS_TABLE = """
CREATE TEMPORARY TABLE IF NOT EXISTS arkinctl_batch_rows (
    line integer NOT NULL, client_number text NOT NULL, email text
) ON COMMIT DELETE ROWS"""

_QUICK_TABLE = """
CREATE TEMPORARY TABLE IF NOT EXISTS arkinctl_batch_quick (
    line integer NOT NULL, client_id integer NOT NULL, client_number text NOT NULL,
    email text NOT NULL
) ON COMMIT DELETE ROWS"""

# A row is quick when it is the first of its client in the chunk and the client is alive,
# treated, without any portal account and never invited, and there is an address to use.
_CLASSIFY = """
INSERT INTO arkinctl_batch_quick (line, client_id, client_number, email)
SELECT b.line, c.id, c.client_number, coalesce(nullif(b.email, ''), nullif(c.email, ''))
FROM (
    SELECT line, client_number, email,
           row_number() OVER (PARTITION BY client_number ORDER BY line) AS nth
    FROM arkinctl_batch_rows
) AS b
JOIN clients AS c ON c.client_number = b.client_number
WHERE b.nth = 1
  AND NOT c.deceased
  AND coalesce(nullif(b.email, ''), nullif(c.email, '')) IS NOT NULL
  AND EXISTS (SELECT 1 FROM care_episodes AS e WHERE e.client_id = c.id)
  AND NOT EXISTS (
      SELECT 1 FROM portal_accounts AS a WHERE a.identification_number = c.client_number
  )
  AND NOT EXISTS (SELECT 1 FROM invitations AS i WHERE i.client_id = c.id)"""

# `person_name` in SQL: given name, prefix and family name, else the text form, else none.
_NAME = """coalesce(
    nullif(concat_ws(' ', nullif(c.given_name, ''), nullif(c.name_prefix, ''),
                     nullif(c.family_name, '')), ''),
    nullif(nullif(c.name_text, ''), :no_name))"""

_WRITE = f"""
WITH fixed (line, email) AS (
    SELECT * FROM unnest(CAST(:fixed_lines AS integer[]), CAST(:fixed_emails AS text[]))
), new AS (
    INSERT INTO invitations (client_id, email, status, created_at, expires_at, attempts,
                             requested_by, batch_id)
    SELECT q.client_id, coalesce(f.email, q.email), 'queued', :now, :expires, 0, :user, :batch
    FROM arkinctl_batch_quick AS q LEFT JOIN fixed AS f ON f.line = q.line
    WHERE q.line <> ALL(CAST(:invalid_lines AS integer[]))
    ORDER BY q.line
    RETURNING id, client_id, email
), mail AS (
    INSERT INTO outbox_messages (message_id, purpose, invitation_id, recipient, recipient_name,
                                 subject, body, status, attempts, next_attempt_at, created_at)
    SELECT :mid_head || new.id || '.' || floor(random() * 1e15)::bigint || :mid_tail,
           'invitation', new.id, new.email, n.name, :subject,
           replace(:body, :marker, coalesce(n.name, :nobody)), 'queued', 0, :now, :now
    FROM new JOIN (SELECT c.id, {_NAME} AS name FROM clients AS c) AS n ON n.id = new.client_id
)
SELECT q.line, q.client_id, q.client_number, new.id, new.email
FROM new JOIN arkinctl_batch_quick AS q ON q.client_id = new.client_id
ORDER BY q.line"""

# Stands for the client's name in the mail template; replaced in SQL.
_MARKER = "{{arkinctl:client-name}}"


@dataclass(frozen=True)
class Request:
    line: int
    client_number: str
    email: str | None


@dataclass(frozen=True)
class Queued:
    """One invitation the set-based way made, with its e-mail queued."""

    line: int
    client_id: int
    client_number: str
    invitation_id: int
    email: str

    @property
    def id(self) -> int:  # what an audit event records of the client (ClientKey)
        return self.client_id


def applies(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def queue_quick_rows(
    session: Session,
    requests: Sequence[Request],
    *,
    settings: Settings,
    requested_by: str,
    batch_id: str | None,
    now: datetime,
    expires: datetime,
) -> list[Queued]:
    """Invite the chunk's quick rows (see the module docstring), in the caller's
    transaction, which holds the chain lock; the caller takes every other row."""
    from arkinctl.services.invitations import NOBODY, invitation_mail
    from arkinctl.services.outbox import message_id_parts

    if not requests:
        return []
    mid_head, mid_tail = message_id_parts(settings.mail)
    session.execute(text(_ROWS_TABLE))
    session.execute(text(_QUICK_TABLE))
    raw = session.connection().connection.driver_connection
    assert raw is not None
    with (
        raw.cursor() as cursor,
        cursor.copy("COPY arkinctl_batch_rows (line, client_number, email) FROM STDIN") as copy,
    ):
        for r in requests:
            copy.write_row((r.line, r.client_number, r.email))
    session.execute(text(_CLASSIFY))
    fixed: dict[int, str] = {}
    invalid: list[int] = []
    for line, email in session.execute(text("SELECT line, email FROM arkinctl_batch_quick")):
        try:
            normal = normalise_email(email)
        except InvalidInputError:
            invalid.append(line)  # the row-by-row way says why
            continue
        if normal != email:
            fixed[line] = normal
    template = invitation_mail(_MARKER, "client@example.org", expires, settings)
    params: dict[str, Any] = {
        "fixed_lines": list(fixed),
        "fixed_emails": list(fixed.values()),
        "invalid_lines": invalid,
        "now": now,
        "expires": expires,
        "user": requested_by,
        "batch": batch_id,
        "mid_head": mid_head,
        "mid_tail": mid_tail,
        "subject": template.subject,
        "body": template.body,
        "marker": _MARKER,
        "nobody": NOBODY,
        "no_name": NO_NAME,
    }
    return [Queued(*row) for row in session.execute(text(_WRITE), params)]
