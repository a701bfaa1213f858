"""invitations: one live invitation per client, withdrawal; the e-mail outbox

Revision ID: 0002_invitations_outbox
Revises: 0001_initial
Create Date: 2026-12-03 22:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_invitations_outbox"
down_revision: str | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_LIVE = "status IN ('queued', 'sent')"


def upgrade() -> None:
    with op.batch_alter_table("invitations") as batch:
        batch.add_column(sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("withdrawn_by", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("status_reason", sa.String(length=500), nullable=True))
    # Older data may hold several live invitations for one client: keep the newest live.
    op.execute(
        "UPDATE invitations SET status = 'superseded' "
        f"WHERE {_LIVE} AND id NOT IN "
        f"(SELECT MAX(id) FROM invitations WHERE {_LIVE} GROUP BY client_id)"
    )
    op.create_index(
        "uq_invitations_live_client",
        "invitations",
        ["client_id"],
        unique=True,
        sqlite_where=sa.text(_LIVE),
        postgresql_where=sa.text(_LIVE),
    )
    op.create_table(
        "outbox_messages",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("message_id", sa.String(length=200), nullable=False),
        sa.Column("purpose", sa.String(length=20), nullable=False),
        sa.Column("invitation_id", sa.Integer(), nullable=True),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("recipient_name", sa.String(length=300), nullable=True),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("claimed_by", sa.String(length=200), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["invitation_id"],
            ["invitations.id"],
            name=op.f("fk_outbox_messages_invitation_id_invitations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_outbox_messages_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_messages")),
        sa.UniqueConstraint("message_id", name=op.f("uq_outbox_messages_message_id")),
    )
    op.create_index(op.f("ix_outbox_messages_invitation_id"), "outbox_messages", ["invitation_id"])
    op.create_index(op.f("ix_outbox_messages_ticket_id"), "outbox_messages", ["ticket_id"])
    op.create_index(
        "ix_outbox_messages_status_next", "outbox_messages", ["status", "next_attempt_at"]
    )
    op.create_index(
        "ix_outbox_messages_queue_order",
        "outbox_messages",
        ["created_at", "id"],
        sqlite_where=sa.text("status = 'queued'"),
        postgresql_where=sa.text("status = 'queued'"),
    )


def downgrade() -> None:
    op.drop_table("outbox_messages")
    op.drop_index("uq_invitations_live_client", table_name="invitations")
    with op.batch_alter_table("invitations") as batch:
        batch.drop_column("status_reason")
        batch.drop_column("withdrawn_by")
        batch.drop_column("withdrawn_at")
