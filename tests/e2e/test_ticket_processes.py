"""`arkinctl ticket open` from several processes at the same moment: unique numbers, and one
ticket (plus comments) per client and category. The installed console script, SQLite and
PostgreSQL."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from arkinctl.db.models import Ticket, TicketEvent
from tests.e2e.test_installed import start
from tests.factories import add_account, add_episode, make_client

pytestmark = pytest.mark.e2e


def _open(db_url: str, tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    return start(db_url, tmp_path, "--format", "json", "ticket", "open", *args)


def _wait(processes: list[subprocess.Popen[str]]) -> list[dict[str, Any]]:
    docs = []
    for p in processes:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        docs.append(json.loads(out))
    return docs


def test_tickets_opened_at_once_get_unique_numbers_and_never_a_twin(
    db_url: str, session_factory: Any, tmp_path: Path
) -> None:
    with session_factory.begin() as s:
        clients = []
        for _ in range(4):
            c = make_client(s)
            add_episode(s, c)
            add_account(s, c, status="blocked")
            clients.append(c.client_number)
    same = [_open(db_url, tmp_path, clients[0], "--from-diagnosis") for _ in range(4)]
    different = [_open(db_url, tmp_path, n, "-c", "account") for n in clients[1:]]
    same_docs, different_docs = _wait(same), _wait(different)

    assert sorted(d["created"] for d in same_docs) == [False, False, False, True]
    assert len({d["number"] for d in same_docs}) == 1
    numbers = [d["number"] for d in different_docs] + [same_docs[0]["number"]]
    assert len(set(numbers)) == 4
    with session_factory() as s:
        assert sorted(s.scalars(select(Ticket.number)).all()) == sorted(numbers)
        kinds = s.scalars(
            select(TicketEvent.kind)
            .join(Ticket, Ticket.id == TicketEvent.ticket_id)
            .where(Ticket.client_number == clients[0])
        ).all()
    assert sorted(kinds) == ["comment", "comment", "comment", "created"]
