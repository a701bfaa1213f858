"""The per-invocation context: options, settings, and lazily made engine and sessions.

Nothing connects until a command asks for a session, so `--help` never touches the database.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from arkinctl.config import Settings, load_settings
from arkinctl.output import Output, OutputFormat

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

    from arkinctl.services.audit import Actor


@dataclass
class AppContext:
    db_option: str | None = None
    user_option: str | None = None
    on_behalf_of: str | None = None
    format: OutputFormat = OutputFormat.table
    no_color: bool = False
    verbose: bool = False
    argv: list[str] = field(default_factory=lambda: list(sys.argv[1:]))
    command_path: str = "arkinctl"
    # The names of the options given on the command line (never their values), from Click's
    # parsed context: set by `commands.common.app_context`.
    option_names: list[str] = field(default_factory=list)
    _settings: Settings | None = None
    _engine: Engine | None = None
    _factory: Any = None
    _user: tuple[int, str] | None = None  # id and role, once checked

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(database_url=self.db_option, user=self.user_option)
        return self._settings

    def output(self, fmt: OutputFormat | None = None) -> Output:
        return Output(fmt or self.format, no_color=self.no_color, tz=self.settings.timezone)

    def engine(self, *, check_schema: bool = True, create: bool = False) -> Engine:
        """The engine, made on first use. `create`: the command may create an empty
        database (the embedded default always may); otherwise a missing database or
        schema is an error that says what to run."""
        if self._engine is None:
            from arkinctl.db.engine import ensure_schema_current, make_engine

            url = self.settings.database_url
            create = create or self.settings.database_is_default
            if create:
                self.check_user_name()  # before a database is made that it could not use
            self._engine = make_engine(url, create=create)
            # The script leaves with os._exit (see cli._exit): close the connections first.
            import atexit

            atexit.register(self._engine.dispose)
            if check_schema and ensure_schema_current(self._engine, auto_create=create):
                from arkinctl.config import mask_url

                sys.stderr.write(f"Created the arkinctl schema in {mask_url(url)}\n")
                self.bootstrap_admin()
        return self._engine

    def check_user_name(self) -> None:
        from arkinctl.services.access import acting_user_name

        acting_user_name(self.settings.user)

    def bootstrap_admin(self) -> None:
        """Whoever creates a database administers it: in a database without users, the
        acting user becomes its first admin (said on stderr, and the first audit event)."""
        from arkinctl.db.engine import unit_of_work
        from arkinctl.services.access import bootstrap_admin
        from arkinctl.services.audit import record

        with unit_of_work(self.session_factory()) as session:
            if bootstrap_admin(session, self.settings.user):
                record(
                    session,
                    self.actor(session),
                    action="user.bootstrap",
                    action_code="C",
                    object_type="user",
                    object_id=self.settings.user,
                )
                sys.stderr.write(
                    f"{self.settings.user} is this database's first arkinctl user, an admin "
                    "(add others with `arkinctl user add`)\n"
                )

    def session_factory(self) -> sessionmaker[Session]:
        """The sessionmaker, for commands that commit in several steps (batches)."""
        if self._factory is None:
            from sqlalchemy.orm import sessionmaker

            self._factory = sessionmaker(self.engine(), expire_on_commit=False)
        factory: sessionmaker[Session] = self._factory
        return factory

    @contextmanager
    def session(self, *, check_user: bool = True) -> Iterator[Session]:
        """One unit of work: committed at the end of the block, rolled back on error.

        The first one refuses an unknown or disabled acting user before anything is read.
        """
        from arkinctl.db.engine import unit_of_work

        with unit_of_work(self.session_factory()) as session:
            if check_user and self._user is None:
                from arkinctl.services.access import acting_user

                user = acting_user(session, self.settings.user)
                self._user = (user.id, user.role)
            yield session

    def actor(self, session: Session, *, purpose: str | None = None) -> Actor:
        from datetime import datetime

        from arkinctl.services.audit import make_actor

        return make_actor(
            session,
            username=self.settings.user,
            host=workstation(),
            command=redacted_command(self.command_path, self.option_names),
            purpose=purpose,
            on_behalf_of=self.on_behalf_of,
            today=datetime.now(self.settings.timezone).date(),
            known=self._user,
        )

    def record_failure(self, exc: Exception) -> None:
        """Audit a refused or failed attempt in its own transaction (the work was rolled back).

        Only when the database was reached; a failure to write this must not hide `exc`.
        """
        if self._engine is None or self._factory is None:
            return

        from sqlalchemy import select

        from arkinctl.db.models import Client, User
        from arkinctl.services.audit import record, unchecked_actor

        action = ".".join(self.command_path.split()[1:]) or "arkinctl"
        number = getattr(exc, "client_number", None)
        try:
            with self.session(check_user=False) as session:
                client = (
                    session.scalars(select(Client).where(Client.client_number == number)).first()
                    if number
                    else None
                )
                username = self.settings.user
                # who it was, as far as the database knows them (maybe not at all)
                role = session.scalars(select(User.role).where(User.username == username)).first()
                record(
                    session,
                    unchecked_actor(
                        username,
                        host=workstation(),
                        command=redacted_command(self.command_path, self.option_names),
                        role=role,
                    ),
                    action=action[:40],
                    action_code="E",
                    client=client,
                    outcome=failure_outcome(exc),
                )
        except Exception:
            pass


def failure_outcome(exc: Exception) -> str:
    """How the trail names a failed attempt (README: audit outcomes)."""
    from arkinctl.errors import (
        AccessDeniedError,
        ConflictError,
        InvalidInputError,
        NotFoundError,
        UsageError,
    )

    if isinstance(exc, AccessDeniedError):
        return "denied"
    if isinstance(exc, NotFoundError):
        return "not_found"
    if isinstance(exc, InvalidInputError | ConflictError | UsageError):
        return "refused"
    return "error"


def workstation() -> str:
    """Where a command ran, for the audit trail: the operating-system account and the host
    (`--as` names the arkinctl user; this says who really ran it, and where)."""
    import socket

    from arkinctl.services.sensitive_text import visible

    return visible(f"{os_account()}@{socket.gethostname()}")[:200]


def os_account() -> str:
    """The account the process runs as, from the system (not $USER, which anyone sets)."""
    import os

    try:
        import pwd

        return pwd.getpwuid(os.geteuid()).pw_name
    except (ImportError, KeyError, OSError):  # no passwd entry (some containers), Windows
        from arkinctl.config import login_name

        return f"uid-{os.geteuid()}" if hasattr(os, "geteuid") else login_name()


def redacted_command(command_path: str, option_names: list[str]) -> str:
    """The command for the audit trail: its words and the names of the options given,
    never a value (arguments and option values can be a BSN, an e-mail address or a name).

    The names come from what Click parsed, not from the raw command line, where `-dText`
    or a value that starts with `-` would look like an option."""
    return " ".join([command_path, *option_names])[:500]
