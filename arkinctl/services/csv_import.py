"""`import clients` and `import accounts`: the care record's client export and the portal's
member export, as CSV (DESIGN section 7). The file format is read by `csv_reader`.

Upserts: clients by `client_number`, accounts by `account_id`. A new key is created, a row
that differs from what is stored updates it, an identical row is counted as unchanged, so
re-importing the same file changes nothing.

Empty cells and absent columns:

- An **absent column** leaves that field alone: a file with only `client_number;email`
  updates e-mail addresses and nothing else.
- An **empty cell** clears an optional field (BSN, names, date of birth, e-mail, phone;
  for accounts also the identification number, dates and instants): the export is the
  truth, and a value removed at the source must disappear here too.
- Three exceptions, because clearing would be unsafe:
  - `sharing` empty: a new client gets sharing on, an existing one keeps its setting;
  - `deceased_date` empty never marks a deceased client alive again (that would reopen
    the portal); such a row gets a warning instead;
  - `treated_since` empty keeps the care episode an earlier import created: a client
    who has been treated stays treated.

Bad rows are rejected with `file:line` and a reason naming the column, never the value
(a BSN, date of birth or e-mail address must not end up in a terminal or a log). Rows go
in per chunk inside a savepoint; when the database refuses a chunk, its rows are retried
one by one so that only the offending row is lost. Rows the CSV reader cannot use (too few
or too many fields, an unclosed quote, a field over the size limit) are rejected the same
way, and count as rows read.

Keys appear once per file. A client number (clients), an account id (accounts) or a BSN
(clients) that is on an earlier row of the same file makes every later row with it
rejected, **whatever happened to the earlier row**: also when that row was itself rejected
(bad data, too few fields). Taking the later row instead would make the result depend on
which of two contradicting rows happens to be valid today, and a re-run after fixing the
first row would silently flip the record; a file that names a key twice must be fixed.

A BSN identifies one person. A row that gives a client a BSN that another client already
has in the database is rejected ("the BSN already belongs to client N"; the client number
is named, never the BSN). A client that already shares its BSN with another (older data)
can still be updated, with a warning.

E-mail addresses are checked with `email-validator` (syntax only, no DNS) and stored in
its normalised form (domain lower-cased, the part before the @ as written):

- clients: an invalid address rejects the row, naming the column;
- portal accounts: the address is the portal's data, not ours to refuse, and the account
  matters more than its e-mail (rejecting it would make `diagnose` say "no account"). An
  invalid one is stored as given, with a warning, so support sees what the client typed;
  one too long for the column is stored as missing, with a warning.

Dates: Excel may write a date column as a date-time (`4-3-1985 00:00`,
`1985-03-04 00:00:00`); a time of midnight is dropped, any other time rejects the value.
The portal's `date_of_birth` is the client's own input: an unreadable one (`31-02-1990`,
`04-03-85`, `tomorrow`) keeps the account, stores the date as missing and warns, so that
`diagnose` reports `dob_missing`, the real problem, instead of `no_account`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session
from stdnum.nl import bsn as stdnum_bsn

from arkinctl.config import Settings
from arkinctl.db.engine import describe_db_error
from arkinctl.db.models import Base, CareEpisode, CareRelationship, Client, PortalAccount, User
from arkinctl.errors import InvalidInputError
from arkinctl.services.access import staff_only
from arkinctl.services.audit import Actor, record
from arkinctl.services.csv_reader import CsvTable, read_csv
from arkinctl.services.dates import parse_instant, parse_user_date
from arkinctl.services.email_address import email_problem
from arkinctl.services.importing import ImportSummary, Problem
from arkinctl.textnorm import fold

SOURCE_SYSTEM = "csv"
CHUNK_SIZE = 500  # rows per savepoint; well under SQLite's and PostgreSQL's IN-list limits

# Canonical name → the other names accepted for it (matched ignoring case, spaces,
# punctuation and accents, so `cliëntnummer`, `Client Nummer` and `CLIENTNUMMER` are one).
CLIENT_COLUMNS: dict[str, tuple[str, ...]] = {
    "client_number": ("cliëntnummer", "clientnr", "client_id"),
    "bsn": ("burgerservicenummer",),
    "given_name": ("voornaam", "first_name"),
    "name_prefix": ("tussenvoegsel", "voorvoegsel", "prefix"),
    "family_name": ("achternaam", "surname", "last_name"),
    "date_of_birth": ("geboortedatum", "birth_date", "dob"),
    "email": ("e-mail", "e-mailadres", "email_address"),
    "phone": ("telefoon", "telefoonnummer", "phone_number"),
    "deceased_date": ("overlijdensdatum", "date_of_death"),
    "treated_since": ("in zorg sinds", "in_care_since"),
    "sharing": ("delen", "sharing_enabled"),
    # arkinctl user names of the client's practitioners (space or | between several)
    "practitioner": ("behandelaar", "behandelaars", "practitioners"),
}
ACCOUNT_COLUMNS: dict[str, tuple[str, ...]] = {
    "account_id": ("accountnummer", "account"),
    "identification_number": ("identificatienummer", "client_number", "cliëntnummer"),
    "first_name": ("voornaam", "given_name"),
    "surname": ("achternaam", "family_name", "last_name"),
    "email": ("e-mail", "e-mailadres", "email_address"),
    "date_of_birth": ("geboortedatum", "birth_date", "dob"),
    "status": ("status",),
    "created_at": ("aangemaakt", "aangemaakt op", "created"),
    "last_login_at": ("laatste login", "laatst ingelogd", "last_login"),
}

_SWITCH = {
    **dict.fromkeys(("on", "aan", "ja", "j", "yes", "y", "true", "1"), True),
    **dict.fromkeys(("off", "uit", "nee", "n", "no", "false", "0"), False),
}
ACCOUNT_STATUSES = {
    "invited": "invited",
    "uitgenodigd": "invited",
    "active": "active",
    "actief": "active",
    "blocked": "blocked",
    "geblokkeerd": "blocked",
    "deactivated": "deactivated",
    "gedeactiveerd": "deactivated",
}


class _Rejected(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class _Outcome:
    """What applying one row did, added to the summary only once its savepoint held."""

    line: int
    counts: list[tuple[str, str]] = field(default_factory=list)  # (counter, kind)
    warnings: list[str] = field(default_factory=list)
    unlinked: bool = False


# ---- cell readers: each raises _Rejected naming the column, never the value ------------


def _max_length(model: type[Base], attr: str) -> int | None:
    length = getattr(model.__table__.c[attr].type, "length", None)
    return length if isinstance(length, int) else None


def _text(table: CsvTable, values: Mapping[str, str], name: str, limit: int | None) -> str | None:
    # Every text field here is one line: a quoted cell's newlines or double spaces go.
    value = " ".join(values[name].split())
    if limit is not None and len(value) > limit:
        raise _Rejected(f"{table.label(name)}: longer than {limit} characters")
    return value or None


# Excel's date-time in a date column: the date, a space or T, and a time of day.
_TIME_OF_DAY = re.compile(
    r"^(?P<date>\S.*?)[ T]+(?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2})(?:[.,](?P<f>\d+))?)?$"
)


def parse_date_cell(raw: str) -> date:
    """A date as `parse_user_date` reads it, also with Excel's added time of midnight.

    Raises `InvalidInputError` (never quoting the value) for anything else.
    """
    text = raw.strip()
    # Only short values can be a date and a time; the bound keeps the regex linear.
    if len(text) <= 40 and (m := _TIME_OF_DAY.match(text)):
        midnight = (
            int(m["h"]) == 0
            and int(m["m"]) == 0
            and int(m["s"] or 0) == 0
            and not (m["f"] or "").strip("0")
        )
        if not midnight:
            raise InvalidInputError(
                "the date has a time of day other than midnight",
                hint="a date is expected, e.g. 04-03-1985",
            )
        text = m["date"]
    return parse_user_date(text)


def _date(table: CsvTable, values: Mapping[str, str], name: str) -> date | None:
    if not values[name]:
        return None
    try:
        return parse_date_cell(values[name])
    except InvalidInputError as exc:
        raise _Rejected(f"{table.label(name)}: {exc}") from None


def _instant(
    table: CsvTable, values: Mapping[str, str], name: str, settings: Settings
) -> datetime | None:
    if not values[name]:
        return None
    try:
        return parse_instant(values[name], local_tz=settings.timezone)
    except InvalidInputError as exc:
        raise _Rejected(f"{table.label(name)}: {exc}") from None


def _email(table: CsvTable, values: Mapping[str, str], name: str, limit: int | None) -> str | None:
    """The normalised address (domain lower-cased); an invalid one rejects the row."""
    value = _text(table, values, name, limit)
    if value is None:
        return None
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise _Rejected(
            f"{table.label(name)}: not a valid e-mail address ({email_problem(exc)})"
        ) from None


def _portal_email(
    table: CsvTable, values: Mapping[str, str], name: str, limit: int | None, warnings: list[str]
) -> str | None:
    """The portal's address: normalised when valid, else kept as given with a warning."""
    value = " ".join(values[name].split())
    if not value:
        return None
    if limit is not None and len(value) > limit:
        warnings.append(f"{table.label(name)} is longer than {limit} characters; stored as missing")
        return None
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        warnings.append(
            f"{table.label(name)} is not a valid e-mail address ({email_problem(exc)}); "
            "stored as given"
        )
        return value


