"""Loads a large, realistic arkinctl database with set-based SQL (no row-by-row inserts).

Every random choice is a hash of a row key (`hashint8extended`), so the same N gives the same
data on every run and the work can be split over several connections.

Each client first gets a *profile*: the cause the diagnose walk should find (in realistic
proportions, CAUSE_MIX), a variant number for sub-cases, and its name slots. The tables are
then derived from the profile. Indexes and constraints are dropped before the load and
recreated from their exact catalog definitions afterwards (the usual bulk-load technique),
then everything is VACUUM ANALYZEd.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

import psycopg
from names import Family, Given, family_slots, given_slots

BENCH_USER = "bench"
FIRST_CLIENT_NUMBER = 1_000_000
PARTS_CHUNK_CLIENTS = 25_000

# The cause each client is built to have, with its share of all clients.
CAUSE_MIX: tuple[tuple[str, float], ...] = (
    ("client_deceased", 0.015),
    ("not_treated", 0.045),
    ("no_account", 0.06),
    ("invitation_pending", 0.04),
    ("invitation_expired", 0.025),
    ("account_inactive", 0.015),
    ("dob_missing", 0.01),
    ("dob_mismatch", 0.025),
    ("sharing_disabled", 0.01),
    ("only_before_cutoff", 0.035),
    ("nothing_shared", 0.02),
    ("ok", 0.70),
)
# Kinds of the ordinary file parts, with their share.
KIND_MIX: tuple[tuple[str, float], ...] = (
    ("progress_note", 0.34),
    ("appointment", 0.16),
    ("letter", 0.12),
    ("questionnaire_result", 0.10),
    ("treatment_plan", 0.07),
    ("report", 0.07),
    ("medication", 0.05),
    ("diagnosis", 0.04),
    ("other", 0.05),
)
TITLES = {
    "treatment_plan": "Behandelplan",
    "letter": "Brief aan huisarts",
    "progress_note": "Voortgangsnotitie",
    "diagnosis": "Diagnose (DSM-5)",
    "questionnaire_result": "Uitslag ROM-vragenlijst",
    "medication": "Medicatieoverzicht",
    "appointment": "Verslag afspraak",
    "report": "Intakeverslag",
    "other": "Overig document",
}
DOMAINS = ("gmail.com", "hotmail.com", "ziggo.nl", "kpnmail.nl", "outlook.com", "live.nl",
           "xs4all.nl", "planet.nl", "icloud.com", "home.nl")  # fmt: skip
UNITS = ("Volwassenen", "Jeugd", "Ouderen", "Verslavingszorg", "Acute psychiatrie",
         "Angst en stemming")  # fmt: skip
AUTHORS = tuple(f"beh.{n:03d}" for n in range(1, 41))
# Tables the bench fills; their indexes and constraints are rebuilt after the load.
LOADED_TABLES = ("users", "clients", "care_episodes", "portal_accounts", "invitations",
                 "tickets", "file_parts")  # fmt: skip


@dataclass(frozen=True)
class LoadPlan:
    clients: int
    parts_per_client: int
    cutoff: datetime  # the sharing cutoff instant (UTC)
    shared_kinds: frozenset[str]
    jobs: int = 2


@dataclass
class LoadReport:
    steps: dict[str, float] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return sum(self.steps.values())


# ---- SQL helpers ---------------------------------------------------------------------------


def lit(value: str) -> str:
    """An SQL string literal for a constant from this module (never user input)."""
    return "'" + value.replace("'", "''") + "'"


def text_array(values: Iterable[str]) -> str:
    return "ARRAY[" + ", ".join(lit(v) for v in values) + "]::text[]"


def pick(values: Sequence[str], u: str) -> str:
    """SQL choosing one of `values` uniformly with the uniform [0,1) expression `u`."""
    return f"({text_array(values)})[1 + floor({u} * {len(values)})::int]"


def weighted(items: Sequence[tuple[str, float]], u: str) -> str:
    """SQL choosing one of `items` by weight with the uniform [0,1) expression `u`."""
    total = sum(w for _, w in items)
    cumulative, whens = 0.0, []
    for value, weight in items[:-1]:
        cumulative += weight / total
        whens.append(f"WHEN {u} < {cumulative:.6f} THEN {lit(value)}")
    return f"(CASE {' '.join(whens)} ELSE {lit(items[-1][0])} END)"


def u(key: str, salt: int) -> str:
    """A uniform [0,1) number, a pure function of (key, salt)."""
    return f"pg_temp.u(({key})::bigint, {salt})"


SESSION_SETUP = (
    "SET TimeZone = 'UTC'",
    "SET synchronous_commit = off",
    "SET work_mem = '256MB'",
    "SET maintenance_work_mem = '1GB'",
    """CREATE OR REPLACE FUNCTION pg_temp.u(k bigint, salt int) RETURNS float8
       LANGUAGE sql IMMUTABLE PARALLEL SAFE
       AS $$ SELECT (hashint8extended(k, salt) & 4294967295)::float8 / 4294967296.0 $$""",
)


def connect(url: str) -> psycopg.Connection:
    conn = psycopg.connect(url, autocommit=True)
    for statement in SESSION_SETUP:
        conn.execute(statement)
    return conn


def timed(report: LoadReport, step: str, action: Callable[[], int | None]) -> None:
    started = time.perf_counter()
    print(f"  {step} …", end="", file=sys.stderr, flush=True)
    rows = action()
    report.steps[step] = time.perf_counter() - started
    if rows is not None:
        report.rows[step] = rows
    shown = f", {rows:,} rows" if rows is not None else ""
    print(f" {report.steps[step]:.1f} s{shown}", file=sys.stderr, flush=True)


# ---- lookup tables (COPY) ------------------------------------------------------------------


def load_names(conn: psycopg.Connection) -> int:
    conn.execute(
        "CREATE UNLOGGED TABLE bench_given (slot int PRIMARY KEY, name text, folded text, "
        "mail text)"
    )
    conn.execute(
        "CREATE UNLOGGED TABLE bench_family (slot int PRIMARY KEY, prefix text, name text, "
        "folded text, mail text)"
    )
    given: list[Given] = given_slots()
    family: list[Family] = family_slots()
    with conn.cursor() as cur:
        with cur.copy("COPY bench_given (slot, name, folded, mail) FROM STDIN") as copy:
            for slot, g in enumerate(given):
                copy.write_row((slot, g.name, g.folded, g.mail))
        with cur.copy("COPY bench_family (slot, prefix, name, folded, mail) FROM STDIN") as copy:
            for slot, f in enumerate(family):
                copy.write_row((slot, f.prefix, f.name, f.folded, f.mail))
    return len(given) + len(family)


# ---- the profile ---------------------------------------------------------------------------


def profile_sql() -> str:
    mean = "%(parts)s::float8 - 0.5"
    n_parts = f"1 + floor(-({mean}) * ln(1 - {u('i', 5)}))::int"
    born = f"date '1938-01-01' + floor({u('i', 6)} * (date '2008-12-31' - date '1938-01-01'))::int"
    return f"""
    CREATE UNLOGGED TABLE bench_profile AS
    SELECT i::int AS client_id, cause, {u("i", 2)} AS v, {born} AS born,
           floor({u("i", 3)} * (SELECT count(*) FROM bench_given))::int AS given_slot,
           floor({u("i", 4)} * (SELECT count(*) FROM bench_family))::int AS family_slot,
           CASE WHEN cause = 'not_treated' THEN 0 ELSE {n_parts} END AS n_parts,
           timestamptz '2012-01-01' + {u("i", 7)} * (now() - timestamptz '2012-01-01')
               AS since
    FROM (SELECT i, {weighted(CAUSE_MIX, u("i", 1))} AS cause
          FROM generate_series(1, %(n)s::int) AS i) AS g
    """


# ---- clients -------------------------------------------------------------------------------


def _bsn_sql(i: str) -> str:
    """A unique BSN that passes the 11-proof: 7 digits from a bijection of i, then 2 more.

    The 8th digit is 0, or 1 when 0 would make the check digit 10; the 9th is the check digit.
    """
    head = f"(1000000 + (({i})::bigint * 7919 + 12345) %% 9000000)::text"
    weighted_sum = " + ".join(f"{9 - k} * substr(h, {k + 1}, 1)::int" for k in range(7))
    return f"""(SELECT h || CASE WHEN s %% 11 = 10 THEN '1' || ((s + 2) %% 11)::text
                                ELSE '0' || (s %% 11)::text END
               FROM (SELECT h, ({weighted_sum}) AS s FROM (SELECT {head} AS h) AS a) AS b)"""


def clients_sql() -> str:
    email = (
        f"CASE WHEN {u('p.client_id', 10)} < 0.04 THEN NULL ELSE "
        f"g.mail || '.' || f.mail || CASE WHEN {u('p.client_id', 11)} < 0.5 THEN '' "
        f"ELSE floor({u('p.client_id', 12)} * 100)::int::text END "
        f"|| '@' || {pick(DOMAINS, u('p.client_id', 13))} END"
    )
    partial_dob = "c.cause = 'dob_missing' AND c.v < 0.4"
    disabled = "c.cause = 'sharing_disabled'"
    return f"""
    INSERT INTO clients (id, client_number, bsn, given_name, name_prefix, family_name,
        birth_date, birth_date_partial, email, phone, unit, deceased, deceased_date,
        sharing_enabled, sharing_changed_at, sharing_changed_by, sharing_reason,
        search_text, source_system, source_id, created_at, updated_at)
    SELECT c.client_id, c.number, c.bsn, c.given, c.prefix, c.family,
        CASE WHEN {partial_dob} THEN NULL ELSE c.born END,
        CASE WHEN {partial_dob} THEN extract(year FROM c.born)::text END,
        c.email,
        '06' || lpad(floor({u("c.client_id", 14)} * 100000000)::bigint::text, 8, '0'),
        {pick(UNITS, u("c.client_id", 15))},
        c.cause = 'client_deceased',
        CASE WHEN c.cause = 'client_deceased'
             THEN date '2019-01-01' + floor(c.v * (current_date - date '2019-01-01'))::int END,
        NOT ({disabled}),
        CASE WHEN {disabled} THEN now() - c.v * interval '900 days' END,
        CASE WHEN {disabled} THEN {pick(AUTHORS, "c.v")} END,
        CASE WHEN {disabled} THEN 'Inzage tijdelijk uitgezet op verzoek van de behandelaar' END,
        concat_ws(' ', c.given_folded, c.family_folded, c.number, c.email),
        'bench', 'client/' || c.number, c.since, c.since
    FROM (
        SELECT p.client_id, p.cause, p.v, p.born, p.since,
               ({FIRST_CLIENT_NUMBER} + p.client_id)::text AS number,
               CASE WHEN {u("p.client_id", 16)} < 0.03 THEN NULL
                    ELSE {_bsn_sql("p.client_id")} END AS bsn,
               g.name AS given, g.folded AS given_folded, f.prefix, f.name AS family,
               f.folded AS family_folded, {email} AS email
        FROM bench_profile AS p
        JOIN bench_given AS g ON g.slot = p.given_slot
        JOIN bench_family AS f ON f.slot = p.family_slot
    ) AS c
    ORDER BY c.client_id
    """


def episodes_sql() -> str:
    kinds = ("record", "encounter", "episode_of_care")
    key = "p.client_id * 8 + k"
    start = f"(p.since + {u(key, 21)} * (now() - p.since))::date"
    return f"""
    INSERT INTO care_episodes (client_id, kind, start_date, end_date, source_system, source_id)
    SELECT p.client_id, {pick(kinds, u(key, 22))}, {start},
           CASE WHEN {u(key, 23)} < 0.4 THEN ({start} + floor({u(key, 24)} * 400)::int) END,
           'bench', 'episode/' || p.client_id || '/' || k
    FROM bench_profile AS p
    CROSS JOIN LATERAL generate_series(1, 1 + floor({u("p.client_id", 20)} * 3)::int) AS k
    WHERE p.cause <> 'not_treated'
    """


# ---- portal accounts and invitations -------------------------------------------------------


def _account_id(key: str) -> str:
    """A unique, opaque account id: an odd multiplier is a bijection modulo 2^32."""
    return f"'krf-' || lpad(to_hex((({key})::bigint * 2654435761) %% 4294967296), 8, '0')"


def _portal_dob() -> str:
    """The DOB the client typed into the portal: right, missing, or wrong in a typical way."""
    b = "p.born"
    w = u("p.client_id", 30)
    day, month = f"extract(day FROM {b})::int", f"extract(month FROM {b})::int"
    swapped = f"make_date(extract(year FROM {b})::int, {day}, {month})"
    mismatch = f"""CASE
        WHEN {w} < 0.35 THEN {b} - 1
        WHEN {w} < 0.65 AND {day} <= 12 AND {day} <> {month} THEN {swapped}
        WHEN {w} < 0.65 THEN {b} + 1
        WHEN {w} < 0.85 THEN ({b} + interval '10 years')::date
        ELSE ({b} + interval '100 years')::date END"""
    return f"""CASE WHEN p.cause = 'dob_missing' AND p.v >= 0.4 THEN NULL
                    WHEN p.cause = 'dob_mismatch' THEN {mismatch}
                    ELSE {b} END"""


# Which clients have a linked account, and its status.
ACCOUNT_STATUS = """CASE
    WHEN p.cause IN ('ok', 'dob_missing', 'dob_mismatch', 'sharing_disabled',
                     'only_before_cutoff', 'nothing_shared') THEN 'active'
    WHEN p.cause = 'account_inactive' AND p.v < 0.6 THEN 'blocked'
    WHEN p.cause = 'account_inactive' THEN 'deactivated'
    WHEN p.cause = 'client_deceased' AND p.v < 0.7 THEN 'active'
    WHEN p.cause = 'invitation_pending' AND p.v >= 0.75 THEN 'invited'
    END"""


def accounts_sql() -> str:
    joined = "greatest(p.since, timestamptz '2018-06-01')"
    created = f"{joined} + {u('p.client_id', 31)} * interval '200 days'"
    email = f"""CASE WHEN c.email IS NULL OR {u("p.client_id", 32)} < 0.15
                     THEN lower(replace(c.given_name, ' ', '')) || '.' || c.client_number
                          || '@' || {pick(DOMAINS, u("p.client_id", 33))}
                     ELSE c.email END"""
    surname = "concat_ws(' ', c.name_prefix, c.family_name)"
    return f"""
    INSERT INTO portal_accounts (account_id, identification_number, first_name, surname, email,
        birth_date, status, created_at, last_login_at, imported_at)
    SELECT {_account_id("p.client_id")}, c.client_number, c.given_name, {surname}, {email},
           {_portal_dob()}, a.status, {created},
           CASE WHEN a.status = 'active' AND {u("p.client_id", 34)} < 0.8
                THEN now() - {u("p.client_id", 35)} * interval '300 days' END,
           now()
    FROM bench_profile AS p
    JOIN clients AS c ON c.id = p.client_id
    CROSS JOIN LATERAL (SELECT {ACCOUNT_STATUS} AS status) AS a
    WHERE a.status IS NOT NULL
    UNION ALL
    -- some clients also have an old, deactivated second account
    SELECT {_account_id("%(n)s::bigint + p.client_id")}, c.client_number, c.given_name,
           {surname}, c.email, p.born, 'deactivated', p.since, NULL, now()
    FROM bench_profile AS p
    JOIN clients AS c ON c.id = p.client_id
    WHERE p.cause = 'ok' AND {u("p.client_id", 36)} < 0.02
    UNION ALL
    -- accounts whose identification number names no client (kept, reported as unlinked)
    SELECT {_account_id("2 * %(n)s::bigint + k")}, '9' || lpad(k::text, 7, '0'), 'Onbekend',
           'Onbekend', 'onbekend' || k || '@example.nl', NULL, 'active', now(), NULL, now()
    FROM generate_series(1, greatest(1, %(n)s::int / 200)) AS k
    """


def _batch_id(at: str) -> str:
    """Half of the invitations went out in a scripted batch."""
    return f"CASE WHEN {u('p.client_id', 43)} < 0.5 THEN 'batch-' || to_char({at}, 'YYYYMMDD') END"


def invitations_sql() -> str:
    sent = f"now() - {u('p.client_id', 41)} * interval '10 days'"
    old = f"now() - interval '30 days' - {u('p.client_id', 42)} * interval '400 days'"
    accepted = "greatest(p.since, timestamptz '2018-06-01') - interval '2 days'"
    rows = {
        # the invitation an account holder accepted
        "accepted": (
            f"({ACCOUNT_STATUS}) IN ('active', 'blocked', 'deactivated')",
            "'accepted'",
            accepted,
        ),
        "pending": (
            "p.cause = 'invitation_pending' AND p.v < 0.75",
            f"CASE WHEN {u('p.client_id', 44)} < 0.2 THEN 'queued' ELSE 'sent' END",
            sent,
        ),
        # expired: marked so, or still 'sent' but past its expiry
        "expired": (
            "p.cause = 'invitation_expired'",
            "CASE WHEN p.v < 0.5 THEN 'expired' ELSE 'sent' END",
            old,
        ),
        "dead_end": (
            "p.cause = 'no_account' AND p.v < 0.2",
            "CASE WHEN p.v < 0.1 THEN 'withdrawn' ELSE 'bounced' END",
            old,
        ),
    }
    selects = [
        f"""SELECT p.client_id,
               coalesce(c.email, 'onbekend.' || c.client_number || '@example.nl'),
               {status}, {at}, {at}, {at} + interval '14 days',
               CASE WHEN {status} = 'accepted' THEN {at} + interval '1 day' END,
               1, {pick(AUTHORS, u("p.client_id", 45))}, {_batch_id(at)}
            FROM bench_profile AS p JOIN clients AS c ON c.id = p.client_id
            WHERE {where}"""
        for where, status, at in rows.values()
    ]
    return f"""
    INSERT INTO invitations (client_id, email, status, created_at, sent_at, expires_at,
        accepted_at, attempts, requested_by, batch_id)
    {" UNION ALL ".join(selects)}
    """


def tickets_sql() -> str:
    return f"""
    INSERT INTO tickets (number, client_id, client_number, category, title, description,
        status, priority, created_by, assignee, created_at, updated_at, closed_at)
    SELECT 'T' || lpad(row_number() OVER (ORDER BY p.client_id)::text, 7, '0'),
           p.client_id, c.client_number, t.category, t.title, NULL, t.status, 'normal',
           {pick(AUTHORS, u("p.client_id", 50))}, 'support.1', t.at, t.at,
           CASE WHEN t.status = 'closed' THEN t.at + interval '3 days' END
    FROM bench_profile AS p
    JOIN clients AS c ON c.id = p.client_id
    CROSS JOIN LATERAL (
        SELECT CASE WHEN p.cause = 'account_inactive' THEN 'account' ELSE 'missing_data' END
                   AS category,
               CASE WHEN p.cause = 'account_inactive' THEN 'Account geblokkeerd'
                    ELSE 'Cliënt ziet geen gegevens' END AS title,
               CASE WHEN p.cause = 'account_inactive' THEN 'open' ELSE 'closed' END AS status,
               now() - {u("p.client_id", 51)} * interval '60 days' AS at
    ) AS t
    WHERE (p.cause = 'account_inactive' AND p.v < 0.3)
       OR (p.cause = 'ok' AND {u("p.client_id", 52)} < 0.005)
    """


# ---- file parts ----------------------------------------------------------------------------


def parts_sql(plan: LoadPlan) -> str:
    """File parts of the clients with ids in [lo, hi], physically in entry order."""
    cutoff = f"timestamptz {lit(plan.cutoff.isoformat())}"
    not_shared = sorted(k for k, _ in KIND_MIX if k not in plan.shared_kinds) or ["other"]
    shared = sorted(k for k, _ in KIND_MIX if k in plan.shared_kinds) or ["letter"]
    key = "s.client_id::bigint * 4096 + s.k"
    # Part 1 is shareable for `ok` and `only_before_cutoff`: they need one.
    forced = "(s.k = 1 AND s.cause IN ('ok', 'only_before_cutoff'))"
    nothing_notes = "(s.cause = 'nothing_shared' AND s.v < 0.7)"
    nothing_drafts = "(s.cause = 'nothing_shared' AND s.v >= 0.7)"
    start = "s.since"
    # before the cutoff: from the client's start (or a year earlier) up to an hour before it
    early = f"least(s.since, {cutoff} - interval '1 year')"
    entered = f"""CASE
        WHEN s.cause = 'only_before_cutoff'
            THEN {early} + {u(key, 60)} * ({cutoff} - interval '1 hour' - {early})
        WHEN {forced} THEN {cutoff} + {u(key, 60)} * (now() - {cutoff})
        ELSE {start} + {u(key, 60)} * (now() - {start}) END"""
    kind = f"""CASE
        WHEN {forced} THEN {pick(shared, u(key, 61))}
        WHEN {nothing_notes} THEN {pick(not_shared, u(key, 61))}
        ELSE {weighted(KIND_MIX, u(key, 61))} END"""
    status = f"""CASE WHEN {forced} THEN 'final'
                      WHEN {nothing_drafts} OR {u(key, 62)} < 0.03 THEN 'draft'
                      ELSE 'final' END"""
    withheld = f"NOT {forced} AND {u(key, 63)} < 0.01"
    lifecycle = f"""CASE WHEN {forced} THEN 'current'
                         WHEN {u(key, 64)} < 0.010 THEN 'superseded'
                         WHEN {u(key, 64)} < 0.013 THEN 'entered_in_error'
                         ELSE 'current' END"""
    titles = " ".join(f"WHEN {lit(k)} THEN {lit(t)}" for k, t in TITLES.items())
    return f"""
    INSERT INTO file_parts (client_id, kind, title, entered_at, clinical_date, author, status,
        lifecycle, withheld, withheld_reason, source_system, source_id, created_at)
    SELECT client_id, kind, (CASE kind {titles} END) || ' ' || to_char(entered_at, 'DD-MM-YYYY'),
           entered_at,
           CASE WHEN {u("client_id::bigint * 4096 + k", 65)} < 0.3
                THEN (entered_at - floor({u("client_id::bigint * 4096 + k", 66)} * 30)::int
                      * interval '1 day')::date END,
           author, status, lifecycle, withheld,
           CASE WHEN withheld THEN 'Achtergehouden door behandelaar' END,
           'bench', 'part/' || client_id || '/' || k, entered_at
    FROM (
        SELECT s.client_id, s.k, {entered} AS entered_at, {kind} AS kind, {status} AS status,
               {lifecycle} AS lifecycle, {withheld} AS withheld,
               {pick(AUTHORS, u(key, 67))} AS author
        FROM (SELECT p.*, k FROM bench_profile AS p
              CROSS JOIN LATERAL generate_series(1, p.n_parts) AS k
              WHERE p.client_id BETWEEN %(lo)s AND %(hi)s) AS s
    ) AS part
    ORDER BY entered_at
    """


def load_parts(url: str, plan: LoadPlan) -> int:
    """File parts in chunks of clients, over `plan.jobs` connections at once."""
    sql = parts_sql(plan)
    chunks = [
        (lo, min(lo + PARTS_CHUNK_CLIENTS - 1, plan.clients))
        for lo in range(1, plan.clients + 1, PARTS_CHUNK_CLIENTS)
    ]

    def work(chunk: tuple[int, int]) -> int:
        with connect(url) as conn:
            cur = conn.execute(sql, {"lo": chunk[0], "hi": chunk[1]})
            return cur.rowcount

    with ThreadPoolExecutor(max_workers=max(1, plan.jobs)) as pool:
        return sum(pool.map(work, chunks))


# ---- indexes and constraints ---------------------------------------------------------------


@dataclass(frozen=True)
class SchemaObjects:
    """The exact DDL to recreate the loaded tables' indexes and constraints."""

    keys: list[str]  # primary keys and unique constraints
    indexes: list[str]
    foreign_keys: list[str]
    drops: list[str]


