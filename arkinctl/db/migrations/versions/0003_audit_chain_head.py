"""audit chain head: the last event written, so that removing the newest events shows

Revision ID: 0003_audit_chain_head
Revises: 0002_invitations_outbox
Create Date: 2026-12-04 03:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_audit_chain_head"
down_revision: str | None = "0002_invitations_outbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "last_event_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("last_hash", sa.String(length=64), nullable=True),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_chain_head")),
    )
    # One row, describing the chain as it stands.
    op.execute(
        "INSERT INTO audit_chain_head (id, last_event_id, last_hash, events) "
        "SELECT 1, (SELECT MAX(id) FROM audit_events), "
        "(SELECT hash FROM audit_events ORDER BY id DESC LIMIT 1), "
        "(SELECT COUNT(*) FROM audit_events)"
    )


def downgrade() -> None:
    op.drop_table("audit_chain_head")
