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
one by one so that only the offending row is lost.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session
from stdnum.nl import bsn as stdnum_bsn

from arkinctl.config import Settings
from arkinctl.db.engine import describe_db_error
from arkinctl.db.models import Base, CareEpisode, Client, PortalAccount
from arkinctl.errors import InvalidInputError
from arkinctl.services.audit import Actor, record
from arkinctl.services.csv_reader import CsvTable, read_csv
from arkinctl.services.dates import parse_instant, parse_user_date
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


def _date(table: CsvTable, values: Mapping[str, str], name: str) -> date | None:
    if not values[name]:
        return None
    try:
        return parse_user_date(values[name])
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
    value = _text(table, values, name, limit)
    if value is None:
        return None
    local, at, domain = value.partition("@")
    if not at or not local or not domain or "@" in domain or any(c.isspace() for c in value):
        raise _Rejected(f"{table.label(name)}: not an e-mail address")
    return value


def _bsn(table: CsvTable, values: Mapping[str, str]) -> str | None:
    if not values["bsn"]:
        return None
    compact = str(stdnum_bsn.compact(values["bsn"]))  # drops dots/spaces, restores a lost 0
    if not stdnum_bsn.is_valid(compact):
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


def _run(
    session: Session,
    table: CsvTable,
    summary: ImportSummary,
    *,
    parse: Callable[[int, Mapping[str, str]], Row],
    key: Callable[[Row], str],
    key_label: str,
    prefetch: Callable[[Session, list[Row]], Ctx],
    apply: Callable[[Session, Row, Ctx], _Outcome],
) -> list[_Outcome]:
    """Parse every row, apply them per chunk, and fill `summary`; returns the outcomes."""
    rejected: list[tuple[int, str]] = []
    outcomes: list[_Outcome] = []
    first_line: dict[str, int] = {}
    chunk: list[Row] = []
    rows_read = 0

    def flush_chunk() -> None:
        _apply_chunk(session, chunk, prefetch, apply, outcomes, rejected)
        chunk.clear()

    for line, values in table.rows(on_bad_row=lambda n, why: rejected.append((n, why))):
        rows_read += 1
        try:
            row = parse(line, values)
        except _Rejected as exc:
            rejected.append((line, exc.reason))
            continue
        k = key(row)
        if k in first_line:
            # Taking both would make every re-run flip the record between them.
            rejected.append(
                (line, f"{key_label} {k} is also on line {first_line[k]}; only that row counts")
            )
            continue
        first_line[k] = line
        chunk.append(row)
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
    if rows_read == 0:
        summary.notes.append("the file has a header but no rows")
    return outcomes


def _apply_chunk(
    session: Session,
    rows: list[Row],
    prefetch: Callable[[Session, list[Row]], Ctx],
    apply: Callable[[Session, Row, Ctx], _Outcome],
    outcomes: list[_Outcome],
    rejected: list[tuple[int, str]],
) -> None:
    try:
        with session.begin_nested():
            ctx = prefetch(session, rows)
            done = [apply(session, row, ctx) for row in rows]
            session.flush()
        outcomes.extend(done)
        return
    except (IntegrityError, DataError):
        pass  # the savepoint is rolled back; find the row the database refuses
    for row in rows:
        try:
            with session.begin_nested():
                outcome = apply(session, row, prefetch(session, [row]))
                session.flush()
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


@dataclass
class _ClientCtx:
    clients: dict[str, Client]
    episodes: dict[str, CareEpisode]
    taken_source_ids: set[str]


def _client_source_id(client_number: str) -> str:
    return f"clients:{client_number}"


