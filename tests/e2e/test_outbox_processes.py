"""`arkinctl outbox deliver` as real processes: two at once, and one killed mid-send. The
installed console script, a real SMTP server (aiosmtpd, this process), SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from arkinctl.config import MailSettings
from arkinctl.db.models import OutboxMessage
from arkinctl.services.outbox import Mail, enqueue
from tests.e2e.test_installed import ARKINCTL
from tests.mailserver import Handler, mail_server

pytestmark = pytest.mark.e2e


def _queue(session_factory: Any, n: int) -> dict[int, str]:
    """n queued messages; id → Message-ID."""
    settings = MailSettings(from_address="no-reply@zorg.example")
    with session_factory.begin() as s:
        messages = [
            enqueue(
                s,
                Mail(f"client{i}@example.nl", f"Cliënt {i}", "Uitnodiging", "Welkom.\n"),
                purpose="ticket",
                settings=settings,
            )
            for i in range(n)
        ]
        s.flush()
        return {m.id: m.message_id for m in messages}


def _env(tmp_path: Path, db_url: str, port: int, **extra: str) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return {
        "HOME": str(home),
        "PATH": os.defpath,
        "LANG": "C.UTF-8",
        "ARKINCTL_USER": "tester",
        "ARKINCTL_DATABASE_URL": db_url,
        "ARKINCTL_SMTP_HOST": "127.0.0.1",
        "ARKINCTL_SMTP_PORT": str(port),
        "ARKINCTL_SMTP_SECURITY": "none",
        "ARKINCTL_MAIL_FROM": "no-reply@zorg.example",
        **extra,
    }


def _start(env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    if ARKINCTL is None:
        pytest.skip("the arkinctl console script is not installed")
    return subprocess.Popen(
        [ARKINCTL, "outbox", "deliver", "--format", "json"],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )


def _finish(process: subprocess.Popen[str]) -> tuple[int, Any, str]:
    out, err = process.communicate(timeout=120)
    assert "Traceback" not in err, err
    return process.returncode, json.loads(out) if out else None, err


def test_two_deliverers_at_once_send_every_message_exactly_once(
    db_url: str, session_factory: Any, tmp_path: Path
) -> None:
    queued = _queue(session_factory, 50)
    handler = Handler(delay=0.05)
    with mail_server(handler) as port:
        env = _env(tmp_path, db_url, port)
        first, second = _start(env, tmp_path), _start(env, tmp_path)
        (rc1, doc1, err1), (rc2, doc2, err2) = _finish(first), _finish(second)

    assert (rc1, rc2) == (0, 0), err1 + err2
    sent1 = {r["id"] for r in doc1["results"] if r["status"] == "sent"}
    sent2 = {r["id"] for r in doc2["results"] if r["status"] == "sent"}
    assert sent1.isdisjoint(sent2)
    assert sent1 | sent2 == set(queued)
    assert sent1 and sent2, "both deliverers should have taken a share"
    received = Counter(r.message_id for r in handler.snapshot())
    assert received == Counter(queued.values())  # each exactly once
    with session_factory() as s:
        assert set(s.scalars(select(OutboxMessage.status)).all()) == {"sent"}
        claimers = set(s.scalars(select(OutboxMessage.claimed_by)).all())
    assert len(claimers) == 2


def test_a_deliverer_killed_mid_send_leaves_its_message_uncertain_never_resent(
    db_url: str, session_factory: Any, tmp_path: Path
) -> None:
    queued = _queue(session_factory, 8)
    handler = Handler(delay=2.0)  # the server keeps each message 2 s before it answers
    with mail_server(handler) as port:
        env = _env(tmp_path, db_url, port, ARKINCTL_OUTBOX_CLAIM_TIMEOUT="1")
        doomed = _start(env, tmp_path)
        try:
            handler.wait_for(2, timeout=60)  # the 2nd is in the server's hands, unanswered
        finally:
            os.kill(doomed.pid, signal.SIGKILL)
            doomed.communicate(timeout=30)
        assert doomed.returncode == -signal.SIGKILL
        first_ids = {r.message_id for r in handler.snapshot()}
        with session_factory() as s:
            statuses = Counter(s.scalars(select(OutboxMessage.status)).all())
        assert statuses == Counter({"queued": 6, "sent": 1, "sending": 1})

        handler.delay = 0
        time.sleep(1.2)  # past the claim timeout
        rc, doc, err = _finish(_start(env, tmp_path))

    assert rc == 10, err  # one message needs a person
    assert doc["summary"] == {
        "total": 7,
        "sent": 6,
        "queued": 0,
        "failed": 0,
        "uncertain": 1,
        "cancelled": 0,
    }
    received = Counter(r.message_id for r in handler.snapshot())
    assert received == Counter(queued.values())  # each exactly once, none lost, none twice
    with session_factory() as s:
        uncertain = s.scalars(
            select(OutboxMessage).where(OutboxMessage.status == "uncertain")
        ).all()
    assert len(uncertain) == 1 and uncertain[0].message_id in first_ids
    assert uncertain[0].claimed_by.endswith(f":{doomed.pid}")
    assert "may have accepted" in (uncertain[0].last_error or "")
