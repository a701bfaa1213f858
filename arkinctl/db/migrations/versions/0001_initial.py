"""initial schema

Revision ID: 0001_initial
Revises:
Create Date: 2026-12-03 18:52:56.251385
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_initial"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=True),
        sa.Column("on_behalf_of", sa.String(length=64), nullable=True),
        sa.Column("host", sa.String(length=200), nullable=True),
        sa.Column("client_id", sa.Integer(), nullable=True),
        sa.Column("client_number", sa.String(length=64), nullable=True),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("action_code", sa.String(length=1), nullable=False),
        sa.Column("object_type", sa.String(length=40), nullable=True),
        sa.Column("object_id", sa.String(length=100), nullable=True),
        sa.Column("purpose", sa.String(length=500), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("break_glass", sa.Boolean(), nullable=False),
        sa.Column("command", sa.String(length=500), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_audit_events_event_id")),
    )
    op.create_index(
        "ix_audit_events_client_time", "audit_events", ["client_id", "occurred_at"], unique=False
    )
    op.create_index(
        op.f("ix_audit_events_occurred_at"), "audit_events", ["occurred_at"], unique=False
    )
    op.create_index(op.f("ix_audit_events_user"), "audit_events", ["user"], unique=False)
    op.create_table(
        "clients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_number", sa.String(length=64), nullable=False),
        sa.Column("bsn", sa.String(length=9), nullable=True),
        sa.Column("given_name", sa.String(length=200), nullable=True),
        sa.Column("name_prefix", sa.String(length=60), nullable=True),
        sa.Column("family_name", sa.String(length=200), nullable=True),
        sa.Column("name_text", sa.String(length=300), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("birth_date_partial", sa.String(length=7), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("unit", sa.String(length=100), nullable=True),
        sa.Column("deceased", sa.Boolean(), nullable=False),
        sa.Column("deceased_date", sa.Date(), nullable=True),
        sa.Column("sharing_enabled", sa.Boolean(), nullable=False),
        sa.Column("sharing_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sharing_changed_by", sa.String(length=64), nullable=True),
        sa.Column("sharing_reason", sa.String(length=500), nullable=True),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("source_system", sa.String(length=40), nullable=True),
        sa.Column("source_id", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clients")),
        sa.UniqueConstraint("client_number", name=op.f("uq_clients_client_number")),
        sa.UniqueConstraint("source_system", "source_id", name="uq_clients_source"),
    )
    op.create_index(op.f("ix_clients_birth_date"), "clients", ["birth_date"], unique=False)
    op.create_index(op.f("ix_clients_bsn"), "clients", ["bsn"], unique=False)
    op.create_index(
        "ix_clients_email_lower", "clients", [sa.literal_column("lower(email)")], unique=False
    )
    if op.get_bind().dialect.name == "postgresql":
        # Trigram index: `client search` is a substring match over a million clients.
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.create_index(
            "ix_clients_search_trgm",
            "clients",
            ["search_text"],
            unique=False,
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
        )
    op.create_table(
        "portal_accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.String(length=100), nullable=False),
        sa.Column("identification_number", sa.String(length=64), nullable=True),
        sa.Column("first_name", sa.String(length=200), nullable=True),
        sa.Column("surname", sa.String(length=200), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_accounts")),
        sa.UniqueConstraint("account_id", name=op.f("uq_portal_accounts_account_id")),
    )
    op.create_index(
        "ix_portal_accounts_email_lower",
        "portal_accounts",
        [sa.literal_column("lower(email)")],
        unique=False,
    )
    op.create_index(
        op.f("ix_portal_accounts_identification_number"),
        "portal_accounts",
        ["identification_number"],
        unique=False,
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=True),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "care_episodes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("source_system", sa.String(length=40), nullable=False),
        sa.Column("source_id", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_care_episodes_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_episodes")),
        sa.UniqueConstraint("source_system", "source_id", name="uq_care_episodes_source"),
    )
    op.create_index(
        op.f("ix_care_episodes_client_id"), "care_episodes", ["client_id"], unique=False
    )
    op.create_table(
        "care_relationships",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_care_relationships_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_care_relationships_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_relationships")),
    )
    op.create_index(
        "ix_care_relationships_client_user",
        "care_relationships",
        ["client_id", "user_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_care_relationships_user_id"), "care_relationships", ["user_id"], unique=False
    )
    op.create_table(
        "file_parts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=True),
        sa.Column("entered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("clinical_date", sa.Date(), nullable=True),
        sa.Column("author", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("lifecycle", sa.String(length=20), nullable=False),
        sa.Column("withheld", sa.Boolean(), nullable=False),
        sa.Column("withheld_reason", sa.String(length=500), nullable=True),
        sa.Column("source_system", sa.String(length=40), nullable=False),
        sa.Column("source_id", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_file_parts_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_file_parts")),
        sa.UniqueConstraint("source_system", "source_id", name="uq_file_parts_source"),
    )
    op.create_index(
        "ix_file_parts_client_entered", "file_parts", ["client_id", "entered_at"], unique=False
    )
    op.create_table(
        "invitations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        sa.Column("batch_id", sa.String(length=64), nullable=True),
        sa.Column("superseded_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_invitations_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["superseded_by_id"],
            ["invitations.id"],
            name=op.f("fk_invitations_superseded_by_id_invitations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invitations")),
    )
    op.create_index(op.f("ix_invitations_batch_id"), "invitations", ["batch_id"], unique=False)
    op.create_index(
        "ix_invitations_client_status", "invitations", ["client_id", "status"], unique=False
    )
    op.create_table(
        "tickets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=True),
        sa.Column("client_number", sa.String(length=64), nullable=True),
        sa.Column("category", sa.String(length=30), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("diagnosis", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("priority", sa.String(length=10), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("assignee", sa.String(length=64), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_tickets_client_id_clients"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tickets")),
        sa.UniqueConstraint("number", name=op.f("uq_tickets_number")),
    )
    op.create_index(op.f("ix_tickets_assignee"), "tickets", ["assignee"], unique=False)
    op.create_index("ix_tickets_client_status", "tickets", ["client_id", "status"], unique=False)
    op.create_table(
        "ticket_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_ticket_events_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_events")),
    )
    op.create_index(
        op.f("ix_ticket_events_ticket_id"), "ticket_events", ["ticket_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_ticket_events_ticket_id"), table_name="ticket_events")
    op.drop_table("ticket_events")
    op.drop_index("ix_tickets_client_status", table_name="tickets")
    op.drop_index(op.f("ix_tickets_assignee"), table_name="tickets")
    op.drop_table("tickets")
    op.drop_index("ix_invitations_client_status", table_name="invitations")
    op.drop_index(op.f("ix_invitations_batch_id"), table_name="invitations")
    op.drop_table("invitations")
    op.drop_index("ix_file_parts_client_entered", table_name="file_parts")
    op.drop_table("file_parts")
    op.drop_index(op.f("ix_care_relationships_user_id"), table_name="care_relationships")
    op.drop_index("ix_care_relationships_client_user", table_name="care_relationships")
    op.drop_table("care_relationships")
    op.drop_index(op.f("ix_care_episodes_client_id"), table_name="care_episodes")
    op.drop_table("care_episodes")
    op.drop_table("users")
    op.drop_index(op.f("ix_portal_accounts_identification_number"), table_name="portal_accounts")
    op.drop_index("ix_portal_accounts_email_lower", table_name="portal_accounts")
    op.drop_table("portal_accounts")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_clients_search_trgm", table_name="clients")
    op.drop_index("ix_clients_email_lower", table_name="clients")
    op.drop_index(op.f("ix_clients_bsn"), table_name="clients")
    op.drop_index(op.f("ix_clients_birth_date"), table_name="clients")
    op.drop_table("clients")
    op.drop_index(op.f("ix_audit_events_user"), table_name="audit_events")
    op.drop_index(op.f("ix_audit_events_occurred_at"), table_name="audit_events")
    op.drop_index("ix_audit_events_client_time", table_name="audit_events")
    op.drop_table("audit_events")
