"""The set-based way of `invite batch` (PostgreSQL) gives exactly what the row-by-row way
gives: the same per-row results, the same invitations, the same e-mails, the same audit."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from arkinctl.config import Settings
from arkinctl.db.engine import make_engine
from arkinctl.db.models import AuditEvent, Client, Invitation, OutboxMessage
from arkinctl.services import invitation_bulk
from arkinctl.services.audit_log import verify_chain
from arkinctl.services.invitations import BatchRow, SendOptions, run_batch
from tests.conftest import throwaway_pg_database
from tests.factories import actor, add_account, add_episode, add_invitation, make_client

NOW = datetime(2026, 12, 4, 9, 30, tzinfo=UTC)


def _world(s: Session) -> list[BatchRow]:
    """One client of every kind a batch meets, and a file naming them (with repeats)."""
    rows: list[tuple[str, str | None]] = []
    numbers = iter(range(6_000_001, 6_000_100))  # the same in both databases

    def client(email: str | None = "plain@example.nl", treated: bool = True, **kw: Any) -> Client:
        c = make_client(s, number=str(next(numbers)), email=email, **kw)
        if treated:
            add_episode(s, c)
        return c

    plain = client()
    rows.append((plain.client_number, None))
    upper = client(
        email="Jan.Jansen+portal@Example.NL", given="Zoë", prefix="van der", family="Meulen-Özdemir"
    )
    rows.append((upper.client_number, None))
    rows.append((client(email="not-an-address").client_number, None))
    rows.append((client(email="").client_number, None))  # no address at all
    rows.append((client(email=None).client_number, "Given@Example.ORG"))  # from the file
    rows.append((client(email="old@example.nl").client_number, "new@example.nl"))
    rows.append((client(email=None).client_number, "broken@@example.nl"))
    rows.append((client(given=None, family=None, name_text="J. Text").client_number, None))
    rows.append((client(given=None, family=None).client_number, None))  # no name
    rows.append((client(given="", prefix="", family="Alleen").client_number, None))
    rows.append((client(deceased=True).client_number, None))
    rows.append((client(treated=False).client_number, None))
    active = client()
    add_account(s, active, status="active")
    rows.append((active.client_number, None))
    blocked = client()
    add_account(s, blocked, status="blocked")
    rows.append((blocked.client_number, None))
    invited_account = client()
    add_account(s, invited_account, status="invited")
    rows.append((invited_account.client_number, None))
    young = client()
    add_invitation(s, young, now=NOW, sent_days_ago=2)
    rows.append((young.client_number, None))
    old = client(email="moved@example.nl")
    add_invitation(s, old, now=NOW, sent_days_ago=10)
    rows.append((old.client_number, None))
    lapsed = client()
    add_invitation(s, lapsed, now=NOW, sent_days_ago=30)
    rows.append((lapsed.client_number, None))
    rows.append(("0000404", None))  # nobody
    rows.append((plain.client_number, None))  # a repeat of a quick row
    rows.append((young.client_number, None))  # a repeat of a row-by-row one
    more = [client(email=f"many{i}@Example.nl") for i in range(7)]
    rows += [(c.client_number, None) for c in more]
    return [BatchRow(line, n, e) for line, (n, e) in enumerate(rows, start=2)]


@pytest.fixture
def twin_databases(request: pytest.FixtureRequest) -> Iterator[list[sessionmaker[Session]]]:
    template = request.getfixturevalue("pg_template")
    with (
        throwaway_pg_database("arkinctl_bulk_a", template) as a,
        throwaway_pg_database("arkinctl_bulk_b", template) as b,
    ):
        engines = [make_engine(a), make_engine(b)]
        yield [sessionmaker(e, expire_on_commit=False) for e in engines]
        for e in engines:
            e.dispose()


def _batch(factory: sessionmaker[Session], rows: list[BatchRow], chunk: int) -> list[tuple]:
    settings = Settings(database_url="", database_is_default=False, user="tester")
    return [
        (o.line, o.client_number, o.result, o.reason, o.email, o.note, o.supersedes is not None)
        for o in run_batch(
            factory,
            rows,
            settings=settings,
            actor=actor(),
            options=SendOptions(batch_id="B-twin", resend=True),
            now=lambda: NOW,
            chunk_size=chunk,
        )
    ]


def _state(factory: sessionmaker[Session]) -> dict[str, Any]:
    with factory() as s:
        number: dict[int, str] = {
            r[0]: r[1] for r in s.execute(select(Client.id, Client.client_number))
        }
        invitations = sorted(
            (
                (
                    number[i.client_id],
                    i.email,
                    i.status,
                    i.batch_id,
                    i.requested_by,
                    i.superseded_by_id is not None,
                    i.expires_at,
                )
                for i in s.scalars(select(Invitation))
            ),
            key=repr,
        )
        mails = sorted(
            (
                (
                    m.recipient,
                    m.recipient_name,
                    m.subject,
                    m.body,
                    m.status,
                    m.purpose,
                    m.message_id.endswith(".arkinctl@localhost>"),
                )
                for m in s.scalars(select(OutboxMessage))
            ),
            key=repr,
        )
        audit = [
            (
                e.action,
                e.action_code,
                e.client_number,
                e.object_type,
                e.outcome,
                e.object_id is not None,
            )
            for e in s.scalars(select(AuditEvent).order_by(AuditEvent.id))
        ]
        report = verify_chain(s, actor=actor())
    return {"invitations": invitations, "mails": mails, "audit": audit, "chain": report.ok}


@pytest.mark.parametrize("chunk", [4, 500])
def test_both_ways_give_the_same_results_rows_mails_and_audit(
    twin_databases: list[sessionmaker[Session]], monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    quick_way, row_way = twin_databases
    for factory in twin_databases:
        with factory.begin() as s:
            rows = _world(s)
    quick = _batch(quick_way, rows, chunk)
    with monkeypatch.context() as m:
        m.setattr(invitation_bulk, "applies", lambda session: False)
        by_row = _batch(row_way, rows, chunk)
    assert quick == by_row
    # the comparison covers all three kinds of result
    assert {r[2] for r in quick} == {"sent", "skipped", "failed"}
    assert _state(quick_way) == _state(row_way)
    assert _state(quick_way)["chain"] is True


def test_most_rows_of_a_plain_batch_go_the_set_based_way(
    twin_databases: list[sessionmaker[Session]], monkeypatch: pytest.MonkeyPatch
) -> None:
    factory = twin_databases[0]
    with factory.begin() as s:
        rows = _world(s)
    taken: list[int] = []
    real = invitation_bulk.queue_quick_rows

    def counting(*args: Any, **kwargs: Any) -> list[invitation_bulk.Queued]:
        made = real(*args, **kwargs)
        taken.extend(q.line for q in made)
        return made

    monkeypatch.setattr(invitation_bulk, "queue_quick_rows", counting)
    results = _batch(factory, rows, 500)
    sent_lines = {r[0] for r in results if r[2] == "sent"}
    # plain, upper-case domain, e-mails from the file, the three names, and the seven more
    assert len(taken) >= 13 and set(taken) <= sent_lines
    # the resend, the one past its expiry and the one with an unused (invited) account went
    # row by row, and were sent
    assert len(sent_lines - set(taken)) == 3
