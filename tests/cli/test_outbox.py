"""`arkinctl outbox …` as a user runs it (CliRunner), against a real SMTP server on loopback,
on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from arkinctl.config import MailSettings
from arkinctl.db.models import Invitation, OutboxMessage
from arkinctl.services.delivery import DELIVERY_FIELDS, MESSAGE_FIELDS
from arkinctl.services.outbox import Mail, enqueue
from tests.factories import add_episode, make_client
from tests.mailserver import Handler, free_port, mail_server


@pytest.fixture
def queue(session_factory: Any) -> Callable[..., int]:
    def add(recipient: str, *, invitation: bool = False) -> int:
        with session_factory.begin() as s:
            invitation_id = None
            if invitation:
                client = make_client(s, email=recipient)
                add_episode(s, client)
                inv = Invitation(
                    client_id=client.id,
                    email=recipient,
                    status="queued",
                    expires_at=datetime.now(UTC) + timedelta(days=14),
                    attempts=0,
                    requested_by="tester",
                )
                s.add(inv)
                s.flush()
                invitation_id = inv.id
            message = enqueue(
                s,
                Mail(recipient, "Zoë van der Meulen-Özdemir", "Uitnodiging", "Welkom.\n"),
                purpose="invitation" if invitation else "ticket",
                settings=MailSettings(from_address="no-reply@zorg.example"),
                invitation_id=invitation_id,
            )
            s.flush()
            return message.id

    return add


@pytest.fixture
def server() -> Iterator[tuple[Handler, int]]:
    handler = Handler()
    with mail_server(handler) as port:
        yield handler, port


def test_deliver_without_a_mail_server_says_what_to_set(run: Callable[..., Any]) -> None:
    result = run("outbox", "deliver")
    assert result.exit_code == 5
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: no mail server is configured")
    assert "ARKINCTL_SMTP_HOST" in lines[0]


def test_deliver_sends_and_reports_each_message(
    run: Callable[..., Any],
    queue: Callable[..., int],
    smtp_env: Callable[[int], None],
    server: tuple[Handler, int],
) -> None:
    handler, port = server
    smtp_env(port)
    a = queue("jan@bücher.de", invitation=True)
    b = queue("piet@example.nl")

    result = run("outbox", "deliver", "--format", "json")

    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert set(doc) == {"server", "results", "summary", "server_error", "remaining"}
    assert doc["server"] == f"127.0.0.1:{port}" and doc["server_error"] is None
    assert [list(r) for r in doc["results"]] == [list(DELIVERY_FIELDS)] * 2
    assert [(r["id"], r["status"], r["attempts"]) for r in doc["results"]] == [
        (a, "sent", 1),
        (b, "sent", 1),
    ]
    assert doc["summary"] == {
        "total": 2,
        "sent": 2,
        "queued": 0,
        "failed": 0,
        "uncertain": 0,
        "cancelled": 0,
    }
    assert [r.rcpt_tos for r in handler.snapshot()] == [
        ["jan@xn--bcher-kva.de"],
        ["piet@example.nl"],
    ]

    again = run("outbox", "deliver")
    assert again.exit_code == 0
    assert again.stdout.strip() == "Nothing was due."
    assert len(handler.snapshot()) == 2


def test_deliver_table_lists_results_and_a_summary(
    run: Callable[..., Any],
    queue: Callable[..., int],
    smtp_env: Callable[[int], None],
) -> None:
    handler = Handler(rcpt_reply=lambda a: "550 5.1.1 unknown user" if "bad" in a else None)
    with mail_server(handler) as port:
        smtp_env(port)
        good = queue("good@example.nl")
        bad = queue("bad@example.nl", invitation=True)
        result = run("outbox", "deliver")
    assert result.exit_code == 10
    lines = result.stdout.splitlines()
    assert lines[0] == f"Outbox delivery via 127.0.0.1:{port}"
    assert lines[1].split() == ["id", "recipient", "status", "attempts", "error"]
    assert lines[2].split()[:4] == [str(good), "good@example.nl", "sent", "1"]
    assert lines[3].split()[:4] == [str(bad), "bad@example.nl", "failed", "1"]
    assert "recipient refused: 550 5.1.1 unknown user" in lines[3]
    assert lines[-1] == "2 message(s): sent 1, failed 1"
    assert result.stderr.startswith("Error: 1 message(s) not sent")


def test_a_server_that_is_down_is_one_line_and_nothing_is_lost(
    run: Callable[..., Any],
    queue: Callable[..., int],
    smtp_env: Callable[[int], None],
    session_factory: Any,
) -> None:
    port = free_port()
    smtp_env(port)
    queue("a@example.nl")
    queue("b@example.nl", invitation=True)

    result = run("outbox", "deliver")

    assert result.exit_code == 10
    assert result.stdout == ""
    assert result.stderr == (
        f"Error: cannot reach the mail server 127.0.0.1:{port} (connection refused); "
        "2 message(s) stay queued\n"
    )
    with session_factory() as s:
        rows = s.execute(select(OutboxMessage.status, OutboxMessage.attempts)).all()
    assert sorted(rows) == [("queued", 0), ("queued", 0)]  # an outage counts no attempt

    as_json = run("outbox", "list", "--format", "json")
    assert as_json.exit_code == 0
    assert all("connection refused" in m["last_error"] for m in json.loads(as_json.stdout))


def test_the_smtp_password_is_never_printed(
    run: Callable[..., Any],
    queue: Callable[..., int],
    smtp_env: Callable[[int], None],
    server: tuple[Handler, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, port = server
    smtp_env(port)
    monkeypatch.setenv("ARKINCTL_SMTP_USER", "mailer")
    monkeypatch.setenv("ARKINCTL_SMTP_PASSWORD", "s3cret-pw")
    monkeypatch.setenv("ARKINCTL_OUTBOX_RETRY_SECONDS", "0")  # due again at once
    queue("a@example.nl")
    for args in (("outbox", "deliver"), ("-v", "outbox", "deliver", "--format", "json")):
        result = run(*args)
        assert result.exit_code == 10
        assert "s3cret" not in result.stdout + result.stderr
        assert "it offers no login" in result.stderr


def test_list_requeue_and_cancel(
    run: Callable[..., Any],
    queue: Callable[..., int],
    smtp_env: Callable[[int], None],
    session_factory: Any,
) -> None:
    with mail_server(Handler(rcpt_reply=lambda _a: "550 no such user")) as port:
        smtp_env(port)
        failed = queue("gone@example.nl", invitation=True)
        waiting = queue("later@example.nl")
        with session_factory.begin() as s:
            s.get(OutboxMessage, waiting).next_attempt_at = datetime.now(UTC) + timedelta(hours=1)
        assert run("outbox", "deliver").exit_code == 10

    listed = run("outbox", "list", "--format", "json")
    assert listed.exit_code == 0
    docs = json.loads(listed.stdout)
    assert [list(d) for d in docs] == [list(MESSAGE_FIELDS)] * 2
    assert [(d["id"], d["status"]) for d in docs] == [(waiting, "queued"), (failed, "failed")]
    only_failed = run("outbox", "list", "--status", "failed", "--format", "csv")
    assert only_failed.stdout.splitlines()[0] == ",".join(MESSAGE_FIELDS)
    assert len(only_failed.stdout.splitlines()) == 2
    bad_status = run("outbox", "list", "--status", "lost")
    assert bad_status.exit_code == 5 and "unknown outbox status" in bad_status.stderr
    assert run("outbox", "list", "--status", "uncertain").stderr == "no outbox messages match\n"

    requeued = run("outbox", "requeue", str(failed), "--format", "json")
    assert requeued.exit_code == 0, requeued.stderr
    assert json.loads(requeued.stdout) == [
        {
            "id": failed,
            "previous": "failed",
            "status": "queued",
            "changed": True,
            "reason": None,
            "note": None,
        }
    ]
    partly = run("outbox", "cancel", str(failed), str(waiting), "999999")
    assert partly.exit_code == 10
    assert "2 of 3 message(s) cancelled." in partly.stdout
    assert "no such message" in partly.stdout
    assert partly.stderr == "Error: 1 message(s) not cancelled; the table says why\n"
    missing = run("outbox", "requeue", "999999")
    assert missing.exit_code == 3 and missing.stderr.startswith("Error: no such outbox message")
    assert run("outbox", "requeue").exit_code == 2  # an id is required


def test_every_outbox_command_has_help_with_examples(run: Callable[..., Any]) -> None:
    for verb in ("deliver", "list", "requeue", "cancel"):
        result = run("outbox", verb, "--help")
        assert result.exit_code == 0 and "arkinctl outbox " in result.stdout


def test_a_run_stopped_by_its_limit_says_how_many_are_still_due(
    run: Callable[..., Any],
    queue: Callable[..., int],
    smtp_env: Callable[[int], None],
    server: tuple[Handler, int],
) -> None:
    handler, port = server
    smtp_env(port)
    for i in range(5):
        queue(f"c{i}@example.nl")
    first = run("--format", "json", "outbox", "deliver", "--limit", "3")
    assert first.exit_code == 0
    assert json.loads(first.stdout)["remaining"] == 2
    table = run("outbox", "deliver", "--limit", "1")
    assert "1 more due: run again" in table.stderr
    last = json.loads(run("--format", "json", "outbox", "deliver").stdout)
    assert last["remaining"] == 0 and last["summary"]["sent"] == 1
    assert len(handler.snapshot()) == 5


def test_a_server_that_is_down_counts_every_due_message_as_waiting(
    run: Callable[..., Any], queue: Callable[..., int], smtp_env: Callable[[int], None]
) -> None:
    from tests.mailserver import free_port

    smtp_env(free_port())  # nothing listens there
    for i in range(5):
        queue(f"d{i}@example.nl")
    result = run("--format", "json", "outbox", "deliver", "--limit", "2")
    assert result.exit_code == 10
    assert json.loads(result.stdout)["remaining"] == 3
    assert "5 message(s) stay queued" in result.stderr
