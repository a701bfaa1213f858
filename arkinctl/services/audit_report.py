"""`audit report REF`: the overview a client may ask for (NEN 7513 / AVG article 15): who
looked at or changed their data, when, in what role, what data, and on what ground."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from arkinctl.db.models import AuditEvent, User
from arkinctl.services.access import ADMIN, PRACTITIONER, TECHNICAL, staff_only
from arkinctl.services.audit import Actor, record
from arkinctl.services.clients import resolve_client

# What was touched, as the client would put it.
DATA = {
    "client": "your client record",
    "file_parts": "the parts of your file (list)",
    "bsn": "your citizen service number (BSN), shown in full",
    "invitation": "your portal invitation",
    "sharing": "whether your file is shared in the portal",
    "date_of_birth": "your date of birth (check against the portal)",
    "diagnosis": "the check why you see no data in the portal",
    "ticket": "a support ticket about your portal access",
    "care_relationship": "who treats you (care relationship)",
    "audit_trail": "this overview of who looked at your data",
    "search": "your name, date of birth and e-mail, in a search result",
    "outbox_message": "an e-mail to you (the portal invitation)",
    "import": "your record, brought over from the care record system",
}
# Some actions say more than the object they touched.
BY_ACTION = {
    "diagnose": "the check why you see no data in the portal",
    "dob.verify": "your date of birth (checked against the portal account)",
    "files.list": "the parts of your file (list)",
    "share.enable": "whether your file is shared in the portal",
    "share.disable": "whether your file is shared in the portal",
}
ACTIONS = {"R": "looked at", "C": "created", "U": "changed", "D": "removed", "E": "found"}
ROLES = {PRACTITIONER: "practitioner", TECHNICAL: "technical support", ADMIN: "administrator"}


@dataclass(frozen=True)
class ReportLine:
    when: datetime
    who: str
    role: str
    data: str
    action: str
    ground: str  # the care relationship, a role's task, or the break-the-glass reason
    outcome: str
    break_glass: bool


@dataclass(frozen=True)
class ClientReport:
    client_number: str
    name: str
    since: datetime | None
    until: datetime | None
    lines: list[ReportLine]


def _data(event: AuditEvent) -> str:
    if event.action in BY_ACTION:
        return BY_ACTION[event.action]
    return DATA.get(event.object_type or "", event.object_type or "your data")


def _ground(event: AuditEvent) -> str:
    if event.outcome == "denied":
        return "none: the attempt was refused"
    if event.break_glass:
        return f"without a care relationship, for this reason: {event.purpose or '(none given)'}"
    if event.role == PRACTITIONER:
        return "care relationship (treatment)"
    if event.role == TECHNICAL:
        return "technical support for the portal"
    if event.role == ADMIN:
        return "application management"
    return "unknown"


def client_report(
    session: Session,
    actor: Actor,
    ref: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> ClientReport:
    staff_only(actor, "an audit report")
    client = resolve_client(session, ref)
    names = {u: d for u, d in session.execute(select(User.username, User.display_name))}
    query = select(AuditEvent).where(AuditEvent.client_id == client.id)
    if since is not None:
        query = query.where(AuditEvent.occurred_at >= since)
    if until is not None:
        query = query.where(AuditEvent.occurred_at < until)
    lines = []
    for e in session.scalars(query.order_by(AuditEvent.id)):
        who = names.get(e.user) or e.user
        if e.on_behalf_of:
            who += f", for {names.get(e.on_behalf_of) or e.on_behalf_of}"
        lines.append(
            ReportLine(
                when=e.occurred_at,
                who=who,
                role=ROLES.get(e.role or "", "unknown"),
                data=_data(e),
                action="tried to open it"
                if e.outcome == "denied"
                else ACTIONS.get(e.action_code, e.action_code),
                ground=_ground(e),
                outcome={"ok": "done", "denied": "refused"}.get(e.outcome, e.outcome),
                break_glass=e.break_glass,
            )
        )
    record(
        session,
        actor,
        action="audit.report",
        action_code="R",
        client=client,
        object_type="audit_trail",
    )
    return ClientReport(client.client_number, client.display_name, since, until, lines)
