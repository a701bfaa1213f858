"""`arkinctl share`: switch portal sharing on or off for a client (technical staff)."""

from typing import Annotated

import typer

from arkinctl.commands.common import FormatOption, RefArgument, app_context, command_group

app = command_group("Switch portal sharing for a client.")

ChangeReason = Annotated[
    str,
    typer.Option("--reason", help="Why (required; kept with the change and in the audit trail)."),
]


def _switch(ctx: typer.Context, ref: str, reason: str, enabled: bool, fmt: FormatOption) -> None:
    from dataclasses import asdict

    from arkinctl.output import Section
    from arkinctl.services.sharing import switch_sharing

    app_ = app_context(ctx)
    with app_.session() as session:
        change = switch_sharing(
            session, ref, enabled=enabled, reason=reason, actor=app_.actor(session, purpose=reason)
        )
    state = "on" if change.enabled else "off"
    message = (
        f"Sharing is now {state} for {change.client_number}."
        if change.changed
        else f"Sharing was already {state} for {change.client_number}; nothing changed."
    )
    app_.output(fmt).document(asdict(change), [Section(None, [("result", message)])])


@app.command("enable")
def enable(
    ctx: typer.Context, ref: RefArgument, reason: ChangeReason, fmt: FormatOption = None
) -> None:
    """Switch sharing on: the client's shared parts appear in the portal.

    \b
    Example:
      arkinctl share enable 1000123 --reason "switched off by mistake, ticket TD-12"
    """
    _switch(ctx, ref, reason, True, fmt)


@app.command("disable")
def disable(
    ctx: typer.Context, ref: RefArgument, reason: ChangeReason, fmt: FormatOption = None
) -> None:
    """Switch sharing off: the portal shows the client nothing from the file.

    \b
    Example:
      arkinctl share disable 1000123 --reason "client request, letter 2026-11-02"
    """
    _switch(ctx, ref, reason, False, fmt)
