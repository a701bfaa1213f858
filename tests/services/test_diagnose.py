"""The "I don't see any data" walk (DESIGN section 2), and its SQL twin `count_causes`."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from arkinctl.config import Settings, load_settings
from arkinctl.db.models import AuditEvent, Client
from arkinctl.services.client_state import load_state
from arkinctl.services.demo import build_demo
from arkinctl.services.diagnose import (
    CAUSES,
    CHECKS,
    Diagnosis,
    causes_by_client,
    count_causes,
    diagnose,
    diagnose_client,
)
from tests.factories import SCENARIOS, actor, add_account, add_episode, add_part, make_client

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)

# The check that fails for each cause (1-based, as in DESIGN section 2); None: all pass.
FAILING_CHECK = {
    "client_not_found": 1,
    "client_deceased": 2,
    "not_treated": 3,
    "no_account": 4,
    "invitation_pending": 4,
    "invitation_expired": 4,
    "account_inactive": 5,
    "dob_missing": 6,
    "dob_mismatch": 6,
    "sharing_disabled": 7,
    "only_before_cutoff": 8,
    "nothing_shared": 8,
    "ok": None,
}


@pytest.fixture
def settings(db_url: str) -> Settings:
    return load_settings(database_url=db_url)


def _walk(session: Any, client: Client, settings: Settings) -> Diagnosis:
    return diagnose(
        load_state(session, client, settings=settings, now=NOW), settings=settings, now=NOW
    )


def _assert_stops_at_first_failure(d: Diagnosis) -> None:
    failing = FAILING_CHECK[d.cause]
    assert [c.number for c in d.checks] == [n for n, _, _ in CHECKS]
    for check in d.checks:
        if failing is None or check.number < failing:
            assert check.passed is True, (d.cause, check)
        elif check.number == failing:
            assert check.passed is False, (d.cause, check)
            assert check.detail
        else:
            assert check.passed is None, (d.cause, check)


def test_causes_and_checks_cover_design_section_2() -> None:
    assert set(CAUSES) == set(FAILING_CHECK)
    assert len(CHECKS) == 8


def test_each_cause(session: Any, settings: Settings) -> None:
    """One client per scenario of tests/factories.py, in one database (fast on PostgreSQL)."""
    clients = {name: build(session, NOW) for name, (build, _) in SCENARIOS.items()}
    session.commit()
    wrong = {}
    for name, client in clients.items():
        expected = SCENARIOS[name][1]
        d = _walk(session, client, settings)
        if d.cause != expected:
            wrong[name] = (d.cause, expected)
            continue
        assert d.client_number == client.client_number
        assert d.ok == (expected == "ok")
        assert d.remedy
        _assert_stops_at_first_failure(d)
    assert wrong == {}, "scenario: (got, expected)"


DOB_DIFFERENCES = [
    (date(1985, 3, 4), date(1985, 4, 3), "day_month_swapped"),
    (date(1990, 7, 15), date(1990, 7, 14), "off_by_one_day"),
    (date(2000, 2, 29), date(2000, 3, 1), "off_by_one_day"),
    (date(2005, 9, 1), date(1905, 9, 1), "century"),
    (date(1978, 11, 23), date(1988, 11, 23), "year_digit"),
    (date(1969, 5, 21), date(1996, 5, 21), "transposed_digits"),
    (date(1958, 1, 30), date(1962, 8, 2), "other"),
]


def test_dob_mismatch_says_how_the_dates_differ(session: Any, settings: Settings) -> None:
    clients = []
    for record, portal, difference in DOB_DIFFERENCES:
        c = make_client(session, birth_date=record)
        add_episode(session, c)
        add_account(session, c, birth_date=portal)
        add_part(session, c)
        clients.append((c, difference))
    session.commit()
    for c, difference in clients:
        d = _walk(session, c, settings)
        assert (d.cause, d.dob_difference) == ("dob_mismatch", difference)
        assert d.as_dict()["dob_difference"] == difference
        assert d.next_command == f"arkinctl dob verify {c.client_number} --claimed DATE"
    assert set(causes_by_client(session, settings=settings, now=NOW).values()) == {"dob_mismatch"}


def test_dob_difference_is_none_for_other_causes(session: Any, settings: Settings) -> None:
    build, _ = SCENARIOS["ok"]
    d = _walk(session, build(session, NOW), settings)
    assert d.dob_difference is None
    assert d.as_dict()["dob_difference"] is None


def test_dob_missing_says_which_side(session: Any, settings: Settings) -> None:
    partial = SCENARIOS["dob_partial_record"][0](session, NOW)
    portal = SCENARIOS["dob_missing_portal"][0](session, NOW)
    session.commit()
    assert "partial" in _walk(session, partial, settings).checks[5].detail
    assert "portal account has no date" in _walk(session, portal, settings).checks[5].detail


def test_ok_counts_the_shared_parts(session: Any, settings: Settings) -> None:
    c = SCENARIOS["ok_after_cutoff_edge"][0](session, NOW)
    session.commit()
    d = _walk(session, c, settings)
    assert d.cause == "ok"
    assert d.shared_parts == 1
    assert d.part_counts["before_cutoff"] == 1
    assert "1 part(s)" in d.remedy


def test_only_before_cutoff_vs_nothing_shared(session: Any, settings: Settings) -> None:
    before = SCENARIOS["only_before_cutoff"][0](session, NOW)
    nothing = SCENARIOS["nothing_shared"][0](session, NOW)
    session.commit()
    d_before, d_nothing = _walk(session, before, settings), _walk(session, nothing, settings)
    assert d_before.cause == "only_before_cutoff"
    assert d_before.next_command == f"arkinctl files list {before.client_number} --before-cutoff"
    assert "2022-03-01" in d_before.remedy
    assert d_nothing.cause == "nothing_shared"
    # An entered-in-error part before the cutoff does not make it "only before cutoff".
    assert d_nothing.part_counts["entered_in_error"] == 1


def test_diagnose_client_not_found_is_a_cause_and_audited(session: Any, settings: Settings) -> None:
    d = diagnose_client(session, "7999999", settings=settings, actor=actor(), now=NOW)
    session.commit()
    assert d.cause == "client_not_found"
    assert d.client_number is None
    _assert_stops_at_first_failure(d)
    event = session.scalars(select(AuditEvent)).one()
    assert (event.action, event.outcome, event.user) == ("diagnose", "not_found", "tester")


def test_diagnose_client_by_reference_is_audited(session: Any, settings: Settings) -> None:
    c = SCENARIOS["ok"][0](session, NOW)
    session.commit()
    d = diagnose_client(session, c.client_number, settings=settings, actor=actor(), now=NOW)
    session.commit()
    assert d.cause == "ok"
    event = session.scalars(select(AuditEvent)).one()
    assert (event.action, event.client_number, event.outcome) == (
        "diagnose",
        c.client_number,
        "ok",
    )


def _python_causes(session: Any, settings: Settings) -> dict[str, str]:
    return {
        c.client_number: _walk(session, c, settings).cause
        for c in session.scalars(select(Client).order_by(Client.id))
    }


def test_sql_causes_agree_with_the_walk_for_every_factory_client(
    session: Any, settings: Settings
) -> None:
    expected = {}
    for build, cause in SCENARIOS.values():
        expected[build(session, NOW).client_number] = cause
    session.commit()
    walked = _python_causes(session, settings)
    assert walked == expected
    assert causes_by_client(session, settings=settings, now=NOW) == walked
    assert count_causes(session, settings=settings, now=NOW) == {
        cause: Counter(walked.values())[cause] for cause in CAUSES[1:]
    }


def test_sql_causes_agree_with_the_walk_for_the_demo(session: Any, settings: Settings) -> None:
    result = build_demo(session, settings=settings, actor=actor(), now=NOW)
    session.commit()
    walked = _python_causes(session, settings)
    assert len(walked) == result.clients
    assert causes_by_client(session, settings=settings, now=NOW) == walked
    counts = count_causes(session, settings=settings, now=NOW)
    assert counts == {cause: Counter(walked.values())[cause] for cause in CAUSES[1:]}
    # every cause but client_not_found occurs, and each example shows its own cause
    assert all(n > 0 for n in counts.values()), counts
    assert set(result.examples) == set(CAUSES[1:])
    for cause, number in result.examples.items():
        assert walked[number] == cause


def test_sql_causes_agree_at_other_moments(session: Any, settings: Settings) -> None:
    """Invitations expire as time passes: both versions see it at the same instant."""
    for build, _ in SCENARIOS.values():
        build(session, NOW)
    session.commit()
    exact_expiry = NOW + timedelta(days=12)  # the moment pending_sent's invitation expires
    for later in (
        exact_expiry - timedelta(microseconds=1),
        exact_expiry,
        datetime(2027, 1, 1, tzinfo=UTC),
    ):
        walked = {
            c.client_number: diagnose(
                load_state(session, c, settings=settings, now=later), settings=settings, now=later
            ).cause
            for c in session.scalars(select(Client))
        }
        assert causes_by_client(session, settings=settings, now=later) == walked, later
        if later == exact_expiry - timedelta(microseconds=1):
            pending = Counter(walked.values())["invitation_pending"]
        elif later == exact_expiry:
            assert Counter(walked.values())["invitation_pending"] == pending - 1
    # a year on, only the invited account without any invitation is still pending
    assert Counter(walked.values())["invitation_pending"] == 1


def test_sql_causes_agree_with_other_settings(
    session: Any, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for build, _ in SCENARIOS.values():
        build(session, NOW)
    session.commit()
    default_ok = Counter(_python_causes(session, load_settings()).values())["ok"]
    monkeypatch.setenv("ARKINCTL_CUTOFF_DATE", "2024-01-01")
    monkeypatch.setenv("ARKINCTL_SHARED_KINDS", "progress_note")
    other = load_settings(database_url=db_url)
    walked = _python_causes(session, other)
    assert causes_by_client(session, settings=other, now=NOW) == walked
    assert Counter(walked.values())["ok"] < default_ok
