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

    @property
    def current(self) -> bool:
        return self.revision == self.head


def schema_status(engine: Engine) -> SchemaStatus:
    return SchemaStatus(revision=current_revision(engine), head=SCHEMA_HEAD)


def init_schema(engine: Engine) -> str:
    from arkinctl.db.migrate import upgrade

    revision = current_revision(engine)
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
