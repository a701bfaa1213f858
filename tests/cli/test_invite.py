"""`arkinctl invite …` as a user runs it (CliRunner), on SQLite and PostgreSQL; delivery to a
real SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from arkinctl.db.models import AuditEvent, Client, Invitation, OutboxMessage
from tests.factories import FAKE_BSNS, add_account, add_episode, add_invitation, make_client
from tests.mailserver import Handler

NOW = datetime.now(UTC)


@pytest.fixture
def new_client(session_factory: Any) -> Callable[..., str]:
    """A treated, living client with an e-mail address and no account: one who may be invited."""

    def build(*, treated: bool = True, **fields: Any) -> str:
        fields.setdefault("email", f"client.{len(fields)}.{id(fields)}@example.nl")
        with session_factory.begin() as s:
            client = make_client(s, **fields)
            if treated:
                add_episode(s, client)
            return client.client_number

    return build


def _invitations(session_factory: Any, number: str) -> list[Invitation]:
    with session_factory() as s:
        return list(
            s.scalars(
                select(Invitation)
                .join(Client, Client.id == Invitation.client_id)
                .where(Client.client_number == number)
                .order_by(Invitation.id)
            )
        )


def _messages(session_factory: Any, invitation_id: int) -> list[OutboxMessage]:
    with session_factory() as s:
        return list(
            s.scalars(select(OutboxMessage).where(OutboxMessage.invitation_id == invitation_id))
        )


# ---- invite send ---------------------------------------------------------------------------


def test_send_queues_the_invitation_and_its_email_together_and_audits(
    run: Callable[..., Any], new_client: Callable[..., str], session_factory: Any
) -> None:
    number = new_client(email="jan@example.nl")
    result = run("--format", "json", "invite", "send", number)
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["result"] == "sent" and doc["email"] == "jan@example.nl"
    assert doc["supersedes"] is None
    expires = datetime.fromisoformat(doc["expires_at"])
    assert timedelta(days=13, hours=23) < expires - datetime.now(UTC) <= timedelta(days=14)

    [inv] = _invitations(session_factory, number)
    assert (inv.id, inv.status, inv.requested_by) == (doc["invitation_id"], "queued", "tester")
    [msg] = _messages(session_factory, inv.id)
    assert (msg.status, msg.recipient, msg.purpose) == ("queued", "jan@example.nl", "invitation")
    with session_factory() as s:
        actions = s.scalars(
            select(AuditEvent.action).where(AuditEvent.client_number == number)
        ).all()
    assert "invite.send" in actions


def test_expiry_is_configurable(
    run: Callable[..., Any], new_client: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARKINCTL_INVITATION_EXPIRY_DAYS", "3")
    doc = json.loads(run("--format", "json", "invite", "send", new_client()).stdout)
    left = datetime.fromisoformat(doc["expires_at"]) - datetime.now(UTC)
    assert timedelta(days=2, hours=23) < left <= timedelta(days=3)


def test_the_address_is_validated_and_its_domain_normalised(
    run: Callable[..., Any], new_client: Callable[..., str]
) -> None:
    number = new_client(email=None)
    doc = json.loads(
        run(
            "--format", "json", "invite", "send", number, "--email", "Jan.Jansen+portal@Example.NL"
        ).stdout
    )
    assert doc["email"] == "Jan.Jansen+portal@example.nl"  # the local part and its tag are kept


@pytest.mark.parametrize(
    ("setup", "code", "says"),
    [
        ("deceased", 6, "deceased"),
        ("untreated", 6, "never been treated"),
        ("active_account", 6, "active portal account"),
        ("blocked_account", 6, "blocked"),
        ("no_email", 5, "no e-mail address"),
        ("bad_email", 5, "e-mail"),
    ],
)
def test_send_refuses_with_the_reason_and_writes_nothing(
    run: Callable[..., Any],
    session_factory: Any,
    setup: str,
    code: int,
    says: str,
) -> None:
    with session_factory.begin() as s:
        email: str | None = "client@example.nl"
        if setup == "no_email":
            email = None
        elif setup == "bad_email":
            email = "client@@example"
        c = make_client(s, email=email, deceased=setup == "deceased")
        if setup != "untreated":
            add_episode(s, c)
        if setup == "active_account":
            add_account(s, c, status="active")
        if setup == "blocked_account":
            add_account(s, c, status="blocked")
        number = c.client_number
    result = run("invite", "send", number)
    assert result.exit_code == code, result.stdout + result.stderr
    assert says in result.stderr
    assert result.stderr.startswith("Error: not invited: ")
    assert len(result.stderr.strip().splitlines()) == 1
    assert _invitations(session_factory, number) == []
    with session_factory() as s:
        outcomes = s.scalars(
            select(AuditEvent.outcome).where(
                AuditEvent.client_number == number, AuditEvent.action == "invite.send"
            )
        ).all()
    assert len(outcomes) == 1  # the refusal is audited once, not twice
    assert outcomes[0] in {"refused", "error"}


def test_a_live_invitation_is_kept_unless_resent_and_a_resend_supersedes_it(
    run: Callable[..., Any], new_client: Callable[..., str], session_factory: Any
) -> None:
    number = new_client()
    first = json.loads(run("--format", "json", "invite", "send", number).stdout)

    again = run("invite", "send", number)
    assert again.exit_code == 6
    assert "live invitation" in again.stderr and "--resend" in again.stderr

    # Younger than the resend window (7 days): the portal's own reminders are still coming.
    young = run("invite", "send", number, "--resend")
    assert young.exit_code == 6
    assert "--force" in young.stderr

    forced = json.loads(run("--format", "json", "invite", "send", number, "--force").stdout)
    assert forced["result"] == "sent" and forced["supersedes"] == first["invitation_id"]
    old, new = _invitations(session_factory, number)
    assert old.status == "superseded" and old.superseded_by_id == new.id
    assert new.status == "queued"
    # The old e-mail had not gone out yet: it never will.
    [old_msg] = _messages(session_factory, old.id)
    assert old_msg.status == "cancelled"
    [new_msg] = _messages(session_factory, new.id)
    assert new_msg.status == "queued"


def test_a_resend_after_the_window_needs_no_force_and_goes_to_the_current_address(
    run: Callable[..., Any], session_factory: Any
) -> None:
    with session_factory.begin() as s:
        c = make_client(s, email="oud@example.nl")
        add_episode(s, c)
        add_invitation(s, c, now=NOW, sent_days_ago=8)
        c.email = "nieuw@example.nl"
        number = c.client_number
    doc = json.loads(run("--format", "json", "invite", "send", number, "--resend").stdout)
    assert doc["result"] == "sent"
    assert doc["email"] == "nieuw@example.nl"
    assert "changed" in doc["note"]
    table = run("invite", "list", "--client", number)
    assert "superseded" in table.stdout


def test_the_resend_window_is_configurable(
    run: Callable[..., Any], session_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    with session_factory.begin() as s:
        c = make_client(s, email="a@example.nl")
        add_episode(s, c)
        add_invitation(s, c, now=NOW, sent_days_ago=2)
        number = c.client_number
    assert run("invite", "send", number, "--resend").exit_code == 6
    monkeypatch.setenv("ARKINCTL_INVITATION_RESEND_AFTER_DAYS", "1")
    assert run("invite", "send", number, "--resend").exit_code == 0


def test_an_invitation_past_its_expiry_is_not_live_and_is_marked_expired(
    run: Callable[..., Any], session_factory: Any
) -> None:
    with session_factory.begin() as s:
        c = make_client(s, email="a@example.nl")
        add_episode(s, c)
        add_invitation(s, c, now=NOW, sent_days_ago=20)  # still 'sent', expired by time
        number = c.client_number
    diagnosis = json.loads(run("--format", "json", "diagnose", number).stdout)
    assert diagnosis["cause"] == "invitation_expired"
    assert diagnosis["next_command"] == f"arkinctl invite send {number}"

    assert run("invite", "send", number).exit_code == 0  # no --resend needed
    old, new = _invitations(session_factory, number)
    assert (old.status, new.status) == ("expired", "queued")
    diagnosis = json.loads(run("--format", "json", "diagnose", number).stdout)
    assert diagnosis["cause"] == "invitation_pending"
    # A fresh invitation: resending would be refused for 7 days, so look at it instead.
    assert diagnosis["next_command"] == f"arkinctl invite show {new.id}"
    assert "not sent yet" in diagnosis["remedy"]
    with session_factory.begin() as s:
        s.get(Invitation, new.id).created_at = NOW - timedelta(days=8)
    diagnosis = json.loads(run("--format", "json", "diagnose", number).stdout)
    assert diagnosis["next_command"] == f"arkinctl invite send {number} --resend"


def test_diagnose_names_the_invite_command_for_a_client_without_account(
    run: Callable[..., Any], new_client: Callable[..., str]
) -> None:
    number = new_client()
    result = run("--format", "json", "diagnose", number)
    assert result.exit_code == 20
    doc = json.loads(result.stdout)
    assert doc["cause"] == "no_account"
    assert doc["next_command"] == f"arkinctl invite send {number}"


def test_a_client_referred_to_by_bsn_or_email_is_invited_by_client_number(
    run: Callable[..., Any], new_client: Callable[..., str]
) -> None:
    number = new_client(bsn=FAKE_BSNS[0], email="bsn.client@example.nl")
    result = run("invite", "send", FAKE_BSNS[0])
    assert result.exit_code == 0, result.stderr
    assert FAKE_BSNS[0] not in result.stdout + result.stderr
    assert number in result.stdout
    assert run("invite", "send", "nobody@example.nl").exit_code == 3


# ---- withdraw, list, show ------------------------------------------------------------------


def test_withdraw_ends_the_live_invitation_and_cancels_its_unsent_email(
    run: Callable[..., Any], new_client: Callable[..., str], session_factory: Any
) -> None:
    number = new_client()
    run("invite", "send", number)
    result = run("invite", "withdraw", number, "--reason", "verkeerd adres")
    assert result.exit_code == 0, result.stderr
    [inv] = _invitations(session_factory, number)
    assert (inv.status, inv.withdrawn_by, inv.status_reason) == (
        "withdrawn",
        "tester",
        "verkeerd adres",
    )
    [msg] = _messages(session_factory, inv.id)
    assert msg.status == "cancelled"

    again = run("invite", "withdraw", number)
    assert again.exit_code == 6
    assert "no live invitation" in again.stderr
    # Withdrawn: the client may be invited again straight away.
    assert run("invite", "send", number).exit_code == 0


def test_list_filters_by_status_and_client_and_show_gives_one(
    run: Callable[..., Any], session_factory: Any
) -> None:
    with session_factory.begin() as s:
        a = make_client(s, email="a@example.nl")
        b = make_client(s, email="b@example.nl")
        add_episode(s, a)
        add_episode(s, b)
        add_invitation(s, a, now=NOW, sent_days_ago=30)  # expired by time
        live = add_invitation(s, b, now=NOW, sent_days_ago=1)
        na, nb, live_id = a.client_number, b.client_number, live.id

    every = json.loads(run("--format", "json", "invite", "list").stdout)
    assert {(r["client_number"], r["status"]) for r in every} == {(na, "expired"), (nb, "sent")}
    expired = json.loads(run("--format", "json", "invite", "list", "--status", "expired").stdout)
    assert [r["client_number"] for r in expired] == [na]
    sent = json.loads(run("--format", "json", "invite", "list", "--status", "sent").stdout)
    assert [r["client_number"] for r in sent] == [nb]
    mine = json.loads(run("--format", "json", "invite", "list", "--client", nb).stdout)
    assert [r["id"] for r in mine] == [live_id]
    assert json.loads(run("--format", "json", "invite", "list", "--status", "failed").stdout) == []

    bad = run("invite", "list", "--status", "lost")
    assert bad.exit_code == 5 and "unknown invitation status" in bad.stderr

    shown = json.loads(run("--format", "json", "invite", "show", str(live_id)).stdout)
    assert shown["client_number"] == nb and shown["status"] == "sent"
    missing = run("invite", "show", "999999")
    assert missing.exit_code == 3 and "no invitation #999999" in missing.stderr


# ---- invite pending and invite batch -------------------------------------------------------


def _pending_world(session_factory: Any) -> dict[str, str]:
    """One client of each kind; name → client number."""
    with session_factory.begin() as s:
        world: dict[str, Client] = {}
        world["new"] = make_client(s, email="new@example.nl")
        add_episode(s, world["new"])
        world["new_too"] = make_client(s, email="new.too@example.nl")
        add_episode(s, world["new_too"])
        world["expired"] = make_client(s, email="expired@example.nl")
        add_episode(s, world["expired"])
        add_invitation(s, world["expired"], now=NOW, sent_days_ago=20)
        world["live"] = make_client(s, email="live@example.nl")
        add_episode(s, world["live"])
        add_invitation(s, world["live"], now=NOW, sent_days_ago=1)
        world["active"] = make_client(s, email="active@example.nl")
        add_episode(s, world["active"])
        add_account(s, world["active"])
        world["untreated"] = make_client(s, email="untreated@example.nl")
        world["dead"] = make_client(s, email="dead@example.nl", deceased=True)
        add_episode(s, world["dead"])
        return {k: c.client_number for k, c in world.items()}


def test_pending_lists_who_needs_an_invitation_and_its_csv_feeds_a_batch(
    run: Callable[..., Any], session_factory: Any
) -> None:
    world = _pending_world(session_factory)
    pending = json.loads(run("--format", "json", "invite", "pending").stdout)
    last = {r["client_number"]: r["last_invitation"] for r in pending}
    assert last == {world["new"]: None, world["new_too"]: None, world["expired"]: "expired"}

    as_csv = run("--format", "csv", "invite", "pending").stdout
    dry = run("--format", "json", "invite", "batch", "-", "--dry-run", input=as_csv)
    assert dry.exit_code == 0, dry.stderr
    doc = json.loads(dry.stdout)
    assert doc["dry_run"] is True
    assert doc["summary"]["would_send"] == 3 and doc["summary"]["total"] == 3
    assert all(_invitations(session_factory, n) == [] for n in (world["new"], world["new_too"]))

    done = json.loads(run("--format", "json", "invite", "batch", "-", input=as_csv).stdout)
    assert done["summary"]["sent"] == 3
    assert json.loads(run("--format", "json", "invite", "pending").stdout) == []


def test_batch_reports_every_row_and_a_rerun_invites_nobody_twice(
    run: Callable[..., Any], session_factory: Any, tmp_path: Any
) -> None:
    world = _pending_world(session_factory)
    path = tmp_path / "batch.csv"
    # Dutch Excel: BOM, semicolons, CRLF, Dutch headers; bad rows between good ones.
    path.write_bytes(
        (
            "\ufeffCliëntnummer;E-mail\r\n"
            f"{world['new']};\r\n"
            f"{world['new_too']};Nieuw.Adres@Example.NL\r\n"
            "0000000;\r\n"
            f"{world['active']};\r\n"
            f"{world['live']};\r\n"
            f"{world['untreated']};\r\n"
            f"{world['dead']};\r\n"
            f"{world['expired']};niet-een-adres\r\n"
            ";x@example.nl\r\n"
            f"{world['new']};\r\n"
            "\r\n"
        ).encode()
    )
    result = run("--format", "json", "invite", "batch", str(path))
    assert result.exit_code == 10, result.stderr
    assert "3 row(s) failed" in result.stderr
    doc = json.loads(result.stdout)
    by_line = {r["line"]: r for r in doc["results"]}
    assert [by_line[n]["result"] for n in range(2, 12)] == [
        "sent",
        "sent",
        "failed",
        "skipped",
        "skipped",
        "skipped",
        "skipped",
        "failed",
        "failed",
        "skipped",
    ]
    assert by_line[3]["email"] == "Nieuw.Adres@example.nl"
    assert "no client" in by_line[4]["reason"]
    assert "active portal account" in by_line[5]["reason"]
    assert "live invitation" in by_line[6]["reason"]
    assert "never been treated" in by_line[7]["reason"]
    assert "deceased" in by_line[8]["reason"]
    assert "e-mail" in by_line[9]["reason"]
    assert "already in this batch (line 2)" in by_line[11]["reason"]
    assert doc["summary"] == {"total": 10, "sent": 2, "would_send": 0, "skipped": 5, "failed": 3}
    batch_id = doc["batch_id"]

    rerun = json.loads(run("--format", "json", "invite", "batch", str(path)).stdout)
    assert rerun["summary"]["sent"] == 0
    with session_factory() as s:
        per_client = Counter(
            s.scalars(
                select(Client.client_number)
                .join(Invitation, Invitation.client_id == Client.id)
                .where(Invitation.batch_id == batch_id)
            )
        )
        live_per_client = s.execute(
            select(Invitation.client_id, func.count())
            .where(Invitation.status.in_(("queued", "sent")))
            .group_by(Invitation.client_id)
        ).all()
    assert per_client == Counter({world["new"]: 1, world["new_too"]: 1})
    assert all(n == 1 for _, n in live_per_client)

    listed = json.loads(run("--format", "json", "invite", "list", "--batch", batch_id).stdout)
    assert len(listed) == 2


def test_batch_csv_and_table_output_in_a_pipe(
    run: Callable[..., Any], session_factory: Any
) -> None:
    world = _pending_world(session_factory)
    source = f"client_number\n{world['new']}\n9999999\n"
    as_csv = run("--format", "csv", "invite", "batch", "-", "--dry-run", input=source)
    assert as_csv.exit_code == 10
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert [(r["line"], r["result"]) for r in rows] == [("2", "would_send"), ("3", "failed")]
    table = run("invite", "batch", "-", "--dry-run", input=source)
    assert "would send 1" in table.stdout and "failed 1" in table.stdout
    assert "dry run" in table.stdout
    assert "\x1b[" not in table.stdout


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("email\nx@example.nl\n", "client_number"),
        ("", "empty"),
    ],
)
def test_a_batch_file_without_client_numbers_is_refused_before_anything_happens(
    run: Callable[..., Any], content: str, says: str
) -> None:
    result = run("invite", "batch", "-", input=content)
    assert result.exit_code == 5
    assert says in result.stderr.lower()


def test_a_missing_batch_file_is_an_input_error(run: Callable[..., Any]) -> None:
    result = run("invite", "batch", "no-such-file.csv")
    assert result.exit_code == 5 and "no such file" in result.stderr


# ---- delivery --------------------------------------------------------------------------------


def test_the_invitation_email_arrives_once_as_proper_utf8_without_bsn_or_dob(
    run: Callable[..., Any], session_factory: Any, smtp: Handler
) -> None:
    with session_factory.begin() as s:
        c = make_client(
            s,
            given="Zoë",
            prefix="van der",
            family="Meulen-Özdemir",
            email="zoe+portal@Bücher.example",
            bsn=FAKE_BSNS[1],
            birth_date=date(1990, 7, 23),
        )
        add_episode(s, c)
        number = c.client_number
    sent = json.loads(run("--format", "json", "invite", "send", number).stdout)
    assert run("outbox", "deliver").exit_code == 0
    assert run("outbox", "deliver").exit_code == 0  # nothing left: nothing sent twice

    [received] = smtp.snapshot()
    assert received.rcpt_tos == ["zoe+portal@xn--bcher-kva.example"]
    message = received.message
    assert message["Subject"] == "Uitnodiging voor het cliëntportaal"
    assert message["To"].addresses[0].display_name == "Zoë van der Meulen-Özdemir"
    assert message["Message-ID"]
    body = message.get_content()
    assert "Beste Zoë van der Meulen-Özdemir" in body
    raw = received.content.decode("ascii", "replace") + body
    for secret in (FAKE_BSNS[1], "1990-07-23", "23-07-1990", "23071990"):
        assert secret not in raw
    [inv] = _invitations(session_factory, number)
    assert inv.id == sent["invitation_id"] and inv.status == "sent" and inv.sent_at is not None


def test_a_batch_keeps_the_audit_chain_intact(
    run: Callable[..., Any], session_factory: Any
) -> None:
    from itertools import pairwise

    from arkinctl.services.audit import GENESIS_HASH, event_hash, hashed_fields

    with session_factory.begin() as s:
        numbers = []
        for i in range(30):
            c = make_client(s, email=f"chain{i}@example.nl")
            add_episode(s, c)
            numbers.append(c.client_number)
    run("client", "show", numbers[0])
    source = "client_number\n" + "".join(f"{n}\n" for n in [*numbers, "9999999"])
    assert run("invite", "batch", "-", input=source).exit_code == 10
    run("invite", "send", numbers[0], "--force")
    with session_factory() as s:
        events = list(s.scalars(select(AuditEvent).order_by(AuditEvent.id)))
    batch = [e for e in events if e.action == "invite.batch"]
    assert len(batch) == 30 and {e.client_number for e in batch} == set(numbers)
    assert events[0].prev_hash == GENESIS_HASH
    for before, after in pairwise(events):
        assert after.prev_hash == before.hash
    for e in events:
        assert e.hash == event_hash(e.prev_hash, hashed_fields(e))


def test_a_forced_batch_run_again_replaces_nothing_it_made(
    run: Callable[..., Any], session_factory: Any, tmp_path: Any
) -> None:
    world = _pending_world(session_factory)
    path = tmp_path / "forced.csv"
    path.write_text(f"client_number\n{world['new']}\n{world['live']}\n")
    first = json.loads(run("--format", "json", "invite", "batch", str(path), "--force").stdout)
    assert first["summary"]["sent"] == 2  # the live one is replaced: --force
    again = json.loads(run("--format", "json", "invite", "batch", str(path), "--force").stdout)
    assert again["batch_id"] == first["batch_id"]
    assert again["summary"]["sent"] == 0
    assert all("already invited by this batch" in r["reason"] for r in again["results"])
    assert len(_invitations(session_factory, world["new"])) == 1


def test_empty_and_overlong_addresses_are_refused(
    run: Callable[..., Any], new_client: Callable[..., str]
) -> None:
    number = new_client()
    empty = run("invite", "send", number, "--email", "")
    assert empty.exit_code == 5 and "--email is empty" in empty.stderr
    long = run("invite", "send", number, "--email", "a" * 65 + "@example.nl")
    assert long.exit_code == 5 and "not a valid e-mail address" in long.stderr


def test_an_invited_account_without_a_live_invitation_is_pending_and_an_active_one_accepts(
    run: Callable[..., Any], session_factory: Any, tmp_path: Any
) -> None:
    with session_factory.begin() as s:
        bounced = make_client(s, email="bounced@example.nl")
        add_episode(s, bounced)
        add_account(s, bounced, status="invited")
        add_invitation(s, bounced, now=NOW, status="bounced", sent_days_ago=3)
        waiting = make_client(s, email="waiting@example.nl")
        add_episode(s, waiting)
        add_account(s, waiting, status="invited", account_id="acct-waiting")
        nb, nw = bounced.client_number, waiting.client_number
    pending = {
        r["client_number"] for r in json.loads(run("--format", "json", "invite", "pending").stdout)
    }
    assert {nb, nw} <= pending
    diagnosis = json.loads(run("--format", "json", "diagnose", nb).stdout)
    assert diagnosis["cause"] == "no_account"  # the invitation bounced: nothing to accept

    assert run("invite", "send", nw).exit_code == 0
    accounts = tmp_path / "accounts.csv"
    accounts.write_text(f"account_id,identification_number,status\nacct-waiting,{nw},active\n")
    imported = json.loads(run("--format", "json", "import", "accounts", str(accounts)).stdout)
    assert any("1 invitation(s) accepted" in n for n in imported["notes"])
    [inv] = _invitations(session_factory, nw)
    assert inv.status == "accepted" and inv.accepted_at is not None


def test_a_client_named_again_in_a_later_chunk_is_not_invited_twice(
    session_factory: Any,
) -> None:
    from arkinctl.config import Settings
    from arkinctl.services.invitations import BatchRow, SendOptions, run_batch
    from tests.factories import actor

    with session_factory.begin() as s:
        numbers = []
        for i in range(3):
            c = make_client(s, email=f"chunk{i}@example.nl")
            add_episode(s, c)
            numbers.append(c.client_number)
    rows = [BatchRow(line, n, None) for line, n in enumerate([*numbers, numbers[0]], start=2)]
    settings = Settings(database_url="", database_is_default=False, user="tester")
    for options in (SendOptions(batch_id="B-test"), SendOptions(batch_id="B-test", force=True)):
        outcomes = list(
            run_batch(
                session_factory,
                rows,
                settings=settings,
                actor=actor(),
                options=options,
                now=lambda: datetime.now(UTC),
                chunk_size=2,
            )
        )
        assert outcomes[-1].result == "skipped"
        assert "already invited by this batch" in (outcomes[-1].reason or "")
    assert [len(_invitations(session_factory, n)) for n in numbers] == [1, 1, 1]


def test_the_same_list_saved_differently_is_the_same_batch(
    run: Callable[..., Any], session_factory: Any, tmp_path: Any
) -> None:
    world = _pending_world(session_factory)
    plain = tmp_path / "plain.csv"
    plain.write_bytes(f"client_number\n{world['new']}\n".encode())
    excel = tmp_path / "excel.csv"
    excel.write_bytes(f"\ufeffclient_number\r\n{world['new']}\r\n\r\n".encode())
    first = json.loads(run("--format", "json", "invite", "batch", str(plain), "--force").stdout)
    again = json.loads(run("--format", "json", "invite", "batch", str(excel), "--force").stdout)
    assert first["batch_id"] == again["batch_id"]
    assert again["summary"]["sent"] == 0


def test_a_client_twice_in_one_chunk_keeps_the_invitation_id_on_its_audit_event(
    session_factory: Any,
) -> None:
    """Regression: the repeat (skipped) row wiped the id off the first row's event."""
    from arkinctl.config import Settings
    from arkinctl.services.invitations import BatchRow, SendOptions, run_batch
    from tests.factories import actor

    with session_factory.begin() as s:
        # an invited (unused) account sends the client the row-by-row way on every engine
        c = make_client(s, email="twice@example.nl")
        add_episode(s, c)
        add_account(s, c, status="invited")
        number = c.client_number
    settings = Settings(database_url="", database_is_default=False, user="tester")
    outcomes = list(
        run_batch(
            session_factory,
            [BatchRow(2, number, None), BatchRow(3, number, None)],
            settings=settings,
            actor=actor(),
            options=SendOptions(batch_id="B-twice"),
            now=lambda: datetime.now(UTC),
        )
    )
    assert [o.result for o in outcomes] == ["sent", "skipped"]
    with session_factory() as s:
        events = s.scalars(
            select(AuditEvent).where(AuditEvent.action == "invite.batch").order_by(AuditEvent.id)
        ).all()
    # the repeat reads nothing, so it is no event of its own
    assert [(e.action_code, e.object_id) for e in events] == [("C", str(outcomes[0].invitation_id))]