def _valid_bsn(raw: str) -> str | None:
    """The BSN in its 9-digit form, or None when `raw` is not a valid one."""
    compact = str(stdnum_bsn.compact(raw))  # drops dots/spaces, restores a lost 0
    return compact if stdnum_bsn.is_valid(compact) else None


def _bsn(table: CsvTable, values: Mapping[str, str]) -> str | None:
    if not values["bsn"]:
        return None
    compact = _valid_bsn(values["bsn"])
    if compact is None:
        raise _Rejected(f"{table.label('bsn')}: not a valid BSN (9 digits, 11-proof)")
    return compact


def _switch(table: CsvTable, values: Mapping[str, str], name: str) -> bool | None:
    if not values[name]:
        return None
    value = _SWITCH.get(fold(values[name]))
    if value is None:
        raise _Rejected(f"{table.label(name)}: expected on or off (aan/uit, ja/nee, 1/0)")
    return value


def _required_key(table: CsvTable, values: Mapping[str, str], name: str, limit: int | None) -> str:
    value = _text(table, values, name, limit)
    if value is None:
        raise _Rejected(f"{table.label(name)} is empty")
    return value


# ---- the shared loop -------------------------------------------------------------------

Row = TypeVar("Row", "_ClientRow", "_AccountRow")
Ctx = TypeVar("Ctx")
# A row's keys that must be unique in a file: (kind, value), e.g. ("bsn", "111222333").
UniqueKeys = Callable[[Mapping[str, str]], list[tuple[str, str]]]
# Why a later row is rejected: (kind, value, first line, the first row's own key) → reason.
DuplicateReason = Callable[[str, str, int, str], str]


