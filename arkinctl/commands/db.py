"""`arkinctl db`: create, upgrade and inspect the schema (only through migrations)."""

from __future__ import annotations

import typer

from arkinctl.commands.common import FormatOption, app_context, command_group

app = command_group("Create, upgrade and inspect the database schema.")


@app.command("init")
def init(ctx: typer.Context) -> None:
    """Create the schema in an empty database (runs every migration).

    Example: arkinctl --db postgresql://user@host/arkin db init
    """
    from arkinctl.services.schema import init_schema

    app_ = app_context(ctx)
    result = init_schema(app_.engine(check_schema=False))
    app_.output().status(result)


@app.command("upgrade")
def upgrade(ctx: typer.Context) -> None:
    """Bring the schema up to date with this version of arkinctl.

    Example: arkinctl db upgrade
    """
    from arkinctl.services.schema import upgrade_schema

    app_ = app_context(ctx)
    app_.output().status(upgrade_schema(app_.engine(check_schema=False)))


@app.command("status")
def status(ctx: typer.Context, fmt: FormatOption = None) -> None:
    """Say whether the schema is current. Exit 0 when it is, 9 when it is not.

    Example: arkinctl db status --format json
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
                ],
            )
        ],
    )
    if not st.current:
        raise typer.Exit(int(ExitCode.SCHEMA_OUTDATED))
