"""`arkinctl user`: the people who may run arkinctl, and their roles (admins only)."""

from dataclasses import asdict
from typing import Annotated

import typer

from arkinctl.commands.common import FormatOption, app_context, command_group

app = command_group("The people who may use arkinctl and their roles (admins manage them).")

UsernameArgument = Annotated[
    str, typer.Argument(help="The user name (as --as or ARKINCTL_USER give it).", metavar="USER")
]
_COLUMNS = ["username", "display_name", "role", "active", "created_at"]


@app.command("add")
def add(
    ctx: typer.Context,
    username: UsernameArgument,
    role: Annotated[
        str,
        typer.Option(
            "--role",
            help="practitioner (their own clients), technical (every client, no clinical "
            "titles) or admin (everything, and managing users).",
        ),
    ],
    name: Annotated[
        str | None, typer.Option("--name", help="The full name, for lists and reports.")
    ] = None,
    fmt: FormatOption = None,
) -> None:
    """Add a user who may run arkinctl.

    \b
    Examples:
      arkinctl user add j.devries --role practitioner --name "Jan de Vries"
      arkinctl user add helpdesk1 --role technical
    """
    from arkinctl.services.users import add_user

    app_ = app_context(ctx)
    with app_.session() as session:
        view = add_user(session, app_.actor(session), username, role=role, display_name=name)
    app_.output(fmt).document(
        asdict(view), [_section(f"Added {view.username} ({view.role}).", asdict(view))]
    )


@app.command("list")
def list_(ctx: typer.Context, fmt: FormatOption = None) -> None:
    """List the users, active and disabled.

    \b
    Example:
      arkinctl user list --format csv
    """
    from arkinctl.services.users import list_users

    app_ = app_context(ctx)
    with app_.session() as session:
        users = [asdict(u) for u in list_users(session, app_.actor(session))]
    app_.output(fmt).records(users, _COLUMNS, title="Users", empty="no users")


def _set_active(ctx: typer.Context, username: str, active: bool, fmt: FormatOption) -> None:
    from arkinctl.services.users import set_active

    app_ = app_context(ctx)
    with app_.session() as session:
        view = set_active(session, app_.actor(session), username, active=active)
    state = "active" if view.active else "disabled"
    app_.output(fmt).document(
        asdict(view), [_section(f"{view.username} is {state}.", asdict(view))]
    )


@app.command("disable")
def disable(ctx: typer.Context, username: UsernameArgument, fmt: FormatOption = None) -> None:
    """Disable a user: from now on arkinctl refuses them (their past stays in the trail).

    \b
    Example:
      arkinctl user disable j.devries
    """
    _set_active(ctx, username, False, fmt)


@app.command("enable")
def enable(ctx: typer.Context, username: UsernameArgument, fmt: FormatOption = None) -> None:
    """Enable a disabled user again.

    \b
    Example:
      arkinctl user enable j.devries
    """
    _set_active(ctx, username, True, fmt)


def _section(message: str, fields: dict[str, object]):  # type: ignore[no-untyped-def]
    from arkinctl.output import Section

    return Section(None, [("result", message), *((k, fields[k]) for k in _COLUMNS)])
