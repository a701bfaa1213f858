"""`arkinctl ticket …` as a user runs it (CliRunner), on SQLite and PostgreSQL; notices to the
technical department through the outbox, delivered to a real SMTP server on loopback."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from arkinctl.db.models import AuditEvent, OutboxMessage, Ticket
from tests.factories import FAKE_BSNS, add_account, add_episode, make_client, visible_client
from tests.mailserver import Handler

NUMBER = re.compile(r"^TD-\d{4}-\d{6}$")


@pytest.fixture
def jrun(run: Callable[..., Any]) -> Callable[..., Any]:
    def invoke(*args: str) -> Any:
        result = run("--format", "json", *args)
        assert result.exit_code == 0, result.stderr
        return json.loads(result.stdout)

    return invoke


@pytest.fixture
def blocked(session_factory: Any) -> str:
    """A client whose portal account is blocked: a case for the technical department."""
    with session_factory.begin() as s:
        c = make_client(s, bsn=FAKE_BSNS[2], birth_date=date(1979, 11, 23), email="b@example.nl")
        add_episode(s, c)
        add_account(s, c, status="blocked")
        return c.client_number


@pytest.fixture
def technical_mail(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARKINCTL_TECHNICAL_EMAIL", "TD@Zorg.Example")


def test_from_diagnosis_takes_category_and_checks_and_names_the_client_by_number_only(
    jrun: Callable[..., Any], blocked: str, session_factory: Any, technical_mail: None
) -> None:
    doc = jrun("ticket", "open", blocked, "--from-diagnosis")
    assert doc["created"] is True and doc["notified"] is True
    ticket = doc["ticket"]
    assert NUMBER.match(doc["number"]) and ticket["number"] == doc["number"]
    assert ticket["category"] == "account"
    assert ticket["client_number"] == blocked
    assert ticket["diagnosis"]["cause"] == "account_inactive"
    assert [c["passed"] for c in ticket["diagnosis"]["checks"]][:5] == [
        True,
        True,
        True,
        True,
        False,
    ]
    assert [e["kind"] for e in ticket["events"]] == ["created"]
    stored = json.dumps(ticket)
    for secret in (FAKE_BSNS[2], "1979-11-23", "23-11-1979", "Testa", "Testpersoon"):
        assert secret not in stored
    with session_factory() as s:
        [notice] = s.scalars(select(OutboxMessage).where(OutboxMessage.purpose == "ticket")).all()
    assert notice.recipient == "TD@zorg.example"
    assert doc["number"] in notice.subject and blocked in notice.body
    assert FAKE_BSNS[2] not in notice.body + notice.subject


def test_diagnose_points_at_the_ticket_command_and_lists_open_tickets(
    jrun: Callable[..., Any], run: Callable[..., Any], blocked: str
) -> None:
    before = json.loads(run("--format", "json", "diagnose", blocked).stdout)
    assert before["cause"] == "account_inactive"
    assert before["next_command"] == f"arkinctl ticket open {blocked} --from-diagnosis"
    assert before["open_tickets"] == []
    number = jrun("ticket", "open", blocked, "--from-diagnosis")["number"]
    after = json.loads(run("--format", "json", "diagnose", blocked).stdout)
    assert after["open_tickets"] == [number]
    assert number in run("diagnose", blocked).stdout
    shown = jrun("client", "show", blocked)
    assert [t["number"] for t in shown["open_tickets"]] == [number]
    assert number in run("client", "show", blocked).stdout


def test_a_second_ticket_of_the_same_category_becomes_a_comment_unless_new(
    jrun: Callable[..., Any], run: Callable[..., Any], blocked: str, session_factory: Any
) -> None:
    first = jrun("ticket", "open", blocked, "-c", "account", "--title", "Geblokkeerd")
    again = jrun("ticket", "open", blocked, "-c", "account", "--title", "Nog steeds geblokkeerd")
    assert again["created"] is False and again["number"] == first["number"]
    assert [e["kind"] for e in again["ticket"]["events"]] == ["created", "comment"]
    assert again["ticket"]["events"][1]["body"] == "Nog steeds geblokkeerd"
    table = run("ticket", "open", blocked, "-c", "account", "--title", "Derde keer")
    assert first["number"] in table.stdout and "was added to" in table.stdout

    other = jrun("ticket", "open", blocked, "-c", "invitation")
    assert other["created"] is True and other["number"] != first["number"]
    forced = jrun("ticket", "open", blocked, "-c", "account", "--new")
    assert forced["created"] is True and forced["number"] != first["number"]
    with session_factory() as s:
        assert len(s.scalars(select(Ticket)).all()) == 3


@pytest.mark.parametrize(
    ("option", "text", "says"),
    [
        ("--title", f"BSN {FAKE_BSNS[2]}", "BSN"),
        ("--description", "geboren 23 november 1979", "date of birth"),
        ("--title", "dob 23-11-1979 klopt niet", "date of birth"),
    ],
)
def test_free_text_with_a_bsn_or_the_date_of_birth_is_refused(
    run: Callable[..., Any],
    blocked: str,
    session_factory: Any,
    option: str,
    text: str,
    says: str,
) -> None:
    result = run("ticket", "open", blocked, "-c", "other", option, text)
    assert result.exit_code == 5
    assert says in result.stderr
    assert FAKE_BSNS[2] not in result.stderr and "1979" not in result.stderr
    with session_factory() as s:
        assert s.scalars(select(Ticket)).all() == []


def test_the_portal_date_of_birth_counts_too(run: Callable[..., Any], session_factory: Any) -> None:
    with session_factory.begin() as s:
        c = make_client(s, birth_date=date(1990, 1, 2))
        add_episode(s, c)
        add_account(s, c, birth_date=date(1990, 2, 1))
        number = c.client_number
    result = run("ticket", "open", number, "-c", "dob_mismatch", "--title", "portal zegt 1-2-1990")
    assert result.exit_code == 5 and "date of birth" in result.stderr


def test_comment_assign_status_close_and_reopen_are_kept_as_history(
    jrun: Callable[..., Any],
    run: Callable[..., Any],
    blocked: str,
    session_factory: Any,
    technical_mail: None,
) -> None:
    number = jrun("ticket", "open", blocked, "-c", "account")["number"]
    jrun("ticket", "comment", number, "Cliënt gebeld")
    refused = run("ticket", "comment", number, f"bsn {FAKE_BSNS[2]}")
    assert refused.exit_code == 5
    jrun("ticket", "assign", number, "t.helpdesk")
    jrun("ticket", "status", number, "in_progress")
    assert run("ticket", "close", number).exit_code == 2  # --resolution is required
    closed = jrun("ticket", "close", number, "--resolution", "Gedeblokkeerd in Karify")
    assert closed["status"] == "closed" and closed["closed_at"] is not None
    assert closed["resolution"] == "Gedeblokkeerd in Karify"

    reopened = jrun("ticket", "status", number, "open")
    assert reopened["status"] == "open" and reopened["closed_at"] is None
    kinds = [(e["kind"], e["author"]) for e in reopened["events"]]
    assert [k for k, _ in kinds] == [
        "created",
        "comment",
        "assign",
        "status",
        "close",
        "resolution",
        "reopen",
    ]
    assert {a for _, a in kinds} == {"tester"}
    assert reopened["events"][2]["body"] == "nobody → t.helpdesk"
    shown = run("ticket", "show", number)
    assert "Cliënt gebeld" in shown.stdout and "reopen" in shown.stdout

    with session_factory() as s:
        subjects = s.scalars(
            select(OutboxMessage.subject)
            .where(OutboxMessage.purpose == "ticket")
            .order_by(OutboxMessage.id)
        ).all()
        actions = s.scalars(
            select(AuditEvent.action).where(AuditEvent.client_number == blocked)
        ).all()
    assert [s.split("]")[1].split(":")[0].strip() for s in subjects] == ["opened", "reopened"]
    for action in ("ticket.open", "ticket.comment", "ticket.assign", "ticket.status"):
        assert action in actions
    assert "ticket.close" in actions and "ticket.show" in actions


def test_list_filters_and_its_json_is_stable(
    jrun: Callable[..., Any], run: Callable[..., Any], blocked: str, session_factory: Any
) -> None:
    with session_factory.begin() as s:
        other = visible_client(s).client_number
    a = jrun("ticket", "open", blocked, "-c", "account")["number"]
    b = jrun("ticket", "open", other, "-c", "missing_data", "-p", "high")["number"]
    jrun("ticket", "assign", b, "tester")
    jrun("ticket", "close", a, "-r", "opgelost")

    open_now = jrun("ticket", "list")
    assert [t["number"] for t in open_now] == [b]
    assert set(open_now[0]) == {
        "number",
        "client_number",
        "category",
        "title",
        "status",
        "priority",
        "assignee",
        "created_by",
        "created_at",
        "updated_at",
    }
    assert [t["number"] for t in jrun("ticket", "list", "--status", "all")] == [b, a]
    assert [t["number"] for t in jrun("ticket", "list", "--status", "closed")] == [a]
    assert [t["number"] for t in jrun("ticket", "list", "--mine")] == [b]
    assert jrun("ticket", "list", "--assignee", "somebody.else") == []
    assert [t["number"] for t in jrun("ticket", "list", "-s", "all", "--client", blocked)] == [a]
    bad = run("ticket", "list", "--status", "lost")
    assert bad.exit_code == 5 and "unknown ticket status" in bad.stderr
    assert run("ticket", "list", "--mine", "--assignee", "x").exit_code == 2


def test_errors_are_one_line_with_the_right_exit_code(
    run: Callable[..., Any], blocked: str
) -> None:
    missing = run("ticket", "show", "TD-2026-999999")
    assert missing.exit_code == 3 and "no ticket TD-2026-999999" in missing.stderr
    assert run("ticket", "open", "0000000", "-c", "other").exit_code == 3
    no_category = run("ticket", "open", blocked)
    assert no_category.exit_code == 5 and "--category" in no_category.stderr
    bad_category = run("ticket", "open", blocked, "-c", "printer")
    assert bad_category.exit_code == 5 and "unknown category" in bad_category.stderr
    bad_priority = run("ticket", "open", blocked, "-c", "other", "-p", "asap")
    assert bad_priority.exit_code == 5
    for result in (missing, no_category, bad_category, bad_priority):
        assert len(result.stderr.strip().splitlines()) == 1


def test_without_a_technical_address_nobody_is_mailed_and_the_user_is_told(
    run: Callable[..., Any], blocked: str, session_factory: Any
) -> None:
    result = run("ticket", "open", blocked, "-c", "account")
    assert result.exit_code == 0
    assert "nobody was e-mailed" in result.stdout
    with session_factory() as s:
        assert s.scalars(select(OutboxMessage)).all() == []


def test_the_notice_reaches_the_technical_department_over_smtp(
    jrun: Callable[..., Any],
    run: Callable[..., Any],
    blocked: str,
    smtp: Handler,
    technical_mail: None,
) -> None:
    number = jrun("ticket", "open", blocked, "--from-diagnosis", "-p", "high")["number"]
    assert run("outbox", "deliver").exit_code == 0
    [received] = smtp.snapshot()
    assert received.rcpt_tos == ["TD@zorg.example"]
    message = received.message
    assert number in message["Subject"]
    body = message.get_content()
    assert blocked in body and "high" in body
    assert FAKE_BSNS[2] not in body and "1979" not in body


def test_a_title_is_one_line_and_a_refusal_is_audited_with_its_client(
    run: Callable[..., Any], blocked: str, session_factory: Any
) -> None:
    result = run("ticket", "open", blocked, "-c", "other", "--title", "een\r\nBcc: x@example.nl")
    assert result.exit_code == 5 and "one line" in result.stderr
    with session_factory() as s:
        [event] = s.scalars(select(AuditEvent).where(AuditEvent.action == "ticket.open")).all()
    assert (event.outcome, event.client_number) == (
        "refused",
        blocked,
    )  # bad input: refused, not an error


def test_a_folded_ticket_keeps_the_higher_priority_and_a_reopened_one_drops_its_resolution(
    jrun: Callable[..., Any], run: Callable[..., Any], blocked: str
) -> None:
    number = jrun("ticket", "open", blocked, "-c", "account")["number"]
    folded = jrun("ticket", "open", blocked, "-c", "account", "-p", "urgent")
    assert folded["ticket"]["priority"] == "urgent"
    assert [e["kind"] for e in folded["ticket"]["events"]] == ["created", "priority", "comment"]
    jrun("ticket", "close", number, "-r", "opgelost")
    reopened = jrun("ticket", "status", number, "waiting")
    assert reopened["resolution"] is None
    assert any(e["body"] == "opgelost" for e in reopened["events"])  # kept in the history
    as_csv = run("--format", "csv", "ticket", "open", blocked, "-c", "sharing").stdout
    assert "created,true" in as_csv and "notified,false" in as_csv


@pytest.mark.parametrize("big", ["99999999999999999999", "9999999999"])
def test_ids_beyond_any_row_are_not_found(run: Callable[..., Any], big: str) -> None:
    for args in (("ticket", "show", big), ("invite", "show", big), ("ticket", "comment", big, "x")):
        result = run(*args)
        assert result.exit_code == 3, (args, result.stderr)
    requeue = run("outbox", "requeue", big)
    assert requeue.exit_code == 3 and "no such outbox message" in requeue.stderr


def test_a_portal_url_that_is_no_web_address_is_refused(
    run: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, session_factory: Any
) -> None:
    with session_factory.begin() as s:
        c = make_client(s, email="invitable@example.nl")
        add_episode(s, c)
        number = c.client_number
    monkeypatch.setenv("ARKINCTL_PORTAL_URL", "javascript:alert(1)")
    result = run("invite", "send", number)
    assert result.exit_code == 5 and "ARKINCTL_PORTAL_URL" in result.stderr
    assert run("diagnose", number).exit_code == 20  # commands that send nothing still run