def _given(values: Mapping[str, str], name: str) -> bool:
    """The row has this cell: its column is in the file and the row is not cut short before
    it. A cell that is not given leaves its field alone; an empty one clears it."""
    return name in values


def _key_text(values: Mapping[str, str], name: str) -> str:
    """A key cell as `_text` stores it, read from any row (also one that is rejected)."""
    return " ".join(values.get(name, "").split())


def _run(
    session: Session,
    table: CsvTable,
    summary: ImportSummary,
    *,
    parse: Callable[[int, Mapping[str, str]], Row],
    key_column: str,
    unique: UniqueKeys,
    duplicate: DuplicateReason,
    prefetch: Callable[[Session, list[Row]], Ctx],
    apply: Callable[[Session, Row, Ctx], _Outcome],
    finish: Callable[[Session, Ctx], None] | None = None,
) -> list[_Outcome]:
    """Parse every row, apply them per chunk, and fill `summary`; returns the outcomes.

    `finish`, when given, runs after a chunk's rows were applied, before its flush."""
    rejected: list[tuple[int, str]] = []
    outcomes: list[_Outcome] = []
    # kind → value → (first line, that row's key_column value)
    seen: dict[str, dict[str, tuple[int, str]]] = {}
    chunk: list[Row] = []
    rows_read = 0

    def flush_chunk() -> None:
        _apply_chunk(session, chunk, prefetch, apply, finish, outcomes, rejected)
        chunk.clear()

    for row in table.records():
        rows_read += 1
        # Keys count from every row the reader could split, good or bad (module docstring).
        owner = _key_text(row.values, key_column)
        again: str | None = None
        for kind, value in unique(row.values):
            first = seen.setdefault(kind, {}).get(value)
            if first is None:
                seen[kind][value] = (row.line, owner)
            elif again is None:
                again = duplicate(kind, value, *first)
        if row.problem is not None:
            rejected.append((row.line, row.problem))
            continue
        if again is not None:
            rejected.append((row.line, again))
            continue
        try:
            parsed = parse(row.line, row.values)
        except _Rejected as exc:
            rejected.append((row.line, exc.reason))
            continue
        chunk.append(parsed)
        if len(chunk) >= CHUNK_SIZE:
            flush_chunk()
    if chunk:
        flush_chunk()

    source = summary.source
    for line, reason in sorted(rejected, key=lambda r: r[0]):
        summary.rejected.append(Problem(f"{source}:{line}", reason))
    for outcome in sorted(outcomes, key=lambda o: o.line):
        for counter, kind in outcome.counts:
            getattr(summary, counter)[kind] += 1
        for warning in outcome.warnings:
            summary.warnings.append(Problem(f"{source}:{outcome.line}", warning))
    summary.notes.extend(table.notes)
    if table.short_rows:
        summary.notes.append(
            f"{table.short_rows} row(s) had fewer cells than the header (Excel leaves out "
            "trailing separators); their missing cells were left unchanged"
        )
    if rows_read == 0:
        summary.notes.append("the file has a header but no rows")
    return outcomes


