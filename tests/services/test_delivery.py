"""The outbox deliverer against a real SMTP server (aiosmtpd on loopback), on SQLite and
PostgreSQL: each message once, retries with backoff, refusals, uncertain claims."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from arkinctl.config import MailSettings
from arkinctl.db.models import AuditEvent, Invitation, OutboxMessage
from arkinctl.errors import InvalidInputError
from arkinctl.services import delivery
from arkinctl.services.outbox import Mail, enqueue
from tests.factories import actor, add_episode, make_client
from tests.mailserver import Handler, free_port, mail_server

ZOE = "Zoë van der Meulen-Özdemir"
SUBJECT = "Uitnodiging voor het cliëntportaal — één klik"


def settings(port: int, **changes: Any) -> MailSettings:
    base = MailSettings(
        smtp_host="127.0.0.1",
        smtp_port=port,
        security="none",
        from_address="no-reply@zorg.example",
        timeout_seconds=5,
        max_attempts=3,
        retry_base_seconds=60,
        claim_timeout_seconds=600,
    )
    return replace(base, **changes)


@pytest.fixture
def queue(session_factory: Any) -> Callable[..., int]:
    """`queue("jan@example.nl", invitation=True)`: one queued message (committed); its id."""

    def add(
        recipient: str,
        *,
        name: str | None = ZOE,
        subject: str = SUBJECT,
        invitation: bool = False,
        expires_in: timedelta = timedelta(days=14),
    ) -> int:
        with session_factory.begin() as s:
            invitation_id = None
            if invitation:
                client = make_client(s, email=recipient)
                add_episode(s, client)
                now = datetime.now(UTC)
                inv = Invitation(
                    client_id=client.id,
                    email=recipient,
                    status="queued",
                    created_at=now,
                    expires_at=now + expires_in,
                    attempts=0,
                    requested_by="tester",
                )
                s.add(inv)
                s.flush()
                invitation_id = inv.id
            message = enqueue(
                s,
                Mail(recipient, name, subject, "Beste Zoë,\n\nWelkom in het portaal.\n"),
                purpose="invitation" if invitation else "ticket",
                settings=settings(0),
                invitation_id=invitation_id,
            )
            s.flush()
            return message.id

    return add


@pytest.fixture
def run(session_factory: Any) -> Callable[..., delivery.DeliveryRun]:
    def go(mail: MailSettings, **kw: Any) -> delivery.DeliveryRun:
        return delivery.deliver(session_factory, mail, actor=actor(), **kw)

    return go


def load(session_factory: Any, model: Any, id_: int) -> Any:
    with session_factory() as s:
        return s.get(model, id_)


@pytest.fixture
def server() -> Iterator[tuple[Handler, int]]:
    handler = Handler()
    with mail_server(handler) as port:
        yield handler, port


def test_each_message_reaches_the_server_once_with_its_headers_intact(
    session_factory: Any, queue: Callable[..., int], run: Any, server: tuple[Handler, int]
) -> None:
    handler, port = server
    a = queue("jan+portal@bücher.de")
    b = queue("Piet.Jansen@Example.NL", name=None, subject="Ticket TD-12")

    result = run(settings(port))

    assert [(d.id, d.status, d.attempts, d.error) for d in result.results] == [
        (a, "sent", 1, None),
        (b, "sent", 1, None),
    ]
    assert result.complete and result.server_error is None
    got = handler.snapshot()
    assert len(got) == 2
    first, second = got
    msg_a = load(session_factory, OutboxMessage, a)
    assert first.message_id == msg_a.message_id
    assert first.rcpt_tos == ["jan+portal@xn--bcher-kva.de"]  # punycode domain, +tag kept
    assert first.mail_from == "no-reply@zorg.example"
    parsed = first.message
    assert parsed["Subject"] == SUBJECT
    assert parsed["To"].addresses[0].display_name == ZOE
    assert parsed["To"].addresses[0].addr_spec == "jan+portal@xn--bcher-kva.de"
    assert parsed.get_content().replace("\r\n", "\n") == "Beste Zoë,\n\nWelkom in het portaal.\n"
    assert second.rcpt_tos == ["Piet.Jansen@Example.NL"]
    assert msg_a.status == "sent" and msg_a.sent_at is not None and msg_a.attempts == 1
    assert msg_a.claimed_by and msg_a.claimed_at is not None

    again = run(settings(port))
    assert again.all == [] and again.complete
    assert len(handler.snapshot()) == 2  # nothing sent twice


def test_an_invitation_is_marked_sent_and_the_delivery_audited(
    session_factory: Any, queue: Callable[..., int], run: Any, server: tuple[Handler, int]
) -> None:
    _, port = server
    mid = queue("zoe@example.nl", invitation=True)
    run(settings(port))
    message = load(session_factory, OutboxMessage, mid)
    invitation = load(session_factory, Invitation, message.invitation_id)
    assert invitation.status == "sent" and invitation.sent_at is not None
    assert invitation.attempts == 1
    with session_factory() as s:
        events = s.scalars(select(AuditEvent).where(AuditEvent.action == "outbox.deliver")).all()
        assert [(e.action_code, e.object_type, e.object_id, e.outcome) for e in events] == [
            ("E", "outbox_message", str(mid), "ok")
        ]
        assert events[0].client_id == invitation.client_id


def test_a_server_that_is_down_leaves_every_message_queued(
    session_factory: Any, queue: Callable[..., int], run: Any
) -> None:
    ids = [queue(f"client{i}@example.nl", invitation=i == 0) for i in range(3)]
    port = free_port()  # nothing listens here
    before = datetime.now(UTC)

    result = run(settings(port))

    assert (
        result.server_error == f"cannot reach the mail server 127.0.0.1:{port} (connection refused)"
    )
    assert result.results == [] and not result.complete
    assert sorted(d.id for d in result.deferred) == ids
    with session_factory() as s:
        for m in s.scalars(select(OutboxMessage)).all():
            assert m.status == "queued" and m.attempts == 0  # an outage counts no attempt
            assert m.last_error and "connection refused" in m.last_error
            assert m.next_attempt_at >= before + timedelta(seconds=60)
        assert s.scalars(select(Invitation.status)).all() == ["queued"]
    # Not due yet: the next run has nothing to do and does not even try the server.
    later = run(settings(port))
    assert later.all == [] and later.server_error is None


def test_a_refused_recipient_fails_at_once_and_the_invitation_bounces(
    session_factory: Any, queue: Callable[..., int], run: Any
) -> None:
    def refuse(address: str) -> str | None:
        return "550 5.1.1 <unknown@example.nl>: mailbox unknown" if "unknown" in address else None

    handler = Handler(rcpt_reply=refuse)
    with mail_server(handler) as port:
        bad = queue("unknown@example.nl", invitation=True)
        good = queue("known@example.nl")
        result = run(settings(port))
    assert {d.id: d.status for d in result.results} == {bad: "failed", good: "sent"}
    assert [r.rcpt_tos for r in handler.snapshot()] == [["known@example.nl"]]
    message = load(session_factory, OutboxMessage, bad)
    assert message.status == "failed" and message.attempts == 1
    assert message.last_error == "recipient refused: 550 5.1.1 <address>: mailbox unknown"
    invitation = load(session_factory, Invitation, message.invitation_id)
    assert invitation.status == "bounced"
    assert invitation.status_reason == message.last_error
    assert "unknown@" not in invitation.status_reason  # the address is not repeated


def test_a_temporary_refusal_is_retried_later_and_fails_after_max_attempts(
    session_factory: Any, queue: Callable[..., int], run: Any
) -> None:
    handler = Handler(rcpt_reply=lambda _a: "451 4.3.0 try again later")
    with mail_server(handler) as port:
        mid = queue("later@example.nl", invitation=True)
        first = run(settings(port))
        message = load(session_factory, OutboxMessage, mid)
        assert [d.status for d in first.results] == ["queued"]
        assert message.status == "queued" and message.attempts == 1
        assert message.last_error == "recipient deferred: 451 4.3.0 try again later"
        assert message.next_attempt_at > datetime.now(UTC) + timedelta(seconds=50)
        assert run(settings(port)).all == []  # not due yet

        # Backoff doubles: attempt n waits retry_base * 2**(n-1). With base 0, due at once;
        # still tried only once per run.
        quick = settings(port, retry_base_seconds=0)
        with session_factory.begin() as s:
            s.get(OutboxMessage, mid).next_attempt_at = datetime.now(UTC)
        second = run(quick)
        assert [(d.status, d.attempts) for d in second.results] == [("queued", 2)]
        third = run(quick)
        assert [(d.status, d.attempts) for d in third.results] == [("failed", 3)]
    message = load(session_factory, OutboxMessage, mid)
    assert message.status == "failed"
    assert message.last_error.endswith("(gave up after 3 attempts)")
    invitation = load(session_factory, Invitation, message.invitation_id)
    assert invitation.status == "failed" and invitation.attempts == 3
    assert handler.snapshot() == []


def test_backoff_doubles_per_attempt() -> None:
    mail = settings(25, retry_base_seconds=60)
    assert [delivery._backoff(mail, n).total_seconds() for n in (1, 2, 3, 4)] == [
        60,
        120,
        240,
        480,
    ]
    assert delivery._backoff(mail, 500) == delivery.MAX_BACKOFF


def test_a_stale_claim_becomes_uncertain_and_is_never_resent(
    session_factory: Any, queue: Callable[..., int], run: Any, server: tuple[Handler, int]
) -> None:
    handler, port = server
    stale = queue("stale@example.nl", invitation=True)
    fresh = queue("fresh@example.nl")
    with session_factory.begin() as s:
        m = s.get(OutboxMessage, stale)
        m.status, m.claimed_by = "sending", "deadhost:4242"
        m.claimed_at = datetime.now(UTC) - timedelta(hours=1)

    result = run(settings(port))

    assert {d.id: d.status for d in result.results} == {stale: "uncertain", fresh: "sent"}
    message = load(session_factory, OutboxMessage, stale)
    assert message.status == "uncertain"
    assert "deadhost:4242" in message.last_error and "may have accepted" in message.last_error
    assert load(session_factory, Invitation, message.invitation_id).status == "queued"
    assert [r.rcpt_tos for r in handler.snapshot()] == [["fresh@example.nl"]]
    assert run(settings(port)).all == []  # still not resent

    # A claim younger than the timeout is left alone (its deliverer may still be at work).
    with session_factory.begin() as s:
        m = s.get(OutboxMessage, fresh)
        m.status, m.claimed_at = "sending", datetime.now(UTC) - timedelta(seconds=30)
    assert run(settings(port)).all == []
    assert load(session_factory, OutboxMessage, fresh).status == "sending"

    # A person checked the mail log: requeue sends it once more.
    with session_factory.begin() as s:
        [change] = delivery.requeue(s, [stale], actor=actor(), now=datetime.now(UTC))
    assert (change.previous, change.status, change.changed) == ("uncertain", "queued", True)
    assert [d.status for d in run(settings(port)).results] == ["sent"]
    assert len(handler.snapshot()) == 2


def test_a_connection_lost_after_the_handover_makes_the_message_uncertain(
    session_factory: Any, queue: Callable[..., int], run: Any
) -> None:
    handler = Handler(drop_after_data=True)
    with mail_server(handler) as port:
        mid = queue("dropped@example.nl", invitation=True)
        result = run(settings(port))
        assert [d.status for d in result.results] == ["uncertain"]
        assert len(handler.snapshot()) == 1
        assert run(settings(port)).all == []
    message = load(session_factory, OutboxMessage, mid)
    assert message.status == "uncertain" and "may have been accepted" in message.last_error


def test_a_non_ascii_local_part_needs_smtputf8(
    session_factory: Any, queue: Callable[..., int], run: Any
) -> None:
    handler = Handler()
    with mail_server(handler) as port:
        bad = queue("zoë@example.nl", invitation=True)
        good = queue("zoe@example.nl")
        result = run(settings(port))
    assert {d.id: d.status for d in result.results} == {bad: "failed", good: "sent"}
    message = load(session_factory, OutboxMessage, bad)
    assert "SMTPUTF8" in message.last_error
    assert load(session_factory, Invitation, message.invitation_id).status == "failed"

    utf8 = Handler()
    with mail_server(utf8, smtputf8=True) as port:
        mid = queue("zoë@bücher.de")
        assert [d.status for d in run(settings(port)).results] == ["sent"]
    [received] = utf8.snapshot()
    assert received.rcpt_tos == ["zoë@xn--bcher-kva.de"]
    assert "SMTPUTF8" in received.mail_options
    assert received.message["To"].addresses[0].display_name == ZOE
    assert received.message_id == load(session_factory, OutboxMessage, mid).message_id


def test_mail_for_an_invitation_that_no_longer_waits_is_cancelled(
    session_factory: Any, queue: Callable[..., int], run: Any, server: tuple[Handler, int]
) -> None:
    handler, port = server
    withdrawn = queue("a@example.nl", invitation=True)
    expired = queue("b@example.nl", invitation=True, expires_in=timedelta(seconds=-1))
    with session_factory.begin() as s:
        inv_id = s.get(OutboxMessage, withdrawn).invitation_id
        s.get(Invitation, inv_id).status = "withdrawn"
    result = run(settings(port))
    assert {d.id: (d.status, d.error) for d in result.results} == {
        withdrawn: ("cancelled", f"not sent: invitation #{inv_id} is withdrawn"),
        expired: ("cancelled", f"not sent: invitation #{inv_id + 1} expired before it was sent"),
    }
    assert result.complete and handler.snapshot() == []


def test_a_claim_skips_messages_another_deliverer_holds(
    db_url: str, session_factory: Any, queue: Callable[..., int]
) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite serialises whole transactions (BEGIN IMMEDIATE); no row locks")
    ids = [queue(f"c{i}@example.nl") for i in range(3)]
    with session_factory.begin() as other:  # a deliverer between its SELECT and its UPDATE
        other.scalars(
            select(OutboxMessage).where(OutboxMessage.id == ids[0]).with_for_update()
        ).one()
        claimed = delivery.claim(session_factory, limit=10, claimer="me:1")
    assert [c.id for c in claimed] == ids[1:]
    with session_factory() as s:
        statuses = dict(s.execute(select(OutboxMessage.id, OutboxMessage.status)).all())
    assert statuses == {ids[0]: "queued", ids[1]: "sending", ids[2]: "sending"}
    assert [c.id for c in delivery.claim(session_factory, limit=10, claimer="me:2")] == ids[:1]


def test_claims_are_taken_oldest_first_and_only_when_due(
    session_factory: Any, queue: Callable[..., int]
) -> None:
    ids = [queue(f"c{i}@example.nl") for i in range(4)]
    with session_factory.begin() as s:
        s.get(OutboxMessage, ids[0]).next_attempt_at = datetime.now(UTC) + timedelta(hours=1)
    first = delivery.claim(session_factory, limit=2, claimer="me:1")
    assert [c.id for c in first] == ids[1:3]
    assert {c.claimed_by for c in first} == {"me:1"}
    assert [c.id for c in delivery.claim(session_factory, limit=5)] == [ids[3]]
    assert delivery.claim(session_factory, limit=5) == []


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"security": "starttls"}, "it does not offer STARTTLS"),
        ({"user": "mailer", "password": "s3cret-pw"}, "it offers no login"),
    ],
)
def test_a_server_that_cannot_be_used_is_one_reason_and_keeps_everything(
    session_factory: Any,
    queue: Callable[..., int],
    run: Any,
    server: tuple[Handler, int],
    changes: dict[str, Any],
    expected: str,
) -> None:
    handler, port = server
    queue("a@example.nl")
    result = run(settings(port, **changes))
    assert result.server_error is not None and expected in result.server_error
    assert result.server_error.startswith(f"cannot use the mail server 127.0.0.1:{port} (")
    assert "s3cret" not in repr(result)
    assert [(d.status, d.attempts) for d in result.deferred] == [("queued", 0)]
    assert handler.snapshot() == []


def test_data_refused_fails_and_data_deferred_retries(
    session_factory: Any, queue: Callable[..., int], run: Any
) -> None:
    with mail_server(Handler(data_reply="554 5.7.1 message refused")) as port:
        refused = queue("a@example.nl", invitation=True)
        assert [d.status for d in run(settings(port)).results] == ["failed"]
    message = load(session_factory, OutboxMessage, refused)
    assert message.last_error == "the mail server refused the message: 554 5.7.1 message refused"
    assert load(session_factory, Invitation, message.invitation_id).status == "failed"
    with mail_server(Handler(data_reply="452 4.3.1 out of memory")) as port:
        queue("b@example.nl")
        assert [d.status for d in run(settings(port)).results] == ["queued"]


def test_requeue_and_cancel_follow_the_rules(
    session_factory: Any, queue: Callable[..., int], run: Any
) -> None:
    with mail_server(Handler(rcpt_reply=lambda _a: "550 no such user")) as port:
        bounced = queue("x@example.nl", invitation=True)
        run(settings(port))
    queued = queue("y@example.nl")
    now = datetime.now(UTC)
    with session_factory.begin() as s:
        changes = delivery.requeue(s, [bounced, queued, 999_999], actor=actor(), now=now)
    assert [(c.id, c.previous, c.status, c.changed) for c in changes] == [
        (bounced, "failed", "queued", True),
        (queued, "queued", "queued", False),
        (999_999, None, None, False),
    ]
    message = load(session_factory, OutboxMessage, bounced)
    assert message.attempts == 1  # kept
    invitation = load(session_factory, Invitation, message.invitation_id)
    assert invitation.status == "queued" and invitation.status_reason is None

    with session_factory.begin() as s:
        changes = delivery.cancel(s, [bounced, queued], actor=actor(), now=now)
    assert [(c.previous, c.status, c.changed) for c in changes] == [
        ("queued", "cancelled", True),
        ("queued", "cancelled", True),
    ]
    assert "invite send" in (changes[0].note or "")
    with session_factory.begin() as s:
        again = delivery.cancel(s, [queued], actor=actor(), now=now)
        back = delivery.requeue(s, [queued], actor=actor(), now=now)
    assert again[0].reason == "it was already cancelled" and not again[0].changed
    assert not back[0].changed

    # A failed invitation mail whose client has a newer live invitation stays failed.
    with mail_server(Handler(rcpt_reply=lambda _a: "550 no such user")) as port:
        old = queue("z@example.nl", invitation=True)
        run(settings(port))
    with session_factory.begin() as s:
        old_inv = s.get(Invitation, s.get(OutboxMessage, old).invitation_id)
        s.add(replace_invitation(old_inv))
    with session_factory.begin() as s:
        [change] = delivery.requeue(s, [old], actor=actor(), now=now)
    assert not change.changed and "newer live invitation" in (change.reason or "")
    with session_factory() as s:
        requeue_events = s.scalars(
            select(AuditEvent).where(AuditEvent.action.in_(("outbox.requeue", "outbox.cancel")))
        ).all()
    # the ticket mail concerns no client: only the invitation mail's changes are audited
    assert len(requeue_events) == 2


def replace_invitation(old: Invitation) -> Invitation:
    return Invitation(
        client_id=old.client_id,
        email=old.email,
        status="queued",
        created_at=datetime.now(UTC),
        expires_at=datetime.now(UTC) + timedelta(days=14),
        attempts=0,
        requested_by="tester",
    )


def test_list_messages_filters_and_refuses_unknown_statuses(
    session_factory: Any, queue: Callable[..., int]
) -> None:
    a = queue("a@example.nl")
    b = queue("b@example.nl")
    with session_factory.begin() as s:
        s.get(OutboxMessage, a).status = "failed"
        rows = delivery.list_messages(s, actor=actor())
        assert [r.id for r in rows] == [b, a]
        assert list(rows[0].as_dict()) == list(delivery.MESSAGE_FIELDS)
        assert [r.id for r in delivery.list_messages(s, actor=actor(), status="failed")] == [a]
        assert delivery.list_messages(s, actor=actor(), limit=1)[0].id == b
        with pytest.raises(InvalidInputError, match="unknown outbox status"):
            delivery.list_messages(s, actor=actor(), status="lost")


def test_settings_without_a_server_are_refused() -> None:
    with pytest.raises(InvalidInputError, match="ARKINCTL_SMTP_HOST"):
        delivery.check_settings(MailSettings())
    with pytest.raises(InvalidInputError, match="ARKINCTL_MAIL_FROM"):
        delivery.check_settings(MailSettings(smtp_host="mail", from_address="nobody"))


def test_a_server_that_never_answers_times_out_and_keeps_everything(
    session_factory: Any, queue: Callable[..., int], run: Any
) -> None:
    import socket

    with socket.socket() as silent:  # accepts connections (backlog), never says hello
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        mid = queue("a@example.nl")
        result = run(settings(port, timeout_seconds=1))
    assert (
        result.server_error
        == f"cannot reach the mail server 127.0.0.1:{port} (no answer within 1 s)"
    )
    assert [(d.id, d.status, d.attempts) for d in result.deferred] == [(mid, "queued", 0)]


def test_a_session_the_server_closes_is_reopened_for_the_next_message(
    session_factory: Any, queue: Callable[..., int], run: Any
) -> None:
    answers = iter(["421 4.7.0 too busy, closing"])
    handler = Handler(rcpt_reply=lambda _a: next(answers, None))
    with mail_server(handler) as port:
        first = queue("a@example.nl")
        second = queue("b@example.nl")
        result = run(settings(port))
    assert [(d.id, d.status, d.error) for d in result.results] == [
        (first, "queued", "recipient deferred: 421 4.7.0 too busy, closing"),
        (second, "sent", None),
    ]
    assert [r.rcpt_tos for r in handler.snapshot()] == [["b@example.nl"]]


def test_a_claim_held_when_the_server_goes_away_is_queued_again_not_uncertain(
    session_factory: Any, queue: Callable[..., int], run: Any
) -> None:
    # The next message is claimed with the mark of the previous one; here the server closes
    # the session (421) and is gone before the reconnect, so the held claim goes back.
    from contextlib import ExitStack

    answers = iter(["421 4.7.0 too busy, closing"])
    handler = Handler(rcpt_reply=lambda _a: next(answers, None))
    with ExitStack() as stack:
        port = stack.enter_context(mail_server(handler))
        first, second, third = (queue(f"{n}@example.nl") for n in "abc")
        result = run(settings(port), on_result=lambda _d: stack.close())
    assert result.server_error is not None and "cannot reach" in result.server_error
    assert handler.snapshot() == []
    statuses = {i: load(session_factory, OutboxMessage, i).status for i in (first, second, third)}
    assert statuses == {first: "queued", second: "queued", third: "queued"}
    held = load(session_factory, OutboxMessage, second)
    assert held.claimed_by is None and held.attempts == 0  # never handed over, not counted


def test_an_outage_never_uses_up_a_message(
    session_factory: Any, queue: Callable[..., int], run: Any
) -> None:
    mid = queue("a@example.nl", invitation=True)
    port = free_port()  # nothing listens here
    for _ in range(8):  # more runs than the maximum number of attempts
        with session_factory.begin() as s:
            s.get(OutboxMessage, mid).next_attempt_at = datetime.now(UTC)
        run(settings(port, max_attempts=3))
    message = load(session_factory, OutboxMessage, mid)
    assert (message.status, message.attempts) == ("queued", 0)
    invitation = load(session_factory, Invitation, message.invitation_id)
    assert invitation.status == "queued"
