"""Benchmark the audit trail on PostgreSQL: exporting it, and what writing it costs.

    .venv/bin/python bench/audit.py [--events 1000000] [--runs 5] [--database-url URL]

A fresh database with N audit events (set-based, spread over five years, many users and
clients), then:
- `arkinctl --format csv audit list` (all events, to a pipe) against the floor: a Python
  process that connects with psycopg and COPYs the same columns of the same rows TO STDOUT
  as CSV; goal ≤ 2x, and the listing's peak RSS ≤ 100 MiB;
- the audit write of `client show`: one event appended the way every command does it (chain
  lock, last hash, insert, chain head, commit; the median of 200, in one process) against
  the whole `arkinctl client show` process; goal ≤ 10 % of it.
See bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import benchdb
import psycopg
from measure import (
    Command,
    Environment,
    arkinctl_env,
    run_once,
    time_pair,
    timed_with_rss,
    venv_arkinctl,
)
from report import Row, results_table, write_json

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
RESULTS = Path(__file__).resolve().parent / "results" / "audit.json"
LIST_GOAL, MEMORY_GOAL_MIB, WRITE_SHARE_GOAL = 2.0, 100.0, 0.10

COLUMNS = (
    'id, event_id, occurred_at, "user", role, on_behalf_of, host, client_number, action, '
    "action_code, object_type, object_id, purpose, outcome, break_glass, command"
)
FLOOR_COPY = f"""\
import sys
import psycopg
with psycopg.connect(sys.argv[1]) as conn:
    with conn.cursor().copy(
        '''COPY (SELECT {COLUMNS} FROM audit_events ORDER BY id)
           TO STDOUT WITH (FORMAT csv, HEADER)'''
    ) as copy:
        out = sys.stdout.buffer
        for block in copy:
            out.write(block)
"""

# N events over five years: a time-ordered UUID, 40 users in three roles, 50,000 clients,
# the actions a working day has, now and then a reason and a break of the glass.
LOAD_EVENTS = """
INSERT INTO audit_events (event_id, occurred_at, "user", role, on_behalf_of, host, client_id,
                          client_number, action, action_code, object_type, object_id,
                          purpose, outcome, break_glass, command, prev_hash, hash)
SELECT lpad(to_hex(k), 8, '0') || '-b981-7b95-850e-' || lpad(to_hex(k), 12, '0'),
       timestamptz '2021-12-01 08:00+00' + k * (interval '5 years' / %(n)s),
       'user' || (k %% 40),
       (ARRAY['practitioner', 'technical', 'admin'])[1 + k %% 3],
       CASE WHEN k %% 97 = 0 THEN 'user' || ((k + 1) %% 40) END,
       'ws-' || (k %% 25) || '.zorg.example',
       NULL,
       (1000000 + k %% 50000)::text,
       (ARRAY['client.show', 'diagnose', 'files.list', 'dob.verify', 'client.search',
              'invite.send', 'share.disable'])[1 + k %% 7],
       (ARRAY['R', 'R', 'R', 'R', 'E', 'C', 'U'])[1 + k %% 7],
       (ARRAY['client', 'client', 'file_parts', 'client', 'search', 'invitation',
              'sharing'])[1 + k %% 7],
       (1000000 + k %% 50000)::text,
       CASE WHEN k %% 13 = 0 THEN 'telefoon cliënt, "geen gegevens", ticket TD-' || k END,
       CASE WHEN k %% 101 = 0 THEN 'denied' ELSE 'ok' END,
       k %% 211 = 0,
       'arkinctl diagnose --format',
       md5(k::text) || md5((k + 1)::text),
       md5((k + 1)::text) || md5(k::text)
FROM generate_series(1, %(n)s) AS k
"""
CLIENT = """
INSERT INTO clients (client_number, given_name, family_name, birth_date, email, deceased,
                     sharing_enabled, search_text, created_at, updated_at)
