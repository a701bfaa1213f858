"""Schema lifecycle: init, upgrade, status."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from arkinctl.db.engine import KNOWN_REVISIONS, SCHEMA_HEAD, current_revision, schema_problem
from arkinctl.errors import ConflictError


@dataclass(frozen=True)
class SchemaStatus:
    revision: str | None
    head: str
    missing_tables: tuple[str, ...] = ()  # at the head revision, yet not there: damaged

    @property
    def current(self) -> bool:
        return self.revision == self.head and not self.missing_tables


def _tables(engine: Engine) -> set[str]:
    from sqlalchemy import inspect

    return set(inspect(engine).get_table_names())


def schema_status(engine: Engine) -> SchemaStatus:
    revision = current_revision(engine)
    missing: tuple[str, ...] = ()
    if revision == SCHEMA_HEAD:
        from arkinctl.db.models import Base

        missing = tuple(sorted(set(Base.metadata.tables) - _tables(engine)))
    return SchemaStatus(revision=revision, head=SCHEMA_HEAD, missing_tables=missing)


def init_schema(engine: Engine) -> str:
    from arkinctl.db.migrate import upgrade

    revision = current_revision(engine)
    if revision is None:
        foreign = sorted(_tables(engine))
        if foreign:
            raise ConflictError(
                f"the database already holds {len(foreign)} table(s) that are not arkinctl's "
                f"({', '.join(foreign[:5])}{', …' if len(foreign) > 5 else ''})",
                hint="give arkinctl an empty database of its own",
            )
    if revision is not None:
        if revision == SCHEMA_HEAD:
            return f"The schema is already initialised and current ({revision})."
        if revision not in KNOWN_REVISIONS:
            raise schema_problem(revision) or ConflictError("unexpected schema")
        raise ConflictError(
            f"the database already has an arkinctl schema ({revision})",
            hint="run `arkinctl db upgrade` instead",
        )
    upgrade(engine)
    return f"Created the arkinctl schema ({SCHEMA_HEAD})."


def upgrade_schema(engine: Engine) -> str:
    from arkinctl.db.migrate import upgrade

    before = current_revision(engine)
    if before == SCHEMA_HEAD:
        return f"The schema is already current ({before})."
    if before is not None and before not in KNOWN_REVISIONS:
        raise schema_problem(before) or ConflictError("unexpected schema")
    upgrade(engine)
    return f"Upgraded the schema from {before or 'empty'} to {SCHEMA_HEAD}."
