"""Listing a client's file parts with whether each is shared, and why (not)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from arkinctl.config import Settings
from arkinctl.db.models import Client, FilePart
from arkinctl.services.audit import Actor
from arkinctl.services.dates import local_date
from arkinctl.services.lookups import open_client
from arkinctl.services.visibility import reason_expr

FILTERS = ("all", "shared", "not_shared", "before_cutoff")
# What technical staff see instead of a part's title: they get metadata, not clinical text.
HIDDEN = "(hidden)"


@dataclass(frozen=True)
class PartRow:
    id: int
    entered_at: datetime
    entered_on: date  # local date in the configured time zone: what the cutoff compares
    kind: str
    title: str | None
    status: str
    shared: bool
    reason: str
    clinical_date: date | None
    after_death: bool
    source: str


def list_parts(
    session: Session,
    client: Client,
    *,
    settings: Settings,
    which: str = "all",
    titles: bool = True,
) -> list[PartRow]:
    """The client's parts, newest entry first, optionally only one visibility group;
    without `titles`, every title reads HIDDEN."""
    reason = reason_expr(settings).label("reason")
    query = select(FilePart, reason).where(FilePart.client_id == client.id)
    rows = []
    for part, why in session.execute(query.order_by(FilePart.entered_at.desc(), FilePart.id)):
        if which == "shared" and why != "shared":
            continue
        if which == "not_shared" and why == "shared":
            continue
        if which == "before_cutoff" and why != "before_cutoff":
            continue
        entered_on = local_date(part.entered_at, settings.timezone)
        rows.append(
            PartRow(
                id=part.id,
                entered_at=part.entered_at,
                entered_on=entered_on,
                kind=part.kind,
                title=part.title if titles or part.title is None else HIDDEN,
                status=part.status,
                shared=why == "shared",
                reason=why,
                clinical_date=part.clinical_date,
                after_death=bool(client.deceased_date and entered_on > client.deceased_date),
                source=f"{part.source_system}:{part.source_id}",
            )
        )
    return rows


def list_parts_for(
    session: Session, ref: str, *, settings: Settings, actor: Actor, which: str = "all"
) -> list[PartRow]:
    from arkinctl.services.access import TECHNICAL

    client = open_client(session, ref, actor=actor, action="files.list", object_type="file_parts")
    titles = actor.role != TECHNICAL
    return list_parts(session, client, settings=settings, which=which, titles=titles)
