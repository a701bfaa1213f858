"""The sharing rule for file parts (DESIGN section 2), on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import select

from arkinctl.config import Settings, load_settings
from arkinctl.db.models import FilePart
from arkinctl.services.client_state import part_counts
from arkinctl.services.files import list_parts
from arkinctl.services.visibility import REASONS, cutoff_instant, reason_expr
from tests.factories import BEFORE_CUTOFF, add_part, make_client

WINTER_EDGE_IN = datetime(2022, 2, 28, 23, 30, 0, tzinfo=UTC)  # 2022-03-01 00:30 local
WINTER_EDGE_OUT = datetime(2022, 2, 28, 22, 59, 59, tzinfo=UTC)  # 2022-02-28 23:59:59 local
EXACT = datetime(2022, 2, 28, 23, 0, 0, tzinfo=UTC)  # 2022-03-01 00:00:00 local


@pytest.fixture
def settings(db_url: str) -> Settings:
    return load_settings(database_url=db_url)


def _reasons(session: Any, client: Any, settings: Settings) -> dict[str, str]:
    """title → reason, as `files list` computes it."""
    return {row.title: row.reason for row in list_parts(session, client, settings=settings)}


def test_cutoff_instant_is_amsterdam_midnight() -> None:
    settings = load_settings()  # no database needed
    assert cutoff_instant(settings) == EXACT
    summer = replace(settings, cutoff_date=date(2022, 7, 1))
    assert cutoff_instant(summer) == datetime(2022, 6, 30, 22, 0, tzinfo=UTC)


def test_cutoff_at_the_amsterdam_day_boundary(session: Any, settings: Settings) -> None:
    c = make_client(session)
    add_part(session, c, title="in", entered_at=WINTER_EDGE_IN)
    add_part(session, c, title="out", entered_at=WINTER_EDGE_OUT)
    add_part(session, c, title="exact", entered_at=EXACT)
    add_part(
        session,
        c,
        title="just before",
        entered_at=datetime(2022, 2, 28, 22, 59, 59, 999999, tzinfo=UTC),
    )
    session.commit()

    reasons = _reasons(session, c, settings)
    assert reasons["in"] == "shared"
    assert reasons["exact"] == "shared"
    assert reasons["out"] == "before_cutoff"
    assert reasons["just before"] == "before_cutoff"

    rows = {r.title: r for r in list_parts(session, c, settings=settings)}
    assert rows["in"].entered_on == date(2022, 3, 1)
    assert rows["out"].entered_on == date(2022, 2, 28)
    assert rows["in"].entered_at == WINTER_EDGE_IN  # aware UTC in, aware UTC out
    assert rows["in"].shared and not rows["out"].shared


def test_cutoff_in_summer_time(session: Any, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARKINCTL_CUTOFF_DATE", "2022-07-01")
    summer = load_settings(database_url=db_url)
    c = make_client(session)
    # Local midnight of 2022-07-01 is 2022-06-30T22:00Z (+02:00).
    add_part(session, c, title="in", entered_at=datetime(2022, 6, 30, 22, 0, 0, tzinfo=UTC))
    add_part(session, c, title="out", entered_at=datetime(2022, 6, 30, 21, 59, 59, tzinfo=UTC))
    # Would be on the right side with the winter offset (+01:00): must still be out.
    add_part(
        session, c, title="winter-offset", entered_at=datetime(2022, 6, 30, 22, 30, tzinfo=UTC)
    )
    add_part(session, c, title="utc-day", entered_at=datetime(2022, 6, 30, 23, 30, tzinfo=UTC))
    session.commit()
    reasons = _reasons(session, c, summer)
    assert reasons == {
        "in": "shared",
        "out": "before_cutoff",
        "winter-offset": "shared",
        "utc-day": "shared",
    }
    # and the same parts under the default (winter) cutoff are all shared
    winter = replace(summer, cutoff_date=date(2022, 3, 1))
    assert set(_reasons(session, c, winter).values()) == {"shared"}


def test_summer_cutoff_edge_in_local_time(
    session: Any, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARKINCTL_CUTOFF_DATE", "2022-07-01")
    summer = load_settings(database_url=db_url)
    c = make_client(session)
    # 2022-06-30T23:30+01:00 = 2022-07-01T00:30 local summer time: shared.
    add_part(session, c, title="in", entered_at=datetime(2022, 6, 30, 22, 30, tzinfo=UTC))
    # 2022-06-30T21:30Z = 23:30 local on June 30th: before the cutoff.
    add_part(session, c, title="out", entered_at=datetime(2022, 6, 30, 21, 30, tzinfo=UTC))
    session.commit()
    assert _reasons(session, c, summer) == {"in": "shared", "out": "before_cutoff"}


def test_entry_date_counts_not_clinical_date(session: Any, settings: Settings) -> None:
    c = make_client(session)
    add_part(
        session,
        c,
        title="letter dated 2021, entered 2023",
        clinical_date=date(2021, 11, 30),
        entered_at=datetime(2023, 5, 2, 9, 15, tzinfo=UTC),
    )
    add_part(
        session,
        c,
        title="letter dated 2023, entered 2021",
        clinical_date=date(2023, 1, 5),
        entered_at=BEFORE_CUTOFF,
    )
    session.commit()
    assert _reasons(session, c, settings) == {
        "letter dated 2021, entered 2023": "shared",
        "letter dated 2023, entered 2021": "before_cutoff",
    }


# Each row: the part's properties, and the reason; each property added beats the ones below it.
PRECEDENCE = [
    (
        {
            "lifecycle": "entered_in_error",
            "status": "draft",
            "withheld": True,
            "kind": "progress_note",
            "entered_at": BEFORE_CUTOFF,
        },
        "entered_in_error",
    ),
    (
        {
            "lifecycle": "superseded",
            "status": "draft",
            "withheld": True,
            "kind": "progress_note",
            "entered_at": BEFORE_CUTOFF,
        },
        "superseded",
    ),
    (
        {"status": "draft", "withheld": True, "kind": "progress_note", "entered_at": BEFORE_CUTOFF},
        "draft",
    ),
    ({"withheld": True, "kind": "progress_note", "entered_at": BEFORE_CUTOFF}, "withheld"),
    ({"kind": "progress_note", "entered_at": BEFORE_CUTOFF}, "kind_not_shared"),
    ({"kind": "other", "entered_at": BEFORE_CUTOFF}, "kind_not_shared"),
    ({"entered_at": BEFORE_CUTOFF}, "before_cutoff"),
    ({}, "shared"),
    ({"status": "draft"}, "draft"),
    ({"withheld": True}, "withheld"),
    ({"kind": "progress_note"}, "kind_not_shared"),
    ({"lifecycle": "superseded"}, "superseded"),
]


def test_reason_precedence(session: Any, settings: Settings) -> None:
    c = make_client(session)
    expected = {}
    for i, (props, reason) in enumerate(PRECEDENCE):
        add_part(session, c, title=f"p{i}", **props)
        expected[f"p{i}"] = reason
    session.commit()
    assert _reasons(session, c, settings) == expected

    counts = part_counts(session, c.id, settings=settings)
    assert set(counts) == set(REASONS)
    assert counts == {
        "shared": 1,
        "before_cutoff": 1,
        "draft": 2,
        "withheld": 2,
        "kind_not_shared": 3,
        "entered_in_error": 1,
        "superseded": 2,
    }


DEFAULT_KINDS = {
    "treatment_plan": "shared",
    "letter": "shared",
    "diagnosis": "shared",
    "questionnaire_result": "shared",
    "medication": "shared",
    "appointment": "shared",
    "report": "shared",
    "progress_note": "kind_not_shared",
    "other": "kind_not_shared",
}


def test_default_shared_kinds(session: Any, settings: Settings) -> None:
    c = make_client(session)
    for kind in DEFAULT_KINDS:
        add_part(session, c, kind=kind, title=kind)
    session.commit()
    assert _reasons(session, c, settings) == DEFAULT_KINDS


def test_shared_kinds_are_configurable(
    session: Any, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = make_client(session)
    add_part(session, c, kind="letter", title="letter")
    add_part(session, c, kind="progress_note", title="note")
    add_part(session, c, kind="progress_note", title="old note", entered_at=BEFORE_CUTOFF)
    session.commit()

    monkeypatch.setenv("ARKINCTL_SHARED_KINDS", "progress_note")
    only_notes = load_settings(database_url=db_url)
    assert _reasons(session, c, only_notes) == {
        "letter": "kind_not_shared",
        "note": "shared",
        "old note": "before_cutoff",
    }
    nothing = replace(only_notes, shared_kinds=frozenset())
    assert set(_reasons(session, c, nothing).values()) == {"kind_not_shared"}


def test_sql_reason_matches_a_plain_python_reading_of_the_rule(
    session: Any, settings: Settings
) -> None:
    """Every combination of the part's properties, against the rule as written in DESIGN."""
    c = make_client(session)
    combos = []
    for lifecycle in ("current", "superseded", "entered_in_error"):
        for status in ("final", "draft"):
            for withheld in (False, True):
                for kind in ("letter", "progress_note"):
                    for entered in (WINTER_EDGE_OUT, WINTER_EDGE_IN):
                        combos.append((lifecycle, status, withheld, kind, entered))
    for i, (lifecycle, status, withheld, kind, entered) in enumerate(combos):
        add_part(
            session,
            c,
            title=str(i),
            lifecycle=lifecycle,
            status=status,
            withheld=withheld,
            kind=kind,
            entered_at=entered,
        )
    session.commit()

    def expected(lifecycle: str, status: str, withheld: bool, kind: str, at: datetime) -> str:
        if lifecycle != "current":
            return lifecycle
        if status != "final":
            return "draft"
        if withheld:
            return "withheld"
        if kind not in settings.shared_kinds:
            return "kind_not_shared"
        if at.astimezone(settings.timezone).date() < settings.cutoff_date:
            return "before_cutoff"
        return "shared"

    got = dict(
        session.execute(
            select(FilePart.title, reason_expr(settings)).where(FilePart.client_id == c.id)
        ).all()
    )
    assert got == {str(i): expected(*combo) for i, combo in enumerate(combos)}


