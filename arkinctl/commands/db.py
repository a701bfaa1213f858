"""`arkinctl db`: create, upgrade and inspect the schema (only through migrations)."""

from typing import TYPE_CHECKING

import typer

from arkinctl.commands.common import FormatOption, app_context, command_group

if TYPE_CHECKING:
    from arkinctl.context import AppContext

app = command_group("Create, upgrade and inspect the database schema.")


@app.command("init")
def init(ctx: typer.Context, fmt: FormatOption = None) -> None:
    """Create the schema in an empty database (runs every migration).

    You (the acting user: --as, ARKINCTL_USER or your login name) become the database's
    first arkinctl user, an admin, who adds the others with `arkinctl user add`.

    Creates an SQLite file if there is none at the path yet. Running it again on a current
    schema changes nothing; on an older schema it refuses (exit 6): use `db upgrade`.

    \b
    Examples:
      arkinctl --db postgresql://user@host/arkin db init
      arkinctl --db ./clients.db db init
    """
    from arkinctl.services.schema import init_schema

    app_ = app_context(ctx)
    app_.check_user_name()  # the first admin's name, checked before anything is created
    message = init_schema(app_.engine(check_schema=False, create=True))
    app_.bootstrap_admin()
    _report(app_, message, fmt)


@app.command("upgrade")
def upgrade(ctx: typer.Context, fmt: FormatOption = None) -> None:
    """Bring the schema up to date with this version of arkinctl.

    \b
    Example:
      arkinctl db upgrade
    """
    from arkinctl.services.schema import upgrade_schema

    app_ = app_context(ctx)
    app_.check_user_name()
    message = upgrade_schema(app_.engine(check_schema=False, create=False))
    app_.bootstrap_admin()  # a database from before users existed gets its first admin
    _report(app_, message, fmt)


def _report(app_: "AppContext", message: str, fmt: FormatOption) -> None:
    from arkinctl.db.engine import SCHEMA_HEAD

    out = app_.output(fmt)
    if out.format.value == "table":
        out.status(message)
    else:
        out.document({"revision": SCHEMA_HEAD, "message": message}, [])


@app.command("status")
def status(ctx: typer.Context, fmt: FormatOption = None) -> None:
    """Say whether the schema is current. Exit 0 when it is, 9 when it is not.

    \b
    Example:
      arkinctl db status --format json
    """
    from arkinctl.config import mask_url
    from arkinctl.errors import ExitCode
    from arkinctl.output import Section
    from arkinctl.services.schema import schema_status

    app_ = app_context(ctx)
    st = schema_status(app_.engine(check_schema=False))
    doc = {
        "database": mask_url(app_.settings.database_url),
        "revision": st.revision,
        "head": st.head,
        "current": st.current,
        "missing_tables": list(st.missing_tables),
    }
    app_.output(fmt).document(
        doc,
        [
            Section(
                None,
                [
                    ("database", doc["database"]),
                    ("revision", st.revision or "(none)"),
                    ("head", st.head),
                    ("current", st.current),
                    *(
                        [
                            (
                                "missing tables",
                                ", ".join(st.missing_tables) + " (restore the database)",
                            )
                        ]
                        if st.missing_tables
                        else []
                    ),
                ],
            )
        ],
    )
    if not st.current:
        raise typer.Exit(int(ExitCode.SCHEMA_OUTDATED))
