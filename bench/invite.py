"""Benchmark `arkinctl invite batch` and `arkinctl outbox deliver` on PostgreSQL.

    .venv/bin/python bench/invite.py [--sizes 10000 100000] [--runs 3] [--database-url URL]

For each size N: a fresh database with N treated clients who may be invited; then
- queueing: `arkinctl invite batch FILE` over all N (invitation, outbox message and audit
  event per client), the median of `--runs` whole-process runs (the invitations are removed
  between runs), its peak RSS, against the floor: a Python process that COPYs the same
  invitation rows (as the batch wrote them) into a copy of the invitations table with the
  same indexes; and, for reference, the database's own share: a Python process that writes
  the same three rows per client (invitation, e-mail, audit event) with one INSERT … SELECT
  into the real tables, with their indexes and foreign keys, and rolls back;
- delivery: `--deliverers` processes of `arkinctl outbox deliver` at once, sending every
  queued message to an SMTP sink on loopback (aiosmtpd, in this process), once.
Needs the project's venv with the test extra (aiosmtpd). See bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import benchdb
import psycopg
from measure import RSS_WRAPPER, arkinctl_env, timed_with_rss, venv_arkinctl
from report import Row, results_table, table, write_json

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
RESULTS = Path(__file__).resolve().parent / "results" / "invite.json"
QUEUE_GOAL = 3.0  # x the COPY of the same invitation rows
MEMORY_GOAL_MIB = 100.0
COLUMNS = "client_id, email, status, created_at, expires_at, attempts, requested_by, batch_id"

# The floor: start Python, import psycopg, connect, COPY the rows in, commit.
FLOOR_COPY = f"""\
import sys
import psycopg
with psycopg.connect(sys.argv[1]) as conn, open(sys.argv[2], "rb") as rows:
    with conn.cursor().copy("COPY invitations_floor ({COLUMNS}) FROM STDIN") as copy:
        while block := rows.read(1 << 16):
            copy.write(block)
"""

# A reference, not a goal: the database's own share of a batch. Start Python, import
# psycopg, connect, and write the rows a batch writes per client (invitation, e-mail with
# its body, audit event) with one INSERT … SELECT, against the real tables, their indexes
# and foreign keys; no Python per row, no checks, no file, no output; then roll back.
DATABASE_ALONE = """\
import sys
import psycopg
SQL = '''
WITH new AS (
  INSERT INTO invitations (client_id, email, status, created_at, expires_at, attempts,
                           requested_by, batch_id)
  SELECT c.id, c.email, 'queued', now(), now() + interval '14 days', 0, 'bench', 'B-alone'
  FROM clients AS c ORDER BY c.id
  RETURNING id, client_id, email
), mail AS (
  INSERT INTO outbox_messages (message_id, purpose, invitation_id, recipient, recipient_name,
                               subject, body, status, attempts, next_attempt_at, created_at)
  SELECT '<1.2.' || new.id || '.' || floor(random() * 1e15)::bigint || '.arkinctl@localhost>',
         'invitation', new.id, new.email, 'Cliënt Bench', 'Uitnodiging voor het cliëntportaal',
         repeat('x', 540), 'queued', 0, now(), now()
  FROM new
)
INSERT INTO audit_events (event_id, occurred_at, "user", host, client_id, client_number,
                          action, action_code, object_type, object_id, outcome, break_glass,
                          command, prev_hash, hash)
SELECT lpad(to_hex(new.id), 8, '0') || '-b981-7b95-850e-' || lpad(to_hex(new.id), 12, '0'), now(),
       'bench', 'host', new.client_id, new.client_id::text, 'invite.batch', 'C', 'invitation',
       new.id::text, 'ok', false, 'arkinctl --format csv invite batch batch.csv',
       encode(sha256(new.id::text::bytea), 'hex'), encode(sha256(new.email::bytea), 'hex')
FROM new'''
with psycopg.connect(sys.argv[1]) as conn:
    conn.execute(SQL)
    conn.rollback()
"""

LOAD_CLIENTS = (
    """
INSERT INTO clients (client_number, given_name, family_name, birth_date, email, deceased,
                     sharing_enabled, search_text, created_at, updated_at)
SELECT (8000000 + k)::text, 'Cliënt', 'Bench ' || k, date '1970-01-01' + (k %% 15000),
       'client.' || k || '@example.nl', false, true, 'client bench ' || k, now(), now()
