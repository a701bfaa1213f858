"""outbox: fewer index entries per queued e-mail

A batch of 100,000 invitations queues 100,000 e-mails. The (status, next_attempt_at) index
took every one of them, though deliverers find queued mail by the partial queue index; the
ticket index took every invitation e-mail's NULL. Both become partial: the messages that
need a person or a sweep (sending, uncertain, failed), and the ticket notices.

Revision ID: 0004_outbox_lean_indexes
Revises: 0003_audit_chain_head
Create Date: 2026-12-04 05:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_outbox_lean_indexes"
down_revision: str | None = "0003_audit_chain_head"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UNSETTLED = sa.text("status IN ('sending', 'uncertain', 'failed')")
_TICKET = sa.text("ticket_id IS NOT NULL")


def upgrade() -> None:
    op.drop_index("ix_outbox_messages_status_next", table_name="outbox_messages")
    op.create_index(
        "ix_outbox_messages_unsettled",
        "outbox_messages",
        ["status", "claimed_at"],
        sqlite_where=_UNSETTLED,
        postgresql_where=_UNSETTLED,
    )
    op.drop_index("ix_outbox_messages_ticket_id", table_name="outbox_messages")
    op.create_index(
        "ix_outbox_messages_ticket_id",
        "outbox_messages",
        ["ticket_id"],
        sqlite_where=_TICKET,
        postgresql_where=_TICKET,
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_messages_ticket_id", table_name="outbox_messages")
    op.create_index("ix_outbox_messages_ticket_id", "outbox_messages", ["ticket_id"])
    op.drop_index("ix_outbox_messages_unsettled", table_name="outbox_messages")
    op.create_index(
        "ix_outbox_messages_status_next", "outbox_messages", ["status", "next_attempt_at"]
    )