def capture_schema_objects(conn: psycopg.Connection) -> SchemaObjects:
    tables = list(LOADED_TABLES)
    constraints = conn.execute(
        """SELECT c.conrelid::regclass::text, c.conname, c.contype, pg_get_constraintdef(c.oid)
           FROM pg_constraint AS c
           WHERE c.contype IN ('p', 'u', 'f')
             AND (c.conrelid::regclass::text = ANY(%(t)s)
                  OR (c.contype = 'f' AND c.confrelid::regclass::text = ANY(%(t)s)))
           ORDER BY c.contype DESC, c.conname""",
        {"t": tables},
    ).fetchall()
    indexes = conn.execute(
        """SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
           FROM pg_index AS i
           WHERE i.indrelid::regclass::text = ANY(%(t)s)
             AND NOT EXISTS (SELECT 1 FROM pg_constraint AS c
                             WHERE c.conindid = i.indexrelid AND c.contype IN ('p', 'u', 'x')
                               AND c.conrelid = i.indrelid)
           ORDER BY 1""",
        {"t": tables},
    ).fetchall()
    add = "ALTER TABLE {table} ADD CONSTRAINT {name} {definition}"
    fks = [(t, n, d) for t, n, kind, d in constraints if kind == "f"]
    keys = [(t, n, d) for t, n, kind, d in constraints if kind != "f"]
    return SchemaObjects(
        keys=[add.format(table=t, name=n, definition=d) for t, n, d in keys],
        indexes=[definition for _, definition in indexes],
        foreign_keys=[add.format(table=t, name=n, definition=d) for t, n, d in fks],
        drops=[f"ALTER TABLE {t} DROP CONSTRAINT {n}" for t, n, _ in fks]
        + [f"DROP INDEX {name}" for name, _ in indexes]
        + [f"ALTER TABLE {t} DROP CONSTRAINT {n}" for t, n, _ in keys],
    )


