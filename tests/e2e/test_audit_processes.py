"""Audit events written by several processes at once keep one unbroken chain (PostgreSQL,
real processes: each appends under the chain lock, in its own transactions)."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import throwaway_pg_database

pytestmark = pytest.mark.e2e

WRITER = """
import sys
from sqlalchemy.orm import sessionmaker
from arkinctl.db.engine import make_engine
from arkinctl.services.audit import Actor, record

engine = make_engine(sys.argv[1])
factory = sessionmaker(engine, expire_on_commit=False)
who = Actor(username="tester", role="admin", host=f"writer-{sys.argv[2]}", command="pytest")
for _ in range(int(sys.argv[3])):
    with factory.begin() as session:
        record(session, who, action="client.show", action_code="R")
"""


def test_four_writers_at_once_leave_one_intact_chain(pg_template: str, tmp_path: Path) -> None:
    from sqlalchemy import func, select
    from sqlalchemy.orm import sessionmaker

    from arkinctl.db.engine import make_engine
    from arkinctl.db.models import AuditEvent
    from arkinctl.services.audit import Actor
    from arkinctl.services.audit_log import verify_chain

    per_writer = 60
    with throwaway_pg_database("arkinctl_chain", pg_template) as url:
        writers = [
            subprocess.Popen(
                [sys.executable, "-c", WRITER, url, str(n), str(per_writer)],
                stderr=subprocess.PIPE,
                text=True,
            )
            for n in range(4)
        ]
        for w in writers:
            _, err = w.communicate(timeout=180)
            assert w.returncode == 0, err
        engine = make_engine(url)
        with sessionmaker(engine)() as s:
            hosts = s.execute(select(AuditEvent.host, func.count()).group_by(AuditEvent.host)).all()
            assert sorted(hosts) == [(f"writer-{n}", per_writer) for n in range(4)]
            # the writers really interleaved: one host's events are not one block
            order = [h for (h,) in s.execute(select(AuditEvent.host).order_by(AuditEvent.id))]
            assert sum(1 for a, b in itertools.pairwise(order) if a != b) > 4
            admin = Actor(username="tester", role="admin", host="h", command="pytest")
            report = verify_chain(s, actor=admin)
        engine.dispose()
    assert report.ok and report.checked == 4 * per_writer
