"""Small builders for test rows: obviously fake people, only the fields a test cares about.

Every builder adds to the session and flushes, so the row has its id; the test commits.
Client numbers are 7 digits (never mistaken for a BSN); BSNs pass the 11-proof but come
from the 99999xxxx test range.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from itertools import count
from typing import Any

from sqlalchemy.orm import Session

from arkinctl.db.models import CareEpisode, Client, FilePart, Invitation, PortalAccount
from arkinctl.services.audit import Actor

# Valid under the 11-proof, and obviously not real people's numbers.
FAKE_BSNS = ("999990007", "999990019", "999990020", "999990032", "999990044")
DOB = date(1985, 3, 4)
AFTER_CUTOFF = datetime(2023, 5, 2, 9, 15, tzinfo=UTC)
BEFORE_CUTOFF = datetime(2021, 6, 1, 10, 0, tzinfo=UTC)

_seq = count(1)
SAME: Any = object()  # "the same date of birth as the client's record"


def actor(username: str = "tester", role: str = "admin") -> Actor:
    """`tester`, the admin every test database has (conftest.TEST_USERS)."""
    return Actor(username=username, role=role, host="test-host", command="pytest")


def make_client(
    session: Session,
    *,
    number: str | None = None,
    given: str | None = "Testa",
    prefix: str | None = None,
    family: str | None = "Testpersoon",
    birth_date: date | None = DOB,
    **fields: Any,
) -> Client:
    n = next(_seq)
    client = Client(
        client_number=number or str(5_000_000 + n),
        given_name=given,
        name_prefix=prefix,
        family_name=family,
        birth_date=birth_date,
        source_system="test",
        source_id=f"client/{n}",
        **fields,
    )
    session.add(client)
    session.flush()
    return client


def add_episode(session: Session, client: Client, *, start: date = date(2021, 1, 4)) -> CareEpisode:
    episode = CareEpisode(
        client_id=client.id,
        kind="record",
        start_date=start,
        source_system="test",
        source_id=f"episode/{next(_seq)}",
    )
    session.add(episode)
    session.flush()
    return episode


def add_account(
    session: Session,
    client: Client,
    *,
    status: str = "active",
    birth_date: date | None = SAME,
    email: str | None = None,
    account_id: str | None = None,
) -> PortalAccount:
    account = PortalAccount(
        account_id=account_id or f"acct-{next(_seq)}",
        identification_number=client.client_number,
        first_name=client.given_name,
        surname=client.family_name,
        email=email if email is not None else client.email,
        birth_date=client.birth_date if birth_date is SAME else birth_date,
        status=status,
        created_at=datetime(2023, 1, 1, tzinfo=UTC),
    )
    session.add(account)
    session.flush()
    return account


def add_invitation(
    session: Session,
    client: Client,
    *,
    now: datetime,
    status: str = "sent",
    sent_days_ago: int = 2,
    expiry_days: int = 14,
) -> Invitation:
    sent = now - timedelta(days=sent_days_ago)
    invitation = Invitation(
        client_id=client.id,
        email=client.email or "test@example.invalid",
        status=status,
        created_at=sent,
        sent_at=sent,
        expires_at=sent + timedelta(days=expiry_days),
        attempts=1,
        requested_by="tester",
    )
    session.add(invitation)
    session.flush()
    return invitation


def add_part(
    session: Session,
    client: Client,
    *,
    kind: str = "letter",
    entered_at: datetime = AFTER_CUTOFF,
    status: str = "final",
    withheld: bool = False,
    lifecycle: str = "current",
    clinical_date: date | None = None,
    title: str = "Testbrief",
) -> FilePart:
    part = FilePart(
        client_id=client.id,
        kind=kind,
        title=title,
        entered_at=entered_at,
        clinical_date=clinical_date,
        status=status,
        lifecycle=lifecycle,
        withheld=withheld,
        source_system="test",
        source_id=f"part/{next(_seq)}",
    )
    session.add(part)
    session.flush()
    return part


def visible_client(session: Session, **fields: Any) -> Client:
    """A client for whom every check passes: treated, active account, equal DOB, 1 shared part."""
    client = make_client(session, **fields)
    add_episode(session, client)
    add_account(session, client)
    add_part(session, client)
    return client


# ---- one client per cause (and the edge cases of each) --------------------------------------
# name → (builder, expected cause). A builder takes the session and `now`.

Builder = Callable[[Session, datetime], Client]


def _deceased(s: Session, now: datetime) -> Client:
    return visible_client(s, deceased=True, deceased_date=date(2024, 2, 11))


def _deceased_untreated(s: Session, now: datetime) -> Client:
    return make_client(s, deceased=True)


def _not_treated(s: Session, now: datetime) -> Client:
    c = make_client(s)
    add_account(s, c)
    add_part(s, c)
    return c


def _treated(s: Session, **fields: Any) -> Client:
    c = make_client(s, **fields)
    add_episode(s, c)
    return c


def _no_account(s: Session, now: datetime) -> Client:
    return _treated(s)


def _no_account_bounced(s: Session, now: datetime) -> Client:
    c = _treated(s)
    add_invitation(s, c, now=now, status="bounced", sent_days_ago=30)
    return c


def _no_account_expired_then_withdrawn(s: Session, now: datetime) -> Client:
    c = _treated(s)
    add_invitation(s, c, now=now, sent_days_ago=40)
    add_invitation(s, c, now=now, status="withdrawn", sent_days_ago=5)
    return c


def _pending_sent(s: Session, now: datetime) -> Client:
    c = _treated(s)
    add_invitation(s, c, now=now, sent_days_ago=2)
    return c


def _pending_queued(s: Session, now: datetime) -> Client:
    c = _treated(s)
    add_invitation(s, c, now=now, status="queued", sent_days_ago=0)
    return c


def _pending_invited_account(s: Session, now: datetime) -> Client:
    c = _treated(s)
    add_account(s, c, status="invited")
    return c


def _pending_live_after_expired(s: Session, now: datetime) -> Client:
    c = _treated(s)
    # A resend supersedes the old invitation: the schema allows one live invitation per client.
    add_invitation(s, c, now=now, status="superseded", sent_days_ago=30)
    add_invitation(s, c, now=now, sent_days_ago=1)
    return c


def _pending_live_among_many(s: Session, now: datetime) -> Client:
    """A live invitation older than ten newer bounced ones: still pending."""
    c = _treated(s)
    add_invitation(s, c, now=now, sent_days_ago=12)
    for _ in range(10):
        add_invitation(s, c, now=now, status="bounced", sent_days_ago=3)
    return c


def _expired(s: Session, now: datetime) -> Client:
    c = _treated(s)
    add_invitation(s, c, now=now, sent_days_ago=25)
    return c


def _expired_status(s: Session, now: datetime) -> Client:
    c = _treated(s)
    add_invitation(s, c, now=now, status="expired", sent_days_ago=20)
    return c


def _expired_invited_account(s: Session, now: datetime) -> Client:
    c = _treated(s)
    add_account(s, c, status="invited")
    add_invitation(s, c, now=now, sent_days_ago=15)
    return c


def _inactive(status: str) -> Builder:
    def build(s: Session, now: datetime) -> Client:
        c = _treated(s)
        add_account(s, c, status=status)
        add_part(s, c)
        return c

    return build


def _blocked_with_live_invitation(s: Session, now: datetime) -> Client:
    c = _treated(s)
    add_account(s, c, status="blocked")
    add_invitation(s, c, now=now)
    return c


def _dob_partial_record(s: Session, now: datetime) -> Client:
    c = _treated(s, birth_date=None, birth_date_partial="1974")
    add_account(s, c, birth_date=date(1974, 6, 12))
    add_part(s, c)
    return c


def _dob_missing_portal(s: Session, now: datetime) -> Client:
    c = _treated(s)
    add_account(s, c, birth_date=None)
    add_part(s, c)
    return c


def _dob_missing_record(s: Session, now: datetime) -> Client:
    c = _treated(s, birth_date=None)
    add_account(s, c, birth_date=DOB)
    return c


def _dob_mismatch(record: date, portal: date) -> Builder:
    def build(s: Session, now: datetime) -> Client:
        c = _treated(s, birth_date=record)
        add_account(s, c, birth_date=portal)
        add_part(s, c)
        return c

    return build


def _sharing_disabled(s: Session, now: datetime) -> Client:
    return visible_client(s, sharing_enabled=False, sharing_changed_by="tester")


def _only_before_cutoff(s: Session, now: datetime) -> Client:
    c = _treated(s)
    add_account(s, c)
    add_part(s, c, entered_at=datetime(2022, 2, 28, 22, 59, 59, tzinfo=UTC))
    add_part(s, c, kind="progress_note")  # after the cutoff, but never shared
    return c


def _nothing_shared(s: Session, now: datetime) -> Client:
    c = _treated(s)
    add_account(s, c)
    add_part(s, c, kind="progress_note")
    add_part(s, c, status="draft")
    add_part(s, c, withheld=True)
    add_part(s, c, lifecycle="entered_in_error", entered_at=BEFORE_CUTOFF)
    return c


def _nothing_shared_no_parts(s: Session, now: datetime) -> Client:
    c = _treated(s)
    add_account(s, c)
    return c


def _ok(s: Session, now: datetime) -> Client:
    return visible_client(s)


def _ok_after_cutoff_edge(s: Session, now: datetime) -> Client:
    c = _treated(s)
    add_account(s, c)
    add_part(s, c, entered_at=datetime(2022, 2, 28, 23, 30, tzinfo=UTC))
    add_part(s, c, entered_at=BEFORE_CUTOFF)
    return c


def _ok_invited_and_active_accounts(s: Session, now: datetime) -> Client:
    c = _treated(s)
    add_account(s, c, status="invited", birth_date=date(1999, 9, 9))
    add_account(s, c)
    add_part(s, c)
    return c


def _ok_blocked_and_active_accounts(s: Session, now: datetime) -> Client:
    c = _treated(s)
    add_account(s, c, status="blocked", birth_date=None)
    add_account(s, c)
    add_part(s, c)
    return c


SCENARIOS: dict[str, tuple[Builder, str]] = {
    "deceased": (_deceased, "client_deceased"),
    "deceased_untreated": (_deceased_untreated, "client_deceased"),
    "not_treated": (_not_treated, "not_treated"),
    "no_account": (_no_account, "no_account"),
    "no_account_bounced": (_no_account_bounced, "no_account"),
    "no_account_expired_then_withdrawn": (_no_account_expired_then_withdrawn, "no_account"),
    "pending_sent": (_pending_sent, "invitation_pending"),
    "pending_queued": (_pending_queued, "invitation_pending"),
    "pending_invited_account": (_pending_invited_account, "invitation_pending"),
    "pending_live_after_expired": (_pending_live_after_expired, "invitation_pending"),
    "pending_live_among_many": (_pending_live_among_many, "invitation_pending"),
    "expired": (_expired, "invitation_expired"),
    "expired_status": (_expired_status, "invitation_expired"),
    "expired_invited_account": (_expired_invited_account, "invitation_expired"),
    "blocked": (_inactive("blocked"), "account_inactive"),
    "deactivated": (_inactive("deactivated"), "account_inactive"),
    "blocked_with_live_invitation": (_blocked_with_live_invitation, "account_inactive"),
    "dob_partial_record": (_dob_partial_record, "dob_missing"),
    "dob_missing_portal": (_dob_missing_portal, "dob_missing"),
    "dob_missing_record": (_dob_missing_record, "dob_missing"),
    "dob_swapped": (_dob_mismatch(date(1985, 3, 4), date(1985, 4, 3)), "dob_mismatch"),
    "dob_off_by_one": (_dob_mismatch(date(1990, 7, 15), date(1990, 7, 14)), "dob_mismatch"),
    "dob_century": (_dob_mismatch(date(2005, 9, 1), date(1905, 9, 1)), "dob_mismatch"),
    "sharing_disabled": (_sharing_disabled, "sharing_disabled"),
    "only_before_cutoff": (_only_before_cutoff, "only_before_cutoff"),
    "nothing_shared": (_nothing_shared, "nothing_shared"),
    "nothing_shared_no_parts": (_nothing_shared_no_parts, "nothing_shared"),
    "ok": (_ok, "ok"),
    "ok_after_cutoff_edge": (_ok_after_cutoff_edge, "ok"),
    "ok_invited_and_active_accounts": (_ok_invited_and_active_accounts, "ok"),
    "ok_blocked_and_active_accounts": (_ok_blocked_and_active_accounts, "ok"),
}
