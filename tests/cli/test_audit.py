"""`arkinctl audit list|verify` (CliRunner), on SQLite and PostgreSQL: the trail as recorded,
and tampering found."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import text

from tests.factories import visible_client


@pytest.fixture
def numbers(session_factory: Any) -> list[str]:
    with session_factory.begin() as s:
        return [visible_client(s).client_number for _ in range(3)]


def test_list_filters_and_streams_and_is_itself_audited(
    run: Callable[..., Any], numbers: list[str]
) -> None:
    for n in numbers:
        run("client", "show", n)
    run("--as", "t.helpdesk", "diagnose", numbers[0])
    mine = json.loads(run("--format", "json", "audit", "list", "--client", numbers[0]).stdout)
    # This very read of the trail is an event about the client too.
    assert [e["action"] for e in mine] == ["client.show", "diagnose", "audit.list"]
    assert mine[0]["client_number"] == numbers[0] and "occurred_at" in mine[0]
    by_user = json.loads(run("--format", "json", "audit", "list", "--user", "t.helpdesk").stdout)
    assert [e["action"] for e in by_user] == ["diagnose"]  # tester read it, not t.helpdesk
    shows = run("--format", "csv", "audit", "list", "--action", "client.show").stdout
    assert [r["client_number"] for r in csv.DictReader(io.StringIO(shows))] == numbers
    assert (
        json.loads(run("--format", "json", "audit", "list", "--until", "2001-01-01").stdout) == []
    )
    today = json.loads(run("--format", "json", "audit", "list", "--since", "2001-01-01").stdout)
    assert "audit.list" in [e["action"] for e in today]  # the earlier reads of the trail
    bad = run("audit", "list", "--since", "31-02-2026")
    assert bad.exit_code == 5


def _tamper(session: Any, sql: str, params: dict[str, Any] | None = None) -> None:
    """Change the trail as only someone with the table owner's rights could: drop the
    database's guard first (migration 0005), as such an attacker would."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
        session.execute(text(sql), params or {})
        session.execute(text("ALTER TABLE audit_events ENABLE TRIGGER USER"))
        return
    for name in ("audit_events_no_update", "audit_events_no_delete"):
        session.execute(text(f"DROP TRIGGER IF EXISTS {name}"))
    session.execute(text(sql), params or {})


def test_the_database_refuses_to_change_or_remove_audit_events(
    run: Callable[..., Any], numbers: list[str], session_factory: Any
) -> None:
    from sqlalchemy.exc import DBAPIError

    run("client", "show", numbers[0])
    attempts = [
        "UPDATE audit_events SET purpose = 'nothing to see'",
        "DELETE FROM audit_events",
    ]
    if session_factory.kw["bind"].dialect.name == "postgresql":
        attempts.append("TRUNCATE audit_events")
    for sql in attempts:
        with pytest.raises(DBAPIError, match="append-only"), session_factory.begin() as s:
            s.execute(text(sql))
    with session_factory() as s:
        assert s.execute(text("SELECT count(*) FROM audit_events")).scalar() == 1
    ok = run("--format", "json", "audit", "verify")
    assert ok.exit_code == 0 and json.loads(ok.stdout)["checked"] == 1


def test_verify_finds_a_changed_and_a_removed_event(
    run: Callable[..., Any], numbers: list[str], session_factory: Any
) -> None:
    for n in numbers:
        run("client", "show", n)
    ok = run("--format", "json", "audit", "verify")
    assert ok.exit_code == 0 and json.loads(ok.stdout)["ok"] is True
    assert json.loads(ok.stdout)["checked"] == 3

    with session_factory.begin() as s:
        second = s.execute(
            text("SELECT id FROM audit_events ORDER BY id LIMIT 1 OFFSET 1")
        ).scalar()
        _tamper(
            s, "UPDATE audit_events SET purpose = 'nothing to see' WHERE id = :i", {"i": second}
        )
    changed = run("--format", "json", "audit", "verify")
    assert changed.exit_code == 21
    doc = json.loads(changed.stdout)
    assert (doc["ok"], doc["problem"], doc["first_problem_id"]) == (False, "changed", second)

    with session_factory.begin() as s:
        _tamper(s, "DELETE FROM audit_events WHERE id = :i", {"i": second})
    removed = json.loads(run("--format", "json", "audit", "verify").stdout)
    assert removed["problem"] == "broken_link" and removed["first_problem_id"] > second
    assert "NOT intact" in run("audit", "verify").stdout


def test_verify_finds_removed_newest_events(
    run: Callable[..., Any], numbers: list[str], session_factory: Any
) -> None:
    for n in numbers:
        run("client", "show", n)
    with session_factory.begin() as s:
        _tamper(s, "DELETE FROM audit_events WHERE id = (SELECT MAX(id) FROM audit_events)")
    cut = run("--format", "json", "audit", "verify")
    assert cut.exit_code == 21
    assert json.loads(cut.stdout)["problem"] == "truncated"
    with session_factory.begin() as s:
        _tamper(s, "DELETE FROM audit_events")
    emptied = json.loads(run("--format", "json", "audit", "verify").stdout)
    assert (emptied["ok"], emptied["problem"], emptied["checked"]) == (False, "truncated", 0)


def test_csv_written_by_the_database_is_the_same_as_row_by_row(
    run: Callable[..., Any], numbers: list[str], session_factory: Any, monkeypatch: Any
) -> None:
    """On PostgreSQL `audit list --format csv` is a COPY; it must match the writer that
    SQLite (and JSON) use, byte for byte, also for awkward values."""
    from datetime import UTC, datetime

    from arkinctl.services import audit_log
    from arkinctl.services.audit import Actor, event_values, lock_chain, record_many

    awkward = [
        'comma, "quote" and\nnewline',
        "",
        None,
        "trailing space ",
        "ünïcödé — dash",
    ]
    with session_factory.begin() as s:
        lock_chain(s)
        events = []
        for i, purpose in enumerate(awkward):
            who = Actor(username="tester", role="admin", host="h,1", command="c", purpose=purpose)
            at = datetime(2026, 12, 4, 10, 0, i, 0 if i % 2 else 123456, tzinfo=UTC)
            events.append(event_values(who, action="client.show", action_code="R",
                                       occurred_at=at, break_glass=bool(i % 2)))  # fmt: skip
        record_many(s, events)
    run("client", "show", numbers[0])
    by_database = run("--format", "csv", "audit", "list").stdout
    import arkinctl.commands.audit  # noqa: F401  (the command imports it lazily)

    monkeypatch.setattr(audit_log, "copy_events_csv", lambda *a, **k: False)
    by_row = run("--format", "csv", "audit", "list").stdout
    # each listing adds its own event at the end: compare all rows before those
    head, *rows = by_database.splitlines(keepends=True)
    assert by_row.startswith(head)
    expected = by_row[: len(by_database) - len(rows[-1])]
    assert by_database[: len(expected)] == expected
    assert "2026-12-04T10:00:01+00:00" in by_database  # no .000000
    assert "2026-12-04T10:00:00.123456+00:00" in by_database
    for option in (("--client", numbers[0]), ("--user", "tester"), ("--action", "client.show"),
                   ("--since", "2001-01-01"), ("--until", "2100-01-01")):  # fmt: skip
        filtered = run("--format", "csv", "audit", "list", *option)
        assert filtered.exit_code == 0, (option, filtered.stderr)
        assert "client.show" in filtered.stdout and filtered.stdout.startswith("id,event_id,")