def _apply_chunk(
    session: Session,
    rows: list[Row],
    prefetch: Callable[[Session, list[Row]], Ctx],
    apply: Callable[[Session, Row, Ctx], _Outcome],
    finish: Callable[[Session, Ctx], None] | None,
    outcomes: list[_Outcome],
    rejected: list[tuple[int, str]],
) -> None:
    """Apply `rows` in one savepoint. `apply` may raise `_Rejected` only before it changes
    anything; when the database refuses the chunk, retry its rows one by one."""
    try:
        with session.begin_nested():
            ctx = prefetch(session, rows)
            done: list[_Outcome] = []
            refused: list[tuple[int, str]] = []
            for row in rows:
                try:
                    done.append(apply(session, row, ctx))
                except _Rejected as exc:
                    refused.append((row.line, exc.reason))
            if finish is not None:
                finish(session, ctx)
            session.flush()
        outcomes.extend(done)
        rejected.extend(refused)
        return
    except (IntegrityError, DataError):
        pass  # the savepoint is rolled back; find the row the database refuses
    for row in rows:
        try:
            with session.begin_nested():
                ctx = prefetch(session, [row])
                outcome = apply(session, row, ctx)
                if finish is not None:
                    finish(session, ctx)
                session.flush()
        except _Rejected as exc:
            rejected.append((row.line, exc.reason))
            continue
        except (IntegrityError, DataError) as exc:
            # The first line of the driver's message names the constraint, not the values.
            rejected.append((row.line, f"the database refused the row: {describe_db_error(exc)}"))
            continue
        outcomes.append(outcome)


def _set(obj: Any, attr: str, value: object) -> bool:
    """Set `attr` only when it differs, so an identical row issues no UPDATE."""
    if getattr(obj, attr) == value:
        return False
    setattr(obj, attr, value)
    return True


