"""`arkinctl files`: a client's file parts, and whether the portal shows each."""

from typing import Annotated

import typer

from arkinctl.commands.common import (
    FormatOption,
    ReasonOption,
    RefArgument,
    app_context,
    command_group,
)

app = command_group("List a client's file parts.")


@app.command("list")
def list_(
    ctx: typer.Context,
    ref: RefArgument,
    shared: Annotated[bool, typer.Option("--shared", help="Only parts the portal shows.")] = False,
    not_shared: Annotated[
        bool, typer.Option("--not-shared", help="Only parts the portal does not show.")
    ] = False,
    before_cutoff: Annotated[
        bool,
        typer.Option(
            "--before-cutoff",
            help="Only parts hidden for no other reason than their entry before the cutoff.",
        ),
    ] = False,
    reason: ReasonOption = None,
    fmt: FormatOption = None,
) -> None:
    """Every file part with its entry date (local), kind, status, shared yes/no and why.

    Reasons: shared, before_cutoff, draft, withheld, kind_not_shared, entered_in_error,
    superseded. The entry date counts, not the clinical date.

    \b
    Examples:
      arkinctl files list 1000123
      arkinctl files list 1000123 --before-cutoff --format csv
    """
    from dataclasses import asdict

    from arkinctl.errors import InvalidInputError
    from arkinctl.output import yes_no_mark
    from arkinctl.services.files import list_parts_for

    if sum([shared, not_shared, before_cutoff]) > 1:
        raise InvalidInputError("choose one of --shared, --not-shared, --before-cutoff")
    which = (
        "shared"
        if shared
        else "not_shared"
        if not_shared
        else "before_cutoff"
        if before_cutoff
        else "all"
    )
    app_ = app_context(ctx)
    with app_.session() as session:
        parts = list_parts_for(
            session,
            ref,
            settings=app_.settings,
            actor=app_.actor(session, purpose=reason),
            which=which,
        )
    app_.output(fmt).records(
        [asdict(p) for p in parts],
        ["entered_on", "kind", "title", "status", "shared", "reason"],
        headers=["entered", "kind", "title", "status", "shared", "reason"],
        empty="No file parts match.",
        csv_columns=[
            "id", "entered_on", "entered_at", "kind", "title", "status", "shared", "reason",
            "clinical_date", "after_death", "source",
        ],
        display={"shared": yes_no_mark},
    )  # fmt: skip