FROM generate_series(1, %(n)s) AS k""",
    """INSERT INTO care_episodes (client_id, kind, start_date, source_system, source_id)
SELECT id, 'record', date '2023-01-02', 'bench', 'episode/' || id FROM clients""",
    "ANALYZE clients",
    "ANALYZE care_episodes",
)


class Sink:
    """An SMTP server on 127.0.0.1 that accepts and counts every message."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.count = 0
        sink = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                sink.count += 1
                return "250 OK"

        with socket.socket() as probe:  # a free port (aiosmtpd cannot start on port 0)
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> int:
        self.controller.start()
        return self.port

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--runs", type=int, default=3, help="timed batch runs per size")
    parser.add_argument(
        "--deliverers",
        type=int,
        default=1,
        help="`outbox deliver` processes run at once (default 1; they never send one twice)",
    )
    parser.add_argument(
        "--deliver-limit",
        type=int,
        default=10_000,
        help="deliver at most this many of each batch's messages (default 10000; 0: all)",
    )
    parser.add_argument(
        "--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_SERVER)
    )
    args = parser.parse_args(argv)
    if args.runs < 1 or args.deliverers < 1 or min(args.sizes) < 1:
        parser.error("--runs, --deliverers and every size must be ≥ 1")
    return args


def _parallel(argv: list[str], env: dict[str, str], processes: int) -> tuple[float, float]:
    """Wall seconds of `processes` copies of one command run at once, and their largest
    peak RSS (MiB)."""
    started = time.perf_counter()
    running = [
        subprocess.Popen(
            [sys.executable, "-c", RSS_WRAPPER, *argv],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(processes)
    ]
    peaks = []
    for p in running:
        out, err = p.communicate()
        if p.returncode != 0:
            raise benchdb.BenchError(f"{argv[3:5]} failed: {err.strip()[:500]}")
        peaks.append(int(out.strip()) / 1024)
    return time.perf_counter() - started, max(peaks)


def _check(argv: list[str], env: dict[str, str], ok: tuple[int, ...] = (0,)) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, env=env)
    if done.returncode not in ok:
        raise benchdb.BenchError(f"{' '.join(argv[1:4])}: exit {done.returncode}: {done.stderr}")


def _reset(conn: psycopg.Connection) -> None:
    # Audit events are append-only, also in the database (migration 0005); the bench
    # database is its own, and its owner lifts the guard to start each run afresh.
    conn.execute("ALTER TABLE audit_events DISABLE TRIGGER USER")
    conn.execute("TRUNCATE outbox_messages, invitations, audit_events RESTART IDENTITY CASCADE")
    conn.execute("UPDATE audit_chain_head SET last_event_id = NULL, last_hash = NULL, events = 0")
    conn.execute("ALTER TABLE audit_events ENABLE TRIGGER USER")