# ---- clients ---------------------------------------------------------------------------


@dataclass
class _ClientRow:
    line: int
    client_number: str
    fields: dict[str, object]  # Client attributes from the columns the file has
    sharing: bool | None  # None: absent or empty, leave alone (new clients: on)
    treated_since: date | None
    deceased_cell_empty: bool
    practitioners: list[str] = field(default_factory=list)


@dataclass
class _ClientCtx:
    clients: dict[str, Client]
    episodes: dict[str, CareEpisode]
    taken_source_ids: set[str]
    bsn_owners: dict[str, set[str]]  # BSN → client numbers holding it (the chunk's BSNs)
    # Episodes of clients created in this chunk, added once a flush has given them an id
    # (the models have no ORM relationships to do that ordering for us).
    new_episodes: list[tuple[Client, CareEpisode]] = field(default_factory=list)
    practitioner_ids: dict[str, int] = field(default_factory=dict)  # user name → id
    # Care relationships to make once the chunk's new clients have ids.
    care_links: list[tuple[Client, int]] = field(default_factory=list)


def _finish_clients(session: Session, ctx: _ClientCtx) -> None:
    if not ctx.new_episodes and not ctx.care_links:
        return
    session.flush()  # one batch of INSERTs for the chunk's new clients
    for client, episode in ctx.new_episodes:
        episode.client_id = client.id
        session.add(episode)
    ctx.new_episodes.clear()
    if ctx.care_links:
        from arkinctl.services.access import has_relationship

        # an existing relationship (also an ended one) is an admin's to change, not ours
        for client, user_id in ctx.care_links:
            if not has_relationship(session, user_id, client.id, None):
                session.add(CareRelationship(client_id=client.id, user_id=user_id))
                session.flush()
        ctx.care_links.clear()


def _client_keys(values: Mapping[str, str]) -> list[tuple[str, str]]:
    keys: list[tuple[str, str]] = []
    if number := _key_text(values, "client_number"):
        keys.append(("client_number", number))
    if (raw := values.get("bsn")) and (bsn := _valid_bsn(raw)) is not None:
        keys.append(("bsn", bsn))
    return keys


def _client_duplicate(kind: str, value: str, first_line: int, first_owner: str) -> str:
    if kind == "bsn":  # never name the BSN itself
        if first_owner:
            return f"the BSN already belongs to client {first_owner} (line {first_line})"
        return f"the BSN is also on line {first_line}; a BSN identifies one person"
    return (
        f"client number {value} is also on line {first_line}; a client number may appear "
        "only once in a file, so later rows are rejected"
    )


def _client_source_id(client_number: str) -> str:
    return f"clients:{client_number}"


def _parse_client(
    table: CsvTable, settings: Settings, line: int, values: Mapping[str, str]
) -> _ClientRow:
    number = _required_key(table, values, "client_number", _max_length(Client, "client_number"))
    fields: dict[str, object] = {}
    for name in ("given_name", "name_prefix", "family_name", "phone"):
        if _given(values, name):
            fields[name] = _text(table, values, name, _max_length(Client, name))
    if _given(values, "bsn"):
        fields["bsn"] = _bsn(table, values)
    if _given(values, "email"):
        fields["email"] = _email(table, values, "email", _max_length(Client, "email"))
    if _given(values, "date_of_birth"):
        born = _date(table, values, "date_of_birth")
        if born is not None and born > datetime.now(settings.timezone).date():
            raise _Rejected(f"{table.label('date_of_birth')}: the date is in the future")
        fields["birth_date"] = born
        fields["birth_date_partial"] = None  # a full (or cleared) date replaces a partial one
    deceased_cell_empty = False
    if _given(values, "deceased_date"):
        died = _date(table, values, "deceased_date")
        if died is None:
            deceased_cell_empty = True
        else:
            fields["deceased_date"] = died
            fields["deceased"] = True
    sharing = _switch(table, values, "sharing") if _given(values, "sharing") else None
    treated = _date(table, values, "treated_since") if _given(values, "treated_since") else None
    names = (values.get("practitioner") or "").replace("|", " ").split()
    return _ClientRow(line, number, fields, sharing, treated, deceased_cell_empty, names)


