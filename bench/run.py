"""Build a large arkinctl database on PostgreSQL and measure the interactive commands.

    .venv/bin/python bench/run.py [--clients N] [--parts-per-client 20] [--runs 7] [--keep]
                                  [--database-url URL] [--jobs J]

See bench/README.md for what each figure means.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import benchdb
import dataset
import psycopg
import queries
from measure import Command, Environment, Samples, peak_rss_mib, time_pair
from report import Row, load_table, results_table, table, write_json

from arkinctl import __version__ as arkinctl_version
from arkinctl.services.visibility import cutoff_instant

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
SMALL_CLIENTS = 1_000
SEARCH_TEXT = "jansen"  # the second most common family name in the Netherlands
RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"

# The floor of `client show`: start Python, import the ORM and the driver, connect, select
# the client by client number, print it.
FLOOR_SHOW = """\
import sys
import psycopg
import sqlalchemy.orm
from sqlalchemy import create_engine, text
engine = create_engine(sys.argv[1])
with engine.connect() as conn:
    print(conn.execute(text("SELECT * FROM clients WHERE client_number = :n"),
                       {"n": sys.argv[2]}).all())
"""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--clients", type=int, default=100_000, help="clients (default 100000)")
    parser.add_argument(
        "--parts-per-client", type=int, default=20, help="mean file parts per client (default 20)"
    )
    parser.add_argument("--runs", type=int, default=7, help="timed runs per command (median)")
    parser.add_argument(
        "--keep", action="store_true", help="keep the databases, and reuse them when complete"
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_SERVER),
        help=f"any database on the server to use (default {DEFAULT_SERVER})",
    )
    parser.add_argument(
        "--jobs", type=int, default=os.cpu_count() or 2, help="connections used for the load"
    )
    args = parser.parse_args(argv)
    if args.clients < 1 or args.runs < 1 or args.parts_per_client < 2 or args.jobs < 1:
        parser.error("--clients, --runs and --jobs must be ≥ 1, --parts-per-client ≥ 2")
    return args


@dataclass(frozen=True)
class Tools:
    arkinctl: str
    python: str
    psql: str


def find_tools() -> Tools:
    beside = Path(sys.executable).parent / "arkinctl"
    arkinctl = str(beside) if beside.exists() else shutil.which("arkinctl")
    psql = shutil.which("psql")
    if arkinctl is None or psql is None:
        raise benchdb.BenchError("need `arkinctl` (run with the project's venv python) and `psql`")
    return Tools(arkinctl=arkinctl, python=sys.executable, psql=psql)


def clean_environment(pycache: Path) -> dict[str, str]:
    """The environment of every measured process.

    No ARKINCTL_* settings leak in: arkinctl runs on its documented defaults. Bytecode goes
    to a private cache (`pycache`), filled by the warm-up run: timings then do not depend on
    whether this checkout's __pycache__ happens to be current (other people edit the source,
    and PYTHONDONTWRITEBYTECODE may be set), and nothing is written outside the temp dir.
    """
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("ARKINCTL_") and k != "PYTHONDONTWRITEBYTECODE"
    }
    return {
        **env,
        "ARKINCTL_USER": dataset.BENCH_USER,
        "NO_COLOR": "1",
        "PYTHONPYCACHEPREFIX": str(pycache),
    }


# ---- measurements --------------------------------------------------------------------------


@dataclass
class Measured:
    rows: list[Row]
    refs: dict[str, str]
    causes: dict[str, int]


def ratio_row(name: str, goal: float, pair: tuple[Samples, Samples]) -> Row:
    subject, floor = pair
    return Row(name, subject.median, "s", floor.command.label, floor.median, goal)


def measure(
    tools: Tools,
    big: benchdb.Prepared,
    small: benchdb.Prepared,
    server: benchdb.Server,
    plan: dataset.LoadPlan,
    where: Environment,
) -> Measured:
    settings = queries.bench_settings(big.url)
    n = plan.clients
    ref = queries.typical_client(big.url, settings, n)
    small_ref = queries.typical_client(small.url, settings, SMALL_CLIENTS)
    ark = tools.arkinctl

    show = Command(f"client show @ {n:,}", [ark, "--db", big.url, "client", "show", ref])
    show_floor = Command(
        "python: sqlalchemy+psycopg select",
        [tools.python, "-c", FLOOR_SHOW, server.sqlalchemy_url(big.name), ref],
    )
    help_cmd = Command("arkinctl --help", [ark, "--help"])
    help_floor = Command('python -c "import typer"', [tools.python, "-c", "import typer"])
    diag = Command(f"diagnose REF @ {n:,}", [ark, "--db", big.url, "diagnose", ref])
    diag_small = Command(
        f"diagnose REF @ {SMALL_CLIENTS:,}", [ark, "--db", small.url, "diagnose", small_ref]
    )
    search = Command(
        f"client search {SEARCH_TEXT} @ {n:,}",
        [ark, "--db", big.url, "client", "search", SEARCH_TEXT],
    )
    all_causes = Command(f"diagnose --all @ {n:,}", [ark, "--db", big.url, "diagnose", "--all"])
    aggregate = queries.cause_counts_sql(settings)
    psql = Command(
        "psql: the same aggregate",
        [tools.psql, "-X", "-q", "-A", "-t", "-d", big.url, "-c", aggregate],
    )

    print("Measuring (median of runs, warm) …", file=sys.stderr)
    all_pair = time_pair(all_causes, psql, where)
    rows = [
        ratio_row(show.label, 1.2, time_pair(show, show_floor, where)),
        ratio_row(help_cmd.label, 1.5, time_pair(help_cmd, help_floor, where)),
        ratio_row(diag.label, 1.2, time_pair(diag, diag_small, where)),
        ratio_row(search.label, 1.2, time_pair(search, show, where)),
        ratio_row(all_causes.label, 2.0, all_pair),
    ]
    rss = peak_rss_mib(all_causes, where)
    rows.append(Row(f"diagnose --all @ {n:,} peak RSS", rss, "MiB", None, None, 100))
    refs = {"client": ref, "small_client": small_ref}
    return Measured(rows, refs, parse_psql_counts(all_pair[1].output))


def parse_psql_counts(output: str) -> dict[str, int]:
    """`cause|count` lines, as `psql -A -t` prints the aggregate."""
    pairs = (line.rsplit("|", 1) for line in output.splitlines() if "|" in line)
    return {cause: int(n) for cause, n in pairs}


# ---- reporting -----------------------------------------------------------------------------


def database_facts(url: str) -> dict[str, Any]:
    with psycopg.connect(url) as conn:
        tables = conn.execute(
            "SELECT relname, reltuples::bigint FROM pg_class WHERE relname = ANY(%s) ORDER BY 1",
            (list(dataset.LOADED_TABLES),),
        ).fetchall()
        row = conn.execute("SELECT pg_size_pretty(pg_database_size(current_database()))").fetchone()
        version = conn.execute("SHOW server_version").fetchone()
    return {
        "rows (estimated)": {t: int(n) for t, n in tables},
        "size": row[0] if row else "?",
        "server_version": version[0] if version else "?",
    }


def print_load(prepared: benchdb.Prepared) -> dict[str, Any] | None:
    if prepared.report is None:
        print(f"\n{prepared.name}: reused (load time not measured this run)")
        return None
    report = prepared.report
    print(f"\nLoad of {prepared.name}: {report.total:.1f} s")
    print(load_table(report.steps, report.rows))
    problems = queries.check_sample(prepared.url)
    print("sample check: " + ("ok" if not problems else f"{len(problems)} problem(s)"))
    for problem in problems[:10]:
        print(f"  {problem}")
    return {"seconds": report.total, "steps": report.steps, "rows": report.rows}


def print_causes(causes: dict[str, int]) -> None:
    total = sum(causes.values()) or 1
    wanted = dict(dataset.CAUSE_MIX)
    lines = [
        (cause, f"{n:,}", f"{n / total:.1%}", f"{wanted.get(cause, 0):.1%}")
        for cause, n in sorted(causes.items(), key=lambda kv: -kv[1])
    ]
    print("\nCauses (diagnose --all):")
    print(table(("cause", "clients", "share", "intended"), lines))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    tools = find_tools()
    server = benchdb.Server(args.database_url)
    settings = queries.bench_settings(server.libpq_url())
    plan = dataset.LoadPlan(
        clients=args.clients,
        parts_per_client=args.parts_per_client,
        cutoff=cutoff_instant(settings),
        shared_kinds=settings.shared_kinds,
        jobs=args.jobs,
    )
    prepared: list[benchdb.Prepared] = []
    try:
        big = benchdb.prepare(server, plan, keep=args.keep, arkinctl=tools.arkinctl)
        prepared.append(big)
        small = big
        if args.clients != SMALL_CLIENTS:
            small_plan = replace(plan, clients=SMALL_CLIENTS)
            small = benchdb.prepare(server, small_plan, keep=args.keep, arkinctl=tools.arkinctl)
            prepared.append(small)
        loads = {p.name: print_load(p) for p in prepared}
        facts = database_facts(big.url)
        print(
            f"\n{big.name}: {facts['size']}, "
            + ", ".join(f"{t} {n:,}" for t, n in facts["rows (estimated)"].items())
        )
        with tempfile.TemporaryDirectory() as cwd:
            env = clean_environment(Path(cwd) / "pycache")
            where = Environment(env=env, cwd=cwd, runs=args.runs)
            measured = measure(tools, big, small, server, plan, where)
    except benchdb.BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    finally:
        if not args.keep:
            for p in prepared:
                benchdb.drop(server, p.name)

    print_causes(measured.causes)
    print(f"\nResults at {args.clients:,} clients, median of {args.runs} runs:")
    print(results_table(measured.rows))
    missed = [r.measurement for r in measured.rows if not r.met]
    print(f"\n{len(missed)} goal(s) missed" + (": " + "; ".join(missed) if missed else ""))
    write_json(
        RESULTS,
        {
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "clients": args.clients,
            "parts_per_client": args.parts_per_client,
            "runs": args.runs,
            "host": {"cpus": os.cpu_count(), "python": platform.python_version()},
            "arkinctl_version": arkinctl_version,
            "database": facts,
            "load": loads,
            "refs": measured.refs,
            "causes": measured.causes,
            "results": [r.as_dict() for r in measured.rows],
        },
    )
    print(f"Written to {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