def run_parallel(url: str, statements: Sequence[str], jobs: int) -> None:
    """Each statement in its own transaction, `jobs` at a time (lock waits are fine)."""

    def work(statement: str) -> None:
        with connect(url) as conn:
            conn.execute(statement)

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        list(pool.map(work, statements))


# ---- the whole load ------------------------------------------------------------------------


def count(conn: psycopg.Connection, table: str) -> int:
    row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(row[0]) if row else 0


def load(url: str, plan: LoadPlan) -> LoadReport:
    """Fill the (freshly initialised) database at `url`; returns the time of each step."""
    report = LoadReport()
    params = {"n": plan.clients, "parts": plan.parts_per_client}
    with connect(url) as conn:
        objects = capture_schema_objects(conn)

        def run(sql: str) -> int:
            return conn.execute(sql, params).rowcount

        timed(report, "drop indexes and constraints", lambda: _drop(conn, objects.drops))
        timed(report, "name tables (COPY)", lambda: load_names(conn))
        timed(report, "profiles", lambda: _profiles(conn, params))
        timed(report, "users", lambda: _users(conn))
        timed(report, "clients", lambda: run(clients_sql()))
        timed(report, "care_episodes", lambda: run(episodes_sql()))
        timed(report, "portal_accounts", lambda: run(accounts_sql()))
        timed(report, "invitations", lambda: run(invitations_sql()))
        timed(report, "tickets", lambda: run(tickets_sql()))
        timed(report, "file_parts", lambda: load_parts(url, plan))
        timed(report, "keys and indexes", lambda: _rebuild(url, objects, plan.jobs))
        timed(report, "foreign keys", lambda: _foreign_keys(url, objects, plan.jobs))
        timed(report, "sequences", lambda: _sequences(conn))
        conn.execute("DROP TABLE bench_profile, bench_given, bench_family")
    timed(report, "vacuum analyze", lambda: _vacuum(url, plan.jobs))
    return report