def test_list_parts_filters(session: Any, settings: Settings) -> None:
    c = make_client(session)
    add_part(session, c, title="shared")
    add_part(session, c, title="old", entered_at=BEFORE_CUTOFF)
    add_part(session, c, title="draft", status="draft", entered_at=BEFORE_CUTOFF)
    add_part(session, c, title="note", kind="progress_note")
    session.commit()
    for which, titles in [
        ("all", {"shared", "old", "draft", "note"}),
        ("shared", {"shared"}),
        ("not_shared", {"old", "draft", "note"}),
        ("before_cutoff", {"old"}),
    ]:
        rows = list_parts(session, c, settings=settings, which=which)
        assert {r.title for r in rows} == titles, which
        assert [r.entered_at for r in rows] == sorted((r.entered_at for r in rows), reverse=True)


def test_after_death_flag(session: Any, settings: Settings) -> None:
    c = make_client(session, deceased=True, deceased_date=date(2023, 1, 1))
    add_part(session, c, title="before death", entered_at=datetime(2022, 12, 31, 22, tzinfo=UTC))
    add_part(session, c, title="after death", entered_at=datetime(2023, 1, 1, 23, 30, tzinfo=UTC))
    session.commit()
    rows = {r.title: r.after_death for r in list_parts(session, c, settings=settings)}
    assert rows == {"before death": False, "after death": True}