VALUES ('1000001', 'Cliënt', 'Bench', date '1980-01-01', 'client@example.nl', false, true,
        'client bench 1000001', now(), now())
"""

# One event appended as every command appends it, timed in one warm process.
WRITE_TIMER = """
import statistics, sys, time
from sqlalchemy.orm import sessionmaker
from arkinctl.db.engine import make_engine
from arkinctl.services.audit import Actor, record

engine = make_engine(sys.argv[1])
factory = sessionmaker(engine, expire_on_commit=False)
who = Actor(username="bench", role="admin", host="bench", command="arkinctl client show")
seconds = []
for i in range(220):
    started = time.perf_counter()
    with factory.begin() as session:
        record(session, who, action="client.show", action_code="R", object_type="client")
    if i >= 20:  # the first ones compile the statements
        seconds.append(time.perf_counter() - started)
print(statistics.median(seconds))
"""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="audit events (1000000)")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per command (median)")
    parser.add_argument(
        "--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_SERVER)
    )
    args = parser.parse_args(argv)
    if args.events < 1 or args.runs < 1:
        parser.error("--events and --runs must be ≥ 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    server = benchdb.Server(args.database_url)
    name = f"arkinctl_bench_audit_{args.events}"
    url = server.libpq_url(name)
    arkinctl = venv_arkinctl()
    env = arkinctl_env(url)
    benchdb.drop(server, name)
    benchdb.create(server, name)
    try:
        subprocess.run([arkinctl, "db", "init"], env=env, check=True, capture_output=True)
        print(f"  loading {args.events:,} audit events …", end="", file=sys.stderr, flush=True)
        started = time.perf_counter()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(LOAD_EVENTS, {"n": args.events})
            conn.execute(CLIENT)
            conn.execute(
                "UPDATE audit_chain_head SET last_event_id = (SELECT max(id) FROM audit_events),"
                " events = (SELECT count(*) FROM audit_events)"
            )
            conn.execute("ANALYZE audit_events")
        print(f" {time.perf_counter() - started:.1f} s", file=sys.stderr)

        with tempfile.TemporaryDirectory() as cwd:
            where = Environment(env=env, cwd=cwd, runs=args.runs)
            listing = Command(
                "arkinctl --format csv audit list", [arkinctl, "--format", "csv", "audit", "list"]
            )
            floor = Command(
                "psycopg COPY of the same rows", [sys.executable, "-c", FLOOR_COPY, url]
            )
            listed, copied = time_pair(listing, floor, where)
            peak = timed_with_rss(list(listing.argv), env)[1]
            show = Command("arkinctl client show", [arkinctl, "client", "show", "1000001"])
            run_once(show, where)  # warm-up
            shown = statistics.median(run_once(show, where)[0] for _ in range(args.runs))
            write = subprocess.run(
                [sys.executable, "-c", WRITE_TIMER, url],
                capture_output=True, text=True, env=env, check=True,
            )  # fmt: skip
            write_seconds = float(write.stdout.strip())
    except (benchdb.BenchError, subprocess.CalledProcessError) as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    finally:
        benchdb.drop(server, name)

    rows = [
        Row(
            f"audit list --format csv, {args.events:,} events",
            listed.median,
            "s",
            "psycopg COPY of the same rows",
            copied.median,
            LIST_GOAL,
        ),
        Row(f"audit list {args.events:,} peak RSS", peak, "MiB", None, None, MEMORY_GOAL_MIB),
        Row(
            "audit write (one event, committed)",
            write_seconds,
            "s",
            "arkinctl client show",
            shown,
            WRITE_SHARE_GOAL,
        ),
    ]
    print(f"\nAudit trail, {args.events:,} events, median of {args.runs} runs:")
    print(results_table(rows))
    missed = [r.measurement for r in rows if not r.met]
    print(f"\n{len(missed)} goal(s) missed" + (": " + "; ".join(missed) if missed else ""))
    write_json(RESULTS, {"events": args.events, "rows": [r.as_dict() for r in rows]})
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