def bench_size(
    server: benchdb.Server, n: int, runs: int, work: Path, deliverers: int, deliver_limit: int
) -> tuple[list[Row], list[tuple[str, float]]]:
    name = f"arkinctl_bench_invite_{n}"
    url = server.libpq_url(name)
    benchdb.drop(server, name)
    benchdb.create(server, name)
    arkinctl = venv_arkinctl()
    try:
        env = arkinctl_env(url)
        _check([arkinctl, "db", "init"], env)
        with psycopg.connect(url, autocommit=True) as conn:
            for statement in LOAD_CLIENTS:
                conn.execute(statement, {"n": n} if "%(n)s" in statement else None)
        batch = work / f"batch-{n}.csv"
        with batch.open("w") as f:
            f.write("client_number\n")
            f.writelines(f"{8000000 + k}\n" for k in range(1, n + 1))

        seconds, peaks, alone = [], [], []
        for run in range(runs):
            with psycopg.connect(url, autocommit=True) as conn:
                _reset(conn)
            alone.append(timed_with_rss([sys.executable, "-c", DATABASE_ALONE, url], env)[0])
            with psycopg.connect(url, autocommit=True) as conn:
                _reset(conn)  # nothing of the rolled-back rows stays in the way
            print(f"  invite batch of {n:,}, run {run + 1}/{runs} …", end="", file=sys.stderr)
            took, peak = timed_with_rss(
                [arkinctl, "--format", "csv", "invite", "batch", str(batch)], env
            )
            print(f" {took:.1f} s, {peak:.0f} MiB", file=sys.stderr)
            seconds.append(took)
            peaks.append(peak)

        rows_file = work / f"invitations-{n}.copy"
        with psycopg.connect(url, autocommit=True) as conn:
            queued = conn.execute("SELECT count(*) FROM outbox_messages").fetchone()
            if queued is None or queued[0] != n:
                raise benchdb.BenchError(f"the batch queued {queued} messages, expected {n}")
            with (
                rows_file.open("wb") as f,
                conn.cursor().copy(
                    f"COPY (SELECT {COLUMNS} FROM invitations ORDER BY id) TO STDOUT"
                ) as copy,
            ):
                for block in copy:
                    f.write(block)
            conn.execute("CREATE TABLE invitations_floor (LIKE invitations INCLUDING ALL)")
        floor_seconds = []
        for _ in range(runs):
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("TRUNCATE invitations_floor")
            took, _peak = timed_with_rss(
                [sys.executable, "-c", FLOOR_COPY, url, str(rows_file)], env
            )
            floor_seconds.append(took)

        port_env: dict[str, str]
        with Sink() as port:
            port_env = arkinctl_env(
                url,
                ARKINCTL_SMTP_HOST="127.0.0.1",
                ARKINCTL_SMTP_PORT=str(port),
                ARKINCTL_SMTP_SECURITY="none",
                ARKINCTL_MAIL_FROM="no-reply@zorg.example",
            )
            d = min(n, deliver_limit) if deliver_limit else n
            print(
                f"  outbox deliver of {d:,} by {deliverers} deliverer(s) …",
                end="",
                file=sys.stderr,
            )
            deliver, deliver_peak = _parallel(
                [
                    arkinctl,
                    "--format",
                    "csv",
                    "outbox",
                    "deliver",
                    "--limit",
                    str(-(-d // deliverers)),
                ],
                port_env,
                deliverers,
            )
            print(f" {deliver:.1f} s", file=sys.stderr)
        with psycopg.connect(url) as conn:
            sent = conn.execute(
                "SELECT count(*) FROM outbox_messages WHERE status = 'sent'"
            ).fetchone()
        if sent is None or sent[0] != d:
            raise benchdb.BenchError(f"delivery sent {sent} of {d} messages")

        queue_median, floor_median = statistics.median(seconds), statistics.median(floor_seconds)
        print(
            f"  {n:,}: queue {n / queue_median:,.0f} rows/s, COPY {n / floor_median:,.0f} rows/s,"
            f" deliver {d / deliver:,.0f} messages/s",
            file=sys.stderr,
        )
        return [
            Row(
                f"invite batch {n:,} (queue)",
                queue_median,
                "s",
                f"COPY {n:,} invitation rows",
                floor_median,
                QUEUE_GOAL,
            ),
            Row(
                f"reference: the database alone writing those {n:,} x 3 rows",
                statistics.median(alone),
                "s",
                f"COPY {n:,} invitation rows",
                floor_median,
                QUEUE_GOAL,
            ),
            Row(f"invite batch {n:,} peak RSS", max(peaks), "MiB", None, None, MEMORY_GOAL_MIB),
            Row(f"outbox deliver {d:,} peak RSS", deliver_peak, "MiB", None, None, MEMORY_GOAL_MIB),
        ], [
            (f"invite batch {n:,} (queue)", n / queue_median),
            (f"COPY {n:,} invitation rows", n / floor_median),
            (f"outbox deliver {d:,} of {n:,} ({deliverers} deliverer(s))", d / deliver),
        ]
    finally:
        benchdb.drop(server, name)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    server = benchdb.Server(args.database_url)
    rows: list[Row] = []
    rates: list[tuple[str, float]] = []
    try:
        with tempfile.TemporaryDirectory(prefix="arkinctl-bench-") as tmp:
            for n in args.sizes:
                size_rows, size_rates = bench_size(
                    server, n, args.runs, Path(tmp), args.deliverers, args.deliver_limit
                )
                rows += size_rows
                rates += size_rates
    except benchdb.BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    print(results_table(rows))
    print()
    print(table(("run", "rows per second"), [(what, f"{rate:,.0f}") for what, rate in rates]))
    write_json(
        RESULTS,
        {"rows": [r.as_dict() for r in rows], "rows_per_second": dict(rates)},
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
