"""`arkinctl invite batch` as real processes: two at once over the same clients, and one
killed with SIGKILL half-way and run again. The installed console script, SQLite and
PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from arkinctl.db.models import Client, Invitation, OutboxMessage
from tests.e2e.test_installed import start
from tests.factories import add_episode, make_client

pytestmark = pytest.mark.e2e


def _clients(session_factory: Any, n: int) -> list[str]:
    with session_factory.begin() as s:
        numbers = []
        for i in range(n):
            c = make_client(s, email=f"client{i}@example.nl")
            add_episode(s, c)
            numbers.append(c.client_number)
        return numbers


def _batch_file(tmp_path: Path, numbers: list[str]) -> Path:
    path = tmp_path / "batch.csv"
    path.write_text("client_number\n" + "".join(f"{n}\n" for n in numbers))
    return path


def _start(db_url: str, tmp_path: Path, path: Path, *extra: str) -> subprocess.Popen[str]:
    return start(db_url, tmp_path, "--format", "csv", "invite", "batch", str(path), *extra)


def _results(process: subprocess.Popen[str]) -> tuple[int, Counter[str], str]:
    out, err = process.communicate(timeout=300)
    assert "Traceback" not in err, err
    lines = out.splitlines()
    assert lines and lines[0].startswith("line,client_number,result"), out[:200]
    return process.returncode, Counter(line.split(",")[2] for line in lines[1:]), err


def _live_and_total(session_factory: Any) -> tuple[Counter[str], int, int]:
    with session_factory() as s:
        live = Counter(
            s.scalars(
                select(Client.client_number)
                .join(Invitation, Invitation.client_id == Client.id)
                .where(Invitation.status.in_(("queued", "sent")))
            )
        )
        invitations = s.scalar(select(func.count()).select_from(Invitation)) or 0
        messages = s.scalar(select(func.count()).select_from(OutboxMessage)) or 0
    return live, invitations, messages


def test_two_batches_at_once_invite_each_client_exactly_once(
    db_url: str, session_factory: Any, tmp_path: Path
) -> None:
    numbers = _clients(session_factory, 1200)  # several chunks of 500 each
    path = _batch_file(tmp_path, numbers)
    first, second = _start(db_url, tmp_path, path), _start(db_url, tmp_path, path)
    (rc1, res1, err1), (rc2, res2, err2) = _results(first), _results(second)

    assert (rc1, rc2) == (0, 0), err1 + err2
    assert res1["sent"] + res2["sent"] == len(numbers)
    assert res1["skipped"] + res2["skipped"] == len(numbers)
    assert res1["failed"] == res2["failed"] == 0
    live, invitations, messages = _live_and_total(session_factory)
    assert live == Counter(dict.fromkeys(numbers, 1))
    assert invitations == messages == len(numbers)


def test_a_batch_killed_half_way_finishes_the_rest_when_run_again(
    db_url: str, session_factory: Any, tmp_path: Path
) -> None:
    from arkinctl.services.invitations import BULK_CHUNK_SIZE, CHUNK_SIZE

    # three chunks or more, so that the kill lands after the first and before the last
    chunk = BULK_CHUNK_SIZE if db_url.startswith("postgresql") else CHUNK_SIZE
    numbers = _clients(session_factory, max(4000, 3 * chunk))
    path = _batch_file(tmp_path, numbers)
    doomed = _start(db_url, tmp_path, path)
    assert doomed.stdout is not None
    # Results of a chunk are printed after its commit: the first one means work is stored.
    header = doomed.stdout.readline()
    assert header.startswith("line,"), header + (doomed.stderr.read() if doomed.stderr else "")
    assert doomed.stdout.readline()
    os.kill(doomed.pid, signal.SIGKILL)
    doomed.communicate(timeout=30)
    assert doomed.returncode == -signal.SIGKILL

    live, invitations, messages = _live_and_total(session_factory)
    assert 0 < invitations < len(numbers), "the kill should have landed half-way"
    assert invitations == messages  # each invitation went in with its e-mail, or neither
    assert all(n == 1 for n in live.values())

    rc, results, err = _results(_start(db_url, tmp_path, path))
    assert rc == 0, err
    assert results == Counter({"skipped": invitations, "sent": len(numbers) - invitations})
    live, invitations, messages = _live_and_total(session_factory)
    assert live == Counter(dict.fromkeys(numbers, 1))
    assert invitations == messages == len(numbers)