def _prefetch_clients(session: Session, rows: list[_ClientRow]) -> _ClientCtx:
    numbers = [r.client_number for r in rows]
    source_ids = [_client_source_id(n) for n in numbers]
    clients = session.scalars(select(Client).where(Client.client_number.in_(numbers)))
    episodes = session.scalars(
        select(CareEpisode).where(
            CareEpisode.source_system == SOURCE_SYSTEM, CareEpisode.source_id.in_(source_ids)
        )
    )
    taken = session.scalars(
        select(Client.source_id).where(
            Client.source_system == SOURCE_SYSTEM, Client.source_id.in_(source_ids)
        )
    )
    bsns = {b for r in rows if isinstance(b := r.fields.get("bsn"), str)}
    bsn_owners: dict[str, set[str]] = {}
    if bsns:
        holders = session.execute(
            select(Client.bsn, Client.client_number).where(Client.bsn.in_(bsns))
        )
        for bsn, number in holders:
            if bsn is not None:
                bsn_owners.setdefault(bsn, set()).add(number)
    names = sorted({n for r in rows for n in r.practitioners})
    practitioners = (
        session.execute(
            select(User.username, User.id).where(
                User.username.in_(names), User.role == "practitioner"
            )
        ).all()
        if names
        else []
    )
    return _ClientCtx(
        clients={c.client_number: c for c in clients},
        episodes={e.source_id: e for e in episodes},
        taken_source_ids={s for s in taken if s is not None},
        bsn_owners=bsn_owners,
        practitioner_ids={name: user_id for name, user_id in practitioners},
    )


def _check_bsn(row: _ClientRow, client: Client | None, ctx: _ClientCtx) -> str | None:
    """Raise `_Rejected` when the row would give its client another client's BSN; a
    warning when the client already shares it (data from before this check)."""
    bsn = row.fields.get("bsn")
    if not isinstance(bsn, str):
        return None
    others = ctx.bsn_owners.get(bsn, set()) - {row.client_number}
    if not others:
        return None
    if client is None or client.bsn != bsn:
        raise _Rejected(f"the BSN already belongs to client {min(others)}")
    return (
        f"the BSN also belongs to client {', '.join(sorted(others))}; a BSN identifies one "
        "person: correct it in the care record"
    )


def _track_bsn(ctx: _ClientCtx, number: str, old: str | None, new: str | None) -> None:
    if old == new:
        return
    if old is not None:
        ctx.bsn_owners.get(old, set()).discard(number)
    if new is not None:
        ctx.bsn_owners.setdefault(new, set()).add(number)


