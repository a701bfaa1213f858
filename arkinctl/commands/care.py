"""`arkinctl care`: which practitioner treats which client, and since when (admins only)."""

from dataclasses import asdict
from typing import Annotated

import typer

from arkinctl.commands.common import FormatOption, RefArgument, app_context, command_group

app = command_group("Care relationships: the clients a practitioner may open.")

UserArgument = Annotated[str, typer.Argument(help="The practitioner's user name.", metavar="USER")]
_COLUMNS = ["client_number", "username", "valid_from", "valid_until", "current"]


@app.command("link")
def link(
    ctx: typer.Context,
    ref: RefArgument,
    username: UserArgument,
    valid_from: Annotated[
        str | None, typer.Option("--from", help="First day (default: open-ended).")
    ] = None,
    valid_until: Annotated[
        str | None, typer.Option("--until", help="Last day (default: open-ended).")
    ] = None,
    fmt: FormatOption = None,
) -> None:
    """Give a practitioner a care relationship with a client (or change its period).

    \b
    Examples:
      arkinctl care link 1000123 j.devries
      arkinctl care link 1000123 j.devries --from 1-12-2026 --until 31-5-2027
    """
    from arkinctl.services.care import link_practitioner
    from arkinctl.services.dates import parse_user_date

    app_ = app_context(ctx)
    start = parse_user_date(valid_from) if valid_from else None
    end = parse_user_date(valid_until) if valid_until else None
    with app_.session() as session:
        view = link_practitioner(
            session, app_.actor(session), ref, username, valid_from=start, valid_until=end
        )
    message = (
        f"{view.username} treats {view.client_number}."
        if view.current
        else f"{view.username} has a care relationship with {view.client_number}, but not "
        "today (see its --from and --until)."
    )
    _show(app_, fmt, asdict(view), message)


@app.command("unlink")
def unlink(
    ctx: typer.Context, ref: RefArgument, username: UserArgument, fmt: FormatOption = None
) -> None:
    """End a practitioner's care relationship with a client.

    \b
    Example:
      arkinctl care unlink 1000123 j.devries
    """
    from arkinctl.services.care import unlink_practitioner

    app_ = app_context(ctx)
    with app_.session() as session:
        number, removed = unlink_practitioner(session, app_.actor(session), ref, username)
    doc = {"client_number": number, "username": username, "removed": removed}
    message = (
        f"{username} no longer has a care relationship with {number}."
        if removed
        else f"{username} had no care relationship with {number}; nothing changed."
    )
    _show(app_, fmt, doc, message)


@app.command("list")
def list_(ctx: typer.Context, ref: RefArgument, fmt: FormatOption = None) -> None:
    """List a client's care relationships (current and past or future ones).

    \b
    Example:
      arkinctl care list 1000123
    """
    from arkinctl.services.care import client_relationships

    app_ = app_context(ctx)
    with app_.session() as session:
        rows = [asdict(r) for r in client_relationships(session, app_.actor(session), ref)]
    app_.output(fmt).records(
        rows, _COLUMNS, title="Care relationships", empty="no care relationships"
    )


def _show(app_, fmt: FormatOption, doc: dict[str, object], message: str) -> None:  # type: ignore[no-untyped-def]
    from arkinctl.output import Section

    app_.output(fmt).document(
        doc, [Section(None, [("result", message), *((k, v) for k, v in doc.items())])]
    )