def _drop(conn: psycopg.Connection, drops: Sequence[str]) -> None:
    for statement in drops:
        conn.execute(statement)


def _profiles(conn: psycopg.Connection, params: dict[str, int]) -> int:
    rows = conn.execute(profile_sql(), params).rowcount
    conn.execute("ALTER TABLE bench_profile ADD PRIMARY KEY (client_id)")
    conn.execute("ANALYZE bench_profile")
    return rows


def _users(conn: psycopg.Connection) -> int:
    conn.execute(
        # `db init` may have made the acting user its admin already (when that is bench)
        "INSERT INTO users (username, display_name, role, active, created_at) "
        "VALUES (%s, 'Benchmark', 'admin', true, now()) ON CONFLICT (username) DO NOTHING",
        (BENCH_USER,),
    )
    cur = conn.execute(
        "INSERT INTO users (username, display_name, role, active, created_at) "
        "SELECT a, 'Behandelaar ' || a, 'practitioner', true, now() FROM unnest(%s::text[]) a",
        (list(AUTHORS),),
    )
    return 1 + cur.rowcount


def _rebuild(url: str, objects: SchemaObjects, jobs: int) -> None:
    run_parallel(url, objects.keys + objects.indexes, jobs)


def _foreign_keys(url: str, objects: SchemaObjects, jobs: int) -> None:
    run_parallel(url, objects.foreign_keys, jobs)


def _sequences(conn: psycopg.Connection) -> None:
    for table in LOADED_TABLES:
        conn.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"coalesce((SELECT max(id) FROM {table}), 0) + 1, false)"
        )


def _vacuum(url: str, jobs: int) -> None:
    run_parallel(url, [f"VACUUM (ANALYZE) {t}" for t in LOADED_TABLES], jobs)