def _apply_client(
    session: Session,
    row: _ClientRow,
    ctx: _ClientCtx,
    *,
    actor: Actor,
    source: str,
    now: datetime,
) -> _Outcome:
    outcome = _Outcome(row.line)
    source_id = _client_source_id(row.client_number)
    sharing_reason = f"import of {source}"[:500]
    client = ctx.clients.get(row.client_number)
    shared = _check_bsn(row, client, ctx)  # first: a rejected row must change nothing
    if shared is not None:
        outcome.warnings.append(shared)
    if "bsn" in row.fields:
        new_bsn = row.fields["bsn"]
        _track_bsn(
            ctx,
            row.client_number,
            client.bsn if client is not None else None,
            new_bsn if isinstance(new_bsn, str) else None,
        )
    if client is None:
        client = Client(client_number=row.client_number, sharing_enabled=True, **row.fields)
        if source_id not in ctx.taken_source_ids:
            client.source_system, client.source_id = SOURCE_SYSTEM, source_id
        if row.sharing is False:
            client.sharing_enabled = False
            client.sharing_changed_at, client.sharing_changed_by = now, actor.username
            client.sharing_reason = sharing_reason
        session.add(client)
        ctx.clients[row.client_number] = client
        outcome.counts.append(("created", "client"))
    else:
        changed = False
        for attr, value in row.fields.items():
            changed = _set(client, attr, value) or changed
        if row.sharing is not None and _set(client, "sharing_enabled", row.sharing):
            client.sharing_changed_at, client.sharing_changed_by = now, actor.username
            client.sharing_reason = sharing_reason
            changed = True
        if row.deceased_cell_empty and client.deceased:
            outcome.warnings.append(
                "the client is recorded as deceased but deceased_date is empty; "
                "left as deceased (correct it in the care record and re-import a date, "
                "or ask the technical department)"
            )
        outcome.counts.append(("updated" if changed else "unchanged", "client"))

    if row.treated_since is not None:
        episode = ctx.episodes.get(source_id)
        if episode is None:
            episode = CareEpisode(
                kind="record",
                start_date=row.treated_since,
                source_system=SOURCE_SYSTEM,
                source_id=source_id,
            )
            if client.id is None:
                ctx.new_episodes.append((client, episode))  # needs the id: added after a flush
            else:
                episode.client_id = client.id
                session.add(episode)
            ctx.episodes[source_id] = episode
            outcome.counts.append(("created", "care_episode"))
        elif _set(episode, "start_date", row.treated_since):
            outcome.counts.append(("updated", "care_episode"))
        else:
            outcome.counts.append(("unchanged", "care_episode"))
    for name in row.practitioners:
        user_id = ctx.practitioner_ids.get(name)
        if user_id is None:
            outcome.warnings.append(
                f"{name!r} is no arkinctl practitioner: no care relationship made "
                "(`arkinctl user add NAME --role practitioner`, then import again)"
            )
        else:
            ctx.care_links.append((client, user_id))
    return outcome


def import_clients(
    session: Session, data: bytes, *, source: str, settings: Settings, actor: Actor
) -> ImportSummary:
    """Upsert clients (and their `treated_since` care episode) from the care record's CSV."""
    staff_only(actor, "importing clients")
    table = read_csv(data, columns=CLIENT_COLUMNS, required=("client_number",))
    summary = ImportSummary(source=source)
    now = datetime.now(UTC)

    def apply(s: Session, row: _ClientRow, ctx: _ClientCtx) -> _Outcome:
        return _apply_client(s, row, ctx, actor=actor, source=source, now=now)

    _run(
        session,
        table,
        summary,
        parse=lambda line, values: _parse_client(table, settings, line, values),
        key_column="client_number",
        unique=_client_keys,
        duplicate=_client_duplicate,
        prefetch=_prefetch_clients,
        apply=apply,
        finish=_finish_clients,
    )
    record(
        session,
        actor,
        action="import.clients",
        action_code="C",
        object_type="import",
        object_id=source[:100],
    )
    return summary


# ---- portal accounts -------------------------------------------------------------------


@dataclass
class _AccountRow:
    line: int
    account_id: str
    fields: dict[str, object]  # PortalAccount attributes from the columns the file has
    warnings: list[str] = field(default_factory=list)  # about the portal's own data


def _account_keys(values: Mapping[str, str]) -> list[tuple[str, str]]:
    account_id = _key_text(values, "account_id")
    return [("account_id", account_id)] if account_id else []


def _account_duplicate(kind: str, value: str, first_line: int, first_owner: str) -> str:
    return (
        f"account {value} is also on line {first_line}; an account may appear only once "
        "in a file, so later rows are rejected"
    )


@dataclass
class _AccountCtx:
    accounts: dict[str, PortalAccount]
    client_numbers: set[str]