def _parse_client(
    table: CsvTable, settings: Settings, line: int, values: Mapping[str, str]
) -> _ClientRow:
    number = _required_key(table, values, "client_number", _max_length(Client, "client_number"))
    fields: dict[str, object] = {}
    for name in ("given_name", "name_prefix", "family_name", "phone"):
        if table.has(name):
            fields[name] = _text(table, values, name, _max_length(Client, name))
    if table.has("bsn"):
        fields["bsn"] = _bsn(table, values)
    if table.has("email"):
        fields["email"] = _email(table, values, "email", _max_length(Client, "email"))
    if table.has("date_of_birth"):
        born = _date(table, values, "date_of_birth")
        if born is not None and born > datetime.now(settings.timezone).date():
            raise _Rejected(f"{table.label('date_of_birth')}: the date is in the future")
        fields["birth_date"] = born
        fields["birth_date_partial"] = None  # a full (or cleared) date replaces a partial one
    deceased_cell_empty = False
    if table.has("deceased_date"):
        died = _date(table, values, "deceased_date")
        if died is None:
            deceased_cell_empty = True
        else:
            fields["deceased_date"] = died
            fields["deceased"] = True
    sharing = _switch(table, values, "sharing") if table.has("sharing") else None
    treated = _date(table, values, "treated_since") if table.has("treated_since") else None
    return _ClientRow(line, number, fields, sharing, treated, deceased_cell_empty)


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
    return _ClientCtx(
        clients={c.client_number: c for c in clients},
        episodes={e.source_id: e for e in episodes},
        taken_source_ids={s for s in taken if s is not None},
    )


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
                client=client,
                kind="record",
                start_date=row.treated_since,
                source_system=SOURCE_SYSTEM,
                source_id=source_id,
            )
            session.add(episode)
            ctx.episodes[source_id] = episode
            outcome.counts.append(("created", "care_episode"))
        elif _set(episode, "start_date", row.treated_since):
            outcome.counts.append(("updated", "care_episode"))
        else:
            outcome.counts.append(("unchanged", "care_episode"))
    return outcome


def import_clients(
    session: Session, data: bytes, *, source: str, settings: Settings, actor: Actor
) -> ImportSummary:
    """Upsert clients (and their `treated_since` care episode) from the care record's CSV."""
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
        key=lambda row: row.client_number,
        key_label="client number",
        prefetch=_prefetch_clients,
        apply=apply,
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
    for name in ("identification_number", "first_name", "surname"):
        if table.has(name):
            fields[name] = _text(table, values, name, _max_length(PortalAccount, name))
    if table.has("email"):
        fields["email"] = _email(table, values, "email", _max_length(PortalAccount, "email"))
    if table.has("date_of_birth"):
        # Kept as typed, even in the future: a 2085 here is the mismatch diagnose explains.
        fields["birth_date"] = _date(table, values, "date_of_birth")
    for name in ("created_at", "last_login_at"):
        if table.has(name):
            fields[name] = _instant(table, values, name, settings)
    return _AccountRow(line, account_id, fields)


def _prefetch_accounts(session: Session, rows: list[_AccountRow]) -> _AccountCtx:
    ids = [r.account_id for r in rows]
    numbers = {n for r in rows if isinstance(n := r.fields.get("identification_number"), str)}
    accounts = session.scalars(select(PortalAccount).where(PortalAccount.account_id.in_(ids)))
    known = session.scalars(select(Client.client_number).where(Client.client_number.in_(numbers)))
    return _AccountCtx(accounts={a.account_id: a for a in accounts}, client_numbers=set(known))


def _apply_account(session: Session, row: _AccountRow, ctx: _AccountCtx) -> _Outcome:
    outcome = _Outcome(row.line)
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
    table = read_csv(
        data, columns=ACCOUNT_COLUMNS, required=("account_id", "identification_number", "status")
    )
    summary = ImportSummary(source=source)
    outcomes = _run(
        session,
        table,
        summary,
        parse=lambda line, values: _parse_account(table, settings, line, values),
        key=lambda row: row.account_id,
        key_label="account",
        prefetch=_prefetch_accounts,
        apply=_apply_account,
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
