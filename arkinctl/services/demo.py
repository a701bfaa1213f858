"""A realistic Dutch demo data set in which every cause of DESIGN section 2 occurs.

Generated with Faker's nl_NL locale and a fixed seed, so the same clients come back on
every run; invitation dates are relative to now, so pending stays pending. Demo rows are
marked (`source_system="demo"`, account ids `demo-…`) and rebuilt on each run; nothing
else in the database is touched.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from arkinctl.config import Settings
from arkinctl.db.models import (
    CareEpisode,
    CareRelationship,
    Client,
    FilePart,
    PortalAccount,
    User,
)
from arkinctl.errors import ConflictError
from arkinctl.services.audit import Actor, record
from arkinctl.services.visibility import cutoff_instant

SEED = 2022
_DEMO_LOCK_KEY = 9100001
SOURCE = "demo"
FIRST_NUMBER = 9100001
# Dutch tussenvoegsels, longest first so "van der" wins over "van".
_PREFIX = re.compile(
    r"^((?:van der|van den|van de|van het|van 't|in 't|in het|uit den|uit de|op de|op den|"
    r"de la|van|de|den|der|het|ter|te|'t)) (.+)$"
)

DEMO_USERS = (
    ("demo.behandelaar", "Dr. A. Demo (behandelaar)", "practitioner"),
    ("demo.support", "Demo Support (technisch)", "technical"),
    ("demo.admin", "Demo Admin", "admin"),
)

# The client every demo shows, with names that break naive code (diacritics, prefixes).
FEATURED = (
    ("Zoë", "van der", "Meulen-Özdemir"),
    ("Sjoerd", "de", "Vries"),
    ("Anouk", None, "Bakker"),
)


@dataclass
class DemoResult:
    clients: int = 0
    parts: int = 0
    accounts: int = 0
    invitations: int = 0
    examples: dict[str, str] = field(default_factory=dict)  # cause → client number


class _Builder:
    def __init__(self, session: Session, settings: Settings, now: datetime) -> None:
        from faker import Faker

        self.session = session
        self.settings = settings
        self.now = now
        self.fake = Faker("nl_NL")
        self.fake.seed_instance(SEED)
        self.next_number = FIRST_NUMBER
        self.result = DemoResult()
        self.cutoff = cutoff_instant(settings)
        self.featured = list(FEATURED)

    # ---- people ------------------------------------------------------------------------
    def client(self, cause: str, *, dob: date | None = None, **fields: Any) -> Client:
        if self.featured:
            given, prefix, family = self.featured.pop(0)
        else:
            given = self.fake.first_name()
            prefix, family = _split_prefix(self.fake.last_name())
        number = str(self.next_number)
        self.next_number += 1
        birth = dob or self.fake.date_of_birth(minimum_age=18, maximum_age=85)
        mail_name = ".".join(p for p in (given, prefix, family) if p)
        c = Client(
            client_number=number,
            bsn=self.fake.ssn(),
            given_name=given,
            name_prefix=prefix,
            family_name=family,
            birth_date=birth,
            email=f"{_mailbox(mail_name)}@example.com",
            phone=self.fake.phone_number(),
            unit=self.fake.random_element(("Volwassenen", "Jeugd", "Ouderen", "Verslaving")),
            source_system=SOURCE,
            source_id=f"client/{number}",
        )
        for key, value in fields.items():
            setattr(c, key, value)
        self.session.add(c)
        self.session.flush()
        self.result.clients += 1
        self.result.examples.setdefault(cause, number)
        return c

    def treated(self, c: Client, since: date | None = None) -> None:
        start = since or self.fake.date_between(date(2019, 1, 1), date(2024, 6, 30))
        self.session.add(
            CareEpisode(
                client_id=c.id,
                kind="record",
                start_date=start,
                source_system=SOURCE,
                source_id=f"episode/{c.client_number}",
            )
        )

    def account(self, c: Client, status: str = "active", dob: date | str | None = "same") -> None:
        birth = c.birth_date if dob == "same" else dob
        assert not isinstance(birth, str)
        self.session.add(
            PortalAccount(
                account_id=f"demo-{c.client_number}",
                identification_number=c.client_number,
                first_name=c.given_name,
                surname=" ".join(p for p in (c.name_prefix, c.family_name) if p),
                email=c.email,
                birth_date=birth,
                status=status,
                created_at=self.now - timedelta(days=200),
                last_login_at=self._last_login(c) if status == "active" else None,
            )
        )
        self.result.accounts += 1

    def _last_login(self, c: Client) -> datetime:
        if c.deceased_date is not None:  # nobody logs in after their death
            return datetime.combine(c.deceased_date, datetime.min.time(), UTC) - timedelta(days=9)
        return self.now - timedelta(days=3)

    def invitation(self, c: Client, *, sent_days_ago: int, status: str = "sent") -> None:
        from arkinctl.db.models import Invitation

        sent = self.now - timedelta(days=sent_days_ago)
        self.session.add(
            Invitation(
                client_id=c.id,
                email=c.email or "",
                status=status,
                created_at=sent,
                sent_at=sent,
                expires_at=sent + timedelta(days=self.settings.invitation_expiry_days),
                attempts=1,
                requested_by="demo.support",
            )
        )
        self.result.invitations += 1

    # ---- the care file -----------------------------------------------------------------
    def part(
        self,
        c: Client,
        kind: str,
        title: str,
        entered_at: datetime,
        *,
        status: str = "final",
        withheld: bool = False,
        clinical: date | None = None,
    ) -> None:
        n = self.result.parts + 1
        self.session.add(
            FilePart(
                client_id=c.id,
                kind=kind,
                title=title,
                entered_at=entered_at,
                clinical_date=clinical,
                author="Dr. A. Demo",
                status=status,
                withheld=withheld,
                withheld_reason="behandelaar houdt dit deel achter" if withheld else None,
                source_system=SOURCE,
                source_id=f"part/{n}",
            )
        )
        self.result.parts += 1

    def usual_file(self, c: Client) -> None:
        """Parts on both sides of the cutoff, including both edges of the cutoff day."""
        self.part(c, "treatment_plan", "Behandelplan", self.cutoff - timedelta(days=400))
        self.part(c, "letter", "Verwijsbrief huisarts", self.cutoff - timedelta(seconds=1))
        self.part(c, "letter", "Brief aan huisarts", self.cutoff + timedelta(minutes=30))
        self.part(c, "progress_note", "Voortgangsnotitie", self.cutoff + timedelta(days=40))
        self.part(
            c,
            "letter",
            "Ontslagbrief (gedateerd 2021)",
            datetime(2023, 5, 2, 9, 15, tzinfo=UTC),
            clinical=date(2021, 11, 30),
        )
        self.part(c, "questionnaire_result", "ROM-vragenlijst", self.now - timedelta(days=20))

    def old_file(self, c: Client) -> None:
        for years in (4, 3, 2):
            self.part(c, "letter", "Brief aan huisarts", self.cutoff - timedelta(days=365 * years))
        self.part(c, "progress_note", "Voortgangsnotitie", self.now - timedelta(days=30))


def _split_prefix(last_name: str) -> tuple[str | None, str]:
    m = _PREFIX.match(last_name)
    return (m[1], m[2]) if m else (None, last_name)


def _mailbox(name: str) -> str:
    from arkinctl.textnorm import fold

    return re.sub(r"[^a-z0-9.]+", "", fold(name).replace(" ", ".").replace("'", ""))


def _clear_demo(session: Session) -> None:
    session.execute(delete(PortalAccount).where(PortalAccount.account_id.like("demo-%")))
    session.execute(delete(Client).where(Client.source_system == SOURCE))
    clash = session.scalar(
        select(Client.client_number).where(
            Client.client_number.between(str(FIRST_NUMBER), str(FIRST_NUMBER + 999))
        )
    )
    if clash:
        raise ConflictError(
            "this database has real clients in the demo's number range (9100001-9101000)",
            hint="run the demo on its own database: arkinctl --db demo.db demo",
        )


def build_demo(
    session: Session,
    *,
    settings: Settings,
    actor: Actor,
    now: datetime | None = None,
    progress: Callable[[str], None] | None = None,
) -> DemoResult:
    from arkinctl.services.access import ADMIN, require_role

    require_role(actor.role, ADMIN, what="building the demo (it replaces the demo clients)")
    now = now or datetime.now(UTC)
    if session.get_bind().dialect.name == "postgresql":
        # Two demos at once would both clear and refill the same rows: take turns.
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _DEMO_LOCK_KEY})
    _clear_demo(session)
    for username, display, role in DEMO_USERS:
        if session.scalar(select(User.id).where(User.username == username)) is None:
            session.add(User(username=username, display_name=display, role=role))
    session.flush()
    b = _Builder(session, settings, now)

    def ok_client(cause: str = "ok", **fields: Any) -> Client:
        c = b.client(cause, **fields)
        b.treated(c)
        b.account(c)
        b.usual_file(c)
        return c

    # Everything in order: the client sees their file.
    for _ in range(6):
        ok_client()
    # 2: deceased.
    for _ in range(2):
        c = b.client("client_deceased", deceased=True, deceased_date=date(2024, 2, 11))
        b.treated(c)
        b.account(c)
        b.usual_file(c)
    # 3: registered but never treated.
    for _ in range(2):
        b.client("not_treated")
    # 4: no account, pending or expired invitations.
    for _ in range(2):
        b.treated(b.client("no_account"))
    c = b.client("no_account")
    b.treated(c)
    b.invitation(c, sent_days_ago=30, status="bounced")
    for _ in range(2):
        c = b.client("invitation_pending")
        b.treated(c)
        b.invitation(c, sent_days_ago=2)
    c = b.client("invitation_pending")
    b.treated(c)
    b.account(c, status="invited")
    for _ in range(2):
        c = b.client("invitation_expired")
        b.treated(c)
        b.invitation(c, sent_days_ago=25)
    # 5: account blocked or deactivated.
    for status in ("blocked", "deactivated"):
        c = b.client("account_inactive")
        b.treated(c)
        b.account(c, status=status)
        b.usual_file(c)
    # 6: dates of birth.
    c = b.client("dob_missing", birth_date=None, birth_date_partial="1974")
    b.treated(c)
    b.account(c, dob=date(1974, 6, 12))
    c = b.client("dob_missing")
    b.treated(c)
    b.account(c, dob=None)
    mismatches = {
        "day_month_swapped": (date(1985, 3, 4), date(1985, 4, 3)),
        "off_by_one_day": (date(1990, 7, 15), date(1990, 7, 14)),
        "century": (date(2005, 9, 1), date(1905, 9, 1)),
        "year_digit": (date(1978, 11, 23), date(1988, 11, 23)),
        "transposed_digits": (date(1969, 5, 21), date(1996, 5, 21)),
        "other": (date(1958, 1, 30), date(1962, 8, 2)),
    }
    for record_dob, portal_dob in mismatches.values():
        c = b.client("dob_mismatch", dob=record_dob)
        b.treated(c)
        b.account(c, dob=portal_dob)
        b.usual_file(c)
    # 7: sharing switched off.
    for _ in range(2):
        ok_client(
            "sharing_disabled",
            sharing_enabled=False,
            sharing_changed_at=now - timedelta(days=90),
            sharing_changed_by="demo.support",
            sharing_reason="op verzoek van cliënt",
        )
    # 8: everything before the cutoff, or nothing shareable.
    for _ in range(3):
        c = b.client("only_before_cutoff")
        b.treated(c, since=date(2018, 9, 1))
        b.account(c)
        b.old_file(c)
    for _ in range(2):
        c = b.client("nothing_shared")
        b.treated(c)
        b.account(c)
        b.part(c, "progress_note", "Intake-notitie", now - timedelta(days=60))
        b.part(c, "letter", "Brief (concept)", now - timedelta(days=10), status="draft")
        b.part(c, "letter", "Verslag", now - timedelta(days=5), withheld=True)
    # A few more ordinary clients, so search has something to find.
    for _ in range(8):
        ok_client()

    practitioner = session.scalar(select(User).where(User.username == "demo.behandelaar"))
    assert practitioner is not None
    for client_id in session.scalars(select(Client.id).where(Client.source_system == SOURCE)):
        session.add(CareRelationship(client_id=client_id, user_id=practitioner.id))
    record(session, actor, action="demo.build", action_code="C", object_type="demo")
    if progress:
        progress(f"Built {b.result.clients} demo clients with {b.result.parts} file parts.")
    return b.result