def _parse_account(
    table: CsvTable, settings: Settings, line: int, values: Mapping[str, str]
) -> _AccountRow:
    account_id = _required_key(
        table, values, "account_id", _max_length(PortalAccount, "account_id")
    )
    status_text = fold(values["status"])
    if not status_text:
        raise _Rejected(f"{table.label('status')} is empty")
    status = ACCOUNT_STATUSES.get(status_text)
    if status is None:
        raise _Rejected(
            f"{table.label('status')}: expected invited, active, blocked or deactivated "
            "(uitgenodigd, actief, geblokkeerd, gedeactiveerd)"
        )
    fields: dict[str, object] = {"status": status}
    warnings: list[str] = []
    for name in ("identification_number", "first_name", "surname"):
        if _given(values, name):
            fields[name] = _text(table, values, name, _max_length(PortalAccount, name))
    if _given(values, "email"):
        fields["email"] = _portal_email(
            table, values, "email", _max_length(PortalAccount, "email"), warnings
        )
    if _given(values, "date_of_birth"):
        # Kept as typed, even in the future: a 2085 here is the mismatch diagnose explains.
        # One that cannot be read is the client's typo, not a reason to lose the account.
        born = None
        if values["date_of_birth"]:
            try:
                born = parse_date_cell(values["date_of_birth"])
            except InvalidInputError:
                warnings.append(
                    f"{table.label('date_of_birth')} is not a readable date; stored as missing"
                )
        fields["birth_date"] = born
    for name in ("created_at", "last_login_at"):
        if _given(values, name):
            fields[name] = _instant(table, values, name, settings)
    return _AccountRow(line, account_id, fields, warnings)


def _prefetch_accounts(session: Session, rows: list[_AccountRow]) -> _AccountCtx:
    ids = [r.account_id for r in rows]
    numbers = {n for r in rows if isinstance(n := r.fields.get("identification_number"), str)}
    accounts = session.scalars(select(PortalAccount).where(PortalAccount.account_id.in_(ids)))
    known = session.scalars(select(Client.client_number).where(Client.client_number.in_(numbers)))
    return _AccountCtx(accounts={a.account_id: a for a in accounts}, client_numbers=set(known))


def _apply_account(session: Session, row: _AccountRow, ctx: _AccountCtx) -> _Outcome:
    outcome = _Outcome(row.line, warnings=list(row.warnings))
    account = ctx.accounts.get(row.account_id)
    if account is None:
        account = PortalAccount(account_id=row.account_id, **row.fields)
        session.add(account)
        ctx.accounts[row.account_id] = account
        outcome.counts.append(("created", "account"))
    else:
        changed = False
        for attr, value in row.fields.items():
            changed = _set(account, attr, value) or changed
        outcome.counts.append(("updated" if changed else "unchanged", "account"))

    number = account.identification_number
    if number is None:
        outcome.unlinked = True
        outcome.warnings.append(f"account {row.account_id} has no identification number; kept")
    elif number not in ctx.client_numbers:
        outcome.unlinked = True
        outcome.warnings.append(
            f"account {row.account_id}: no client has identification number {number}; "
            "kept as unlinked"
        )
    return outcome


def import_accounts(
    session: Session, data: bytes, *, source: str, settings: Settings, actor: Actor
) -> ImportSummary:
    """Upsert portal accounts from the portal's member export; unlinked ones are kept."""
    staff_only(actor, "importing portal accounts")
    table = read_csv(
        data, columns=ACCOUNT_COLUMNS, required=("account_id", "identification_number", "status")
    )
    summary = ImportSummary(source=source)
    outcomes = _run(
        session,
        table,
        summary,
        parse=lambda line, values: _parse_account(table, settings, line, values),
        key_column="account_id",
        unique=_account_keys,
        duplicate=_account_duplicate,
        prefetch=_prefetch_accounts,
        apply=_apply_account,
    )
    from arkinctl.services.invitations import accept_for_active_accounts

    accepted = accept_for_active_accounts(session, now=datetime.now(UTC))
    if accepted:
        summary.notes.append(
            f"{accepted} invitation(s) accepted: their clients now have an active account"
        )
    unlinked = sum(1 for o in outcomes if o.unlinked)
    if unlinked:
        summary.notes.append(
            f"{unlinked} account(s) not linked to a client (kept): no client has their "
            "identification number; they link once that client is imported"
        )
    record(
        session,
        actor,
        action="import.accounts",
        action_code="C",
        object_type="import",
        object_id=source[:100],
    )
    return summary
