"""SQLAlchemy 2 typed models for every entity of DESIGN section 1.

No ORM relationships: the services query what they need, deletes cascade in the database
(ON DELETE CASCADE), and every command starts faster without mapper configuration work.

The schema itself is created only by the migrations in `arkinctl/db/migrations`;
`tests/db/test_migrations.py` fails when these models and the migrations disagree.
Index methods and partial-index conditions (the GIN trigram index, the WHERE of
`uq_invitations_live_client` and of the outbox's queue, unsettled and ticket indexes) live
only in the migrations: dialect options here would import the SQLite and PostgreSQL
dialects into every command, and the migration tests check those indexes on the database.
"""

# No postponed annotations here: SQLAlchemy would have to eval every Mapped[...] string.

from datetime import UTC, date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    event,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Mapper, mapped_column

from arkinctl.db.types import UTCDateTime
from arkinctl.textnorm import fold

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments an INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class User(Base):
    """A person who runs arkinctl."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))  # practitioner | technical | admin
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


NO_NAME = "(no name)"
# The largest id an Integer primary key can hold on every engine (a 32-bit signed integer).
MAX_ID = 2**31 - 1


def person_name(given: str | None, prefix: str | None, family: str | None, text: str | None) -> str:
    """The name as the tool shows it: given name, prefix, family name; else the text form."""
    name = " ".join(p for p in (given, prefix, family) if p)
    return name or text or NO_NAME


class Client(Base):
    """A client of the care provider, as the care record (EHR) knows them."""

    __tablename__ = "clients"
    __table_args__ = (
        UniqueConstraint("source_system", "source_id", name="uq_clients_source"),
        Index("ix_clients_search_trgm", "search_text").ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_number: Mapped[str] = mapped_column(String(64), unique=True)
    bsn: Mapped[str | None] = mapped_column(String(9), index=True)
    given_name: Mapped[str | None] = mapped_column(String(200))
    name_prefix: Mapped[str | None] = mapped_column(String(60))
    family_name: Mapped[str | None] = mapped_column(String(200))
    # Set when the source only had a free-text name (no given/family parts).
    name_text: Mapped[str | None] = mapped_column(String(300))
    birth_date: Mapped[date | None] = mapped_column(Date, index=True)
    # A partial birth date from FHIR ("1974", "1974-12"): kept, never completed.
    birth_date_partial: Mapped[str | None] = mapped_column(String(7))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(40))
    unit: Mapped[str | None] = mapped_column(String(100))
    deceased: Mapped[bool] = mapped_column(Boolean, default=False)
    deceased_date: Mapped[date | None] = mapped_column(Date)
    sharing_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    sharing_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sharing_changed_by: Mapped[str | None] = mapped_column(String(64))
    sharing_reason: Mapped[str | None] = mapped_column(String(500))
    # Folded "given prefix family number email", the column `client search` scans.
    search_text: Mapped[str] = mapped_column(Text, default="")
    source_system: Mapped[str | None] = mapped_column(String(40))
    source_id: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @property
    def display_name(self) -> str:
        return person_name(self.given_name, self.name_prefix, self.family_name, self.name_text)

    def refresh_search_text(self) -> None:
        self.search_text = client_search_text(
            self.given_name,
            self.name_prefix,
            self.family_name,
            self.name_text,
            self.client_number,
            self.email,
        )


def client_search_text(*fields: str | None) -> str:
    return fold(" ".join(f for f in fields if f))


@event.listens_for(Client, "before_insert")
@event.listens_for(Client, "before_update")
def _keep_search_text(_mapper: Mapper[Client], _conn: object, target: Client) -> None:
    target.refresh_search_text()


class CareEpisode(Base):
    """A period of care; a client with one has been treated."""

    __tablename__ = "care_episodes"
    __table_args__ = (
        UniqueConstraint("source_system", "source_id", name="uq_care_episodes_source"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(30))  # encounter | episode_of_care | record
    start_date: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    source_system: Mapped[str] = mapped_column(String(40))
    source_id: Mapped[str] = mapped_column(String(200))


class CareRelationship(Base):
    """A practitioner's treatment relationship with a client, for a period."""

    __tablename__ = "care_relationships"
    __table_args__ = (Index("ix_care_relationships_client_user", "client_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PortalAccount(Base):
    """A Karify account, as the portal's member export lists it.

    Linked to a client through `identification_number` = `Client.client_number`; an account
    whose number names no client is kept (and reported as unlinked).
    """

    __tablename__ = "portal_accounts"
    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[str] = mapped_column(String(100), unique=True)
    identification_number: Mapped[str | None] = mapped_column(String(64), index=True)
    first_name: Mapped[str | None] = mapped_column(String(200))
    surname: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    # The date of birth as the client typed it into the portal.
    birth_date: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20))  # invited | active | blocked | deactivated
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class FilePart(Base):
    """One entry of a client's care file."""

    __tablename__ = "file_parts"
    __table_args__ = (
        UniqueConstraint("source_system", "source_id", name="uq_file_parts_source"),
        Index("ix_file_parts_client_entered", "client_id", "entered_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(30))
    title: Mapped[str | None] = mapped_column(String(500))
    # When it was entered in the care record: this, not the clinical date, meets the cutoff.
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    clinical_date: Mapped[date | None] = mapped_column(Date)
    author: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(10), default="final")  # draft | final
    # current | superseded | entered_in_error (FHIR document status)
    lifecycle: Mapped[str] = mapped_column(String(20), default="current")
    withheld: Mapped[bool] = mapped_column(Boolean, default=False)
    withheld_reason: Mapped[str | None] = mapped_column(String(500))
    source_system: Mapped[str] = mapped_column(String(40))
    source_id: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# An invitation that can still be accepted: a client has at most one (enforced by the
# partial unique index below, so two batches at once can never invite a client twice).
LIVE_INVITATION_STATUSES = ("queued", "sent")


class Invitation(Base):
    """An invitation to create a portal account, delivered by e-mail through the outbox."""

    __tablename__ = "invitations"
    __table_args__ = (
        Index("ix_invitations_client_status", "client_id", "status"),
        Index("uq_invitations_live_client", "client_id", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320))
    # queued | sent | accepted | expired | withdrawn | bounced | failed | superseded
    status: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    requested_by: Mapped[str] = mapped_column(String(64))
    batch_id: Mapped[str | None] = mapped_column(String(64), index=True)
    superseded_by_id: Mapped[int | None] = mapped_column(ForeignKey("invitations.id"))
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_by: Mapped[str | None] = mapped_column(String(64))
    # Why it ended without being accepted (withdrawn, bounced, failed): never personal data.
    status_reason: Mapped[str | None] = mapped_column(String(500))


class Ticket(Base):
    """A request to the technical department. Names the client by client number only."""

    __tablename__ = "tickets"
    __table_args__ = (Index("ix_tickets_client_status", "client_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id", ondelete="SET NULL"))
    client_number: Mapped[str | None] = mapped_column(String(64))
    category: Mapped[str] = mapped_column(String(30))
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    diagnosis: Mapped[str | None] = mapped_column(Text)  # JSON snapshot of checks and cause
    status: Mapped[str] = mapped_column(String(20), default="open")
    priority: Mapped[str] = mapped_column(String(10), default="normal")
    created_by: Mapped[str] = mapped_column(String(64))
    assignee: Mapped[str | None] = mapped_column(String(64), index=True)
    resolution: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TicketEvent(Base):
    """A comment or change on a ticket, with who and when."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # created | comment | assign | status
    author: Mapped[str] = mapped_column(String(64))
    body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutboxMessage(Base):
    """An e-mail waiting to be sent, committed with the change that caused it.

    `outbox deliver` claims queued messages, sends them over SMTP and marks them sent.
    A message claimed but never marked (the deliverer died mid-send) becomes `uncertain`:
    it may have reached the server, so a person decides, nothing resends it blindly.
    """

    __tablename__ = "outbox_messages"
    __table_args__ = (
        Index("ix_outbox_messages_unsettled", "status", "claimed_at"),
        Index("ix_outbox_messages_ticket_id", "ticket_id"),
        # A deliverer claims the oldest queued message: without this, every claim sorts the
        # whole queue (a batch of 100,000 invitations made each claim a full sort).
        Index("ix_outbox_messages_queue_order", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # RFC 5322 Message-ID, fixed when queued: a receiver can drop a duplicate by it.
    message_id: Mapped[str] = mapped_column(String(200), unique=True)
    purpose: Mapped[str] = mapped_column(String(20))  # invitation | ticket
    invitation_id: Mapped[int | None] = mapped_column(
        ForeignKey("invitations.id", ondelete="CASCADE"), index=True
    )
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    recipient: Mapped[str] = mapped_column(String(320))
    recipient_name: Mapped[str | None] = mapped_column(String(300))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    # queued | sending | sent | failed | uncertain | cancelled
    status: Mapped[str] = mapped_column(String(20), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(500))
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuditEvent(Base):
    """One read or change of a client's data (NEN 7513). Append-only, hash-chained.

    No foreign key to clients: the trail must outlive any row it mentions.
    """

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_client_time", "client_id", "occurred_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    user: Mapped[str] = mapped_column(String(64), index=True)
    role: Mapped[str | None] = mapped_column(String(20))
    on_behalf_of: Mapped[str | None] = mapped_column(String(64))
    host: Mapped[str | None] = mapped_column(String(200))
    client_id: Mapped[int | None] = mapped_column(Integer)
    client_number: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(40))  # e.g. client.show, share.enable
    action_code: Mapped[str] = mapped_column(String(1))  # C R U D E
    object_type: Mapped[str | None] = mapped_column(String(40))
    object_id: Mapped[str | None] = mapped_column(String(100))
    purpose: Mapped[str | None] = mapped_column(String(500))
    outcome: Mapped[str] = mapped_column(String(20))  # ok | denied | error
    break_glass: Mapped[bool] = mapped_column(Boolean, default=False)
    command: Mapped[str | None] = mapped_column(String(500))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditChainHead(Base):
    """One row: the last event written and how many. The chain proves each event's
    predecessor; only this proves that nothing after the last one was removed."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    last_event_id: Mapped[int | None] = mapped_column(BigId)
    last_hash: Mapped[str | None] = mapped_column(String(64))
    events: Mapped[int] = mapped_column(BigInteger, default=0)


# Expression indexes need the mapped columns, so they are declared after the classes.
Index("ix_clients_email_lower", func.lower(Client.email))
Index("ix_portal_accounts_email_lower", func.lower(PortalAccount.email))
