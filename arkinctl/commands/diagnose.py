"""`arkinctl diagnose`: why does the client see no data in the portal?"""

from typing import TYPE_CHECKING, Annotated

import typer

from arkinctl.commands.common import FormatOption, ReasonOption, app_context, command_group

if TYPE_CHECKING:
    from arkinctl.output import Output, Section
    from arkinctl.services.diagnose import Diagnosis

app = command_group()


@app.command("diagnose")
def diagnose(
    ctx: typer.Context,
    ref: Annotated[
        str | None,
        typer.Argument(
            help="The client: client number, BSN, e-mail address or portal account id.",
            metavar="REF",
            show_default=False,
        ),
    ] = None,
    all_clients: Annotated[
        bool, typer.Option("--all", help="Count the causes over all clients instead.")
    ] = False,
    reason: ReasonOption = None,
    fmt: FormatOption = None,
) -> None:
    """Walk the portal's visibility checks in order and stop at the first that fails.

    Prints every check (✓/✗), the cause, the remedy and the command to run next.
    Exit 0 only when the cause is `ok`; 20 for any other cause; 3 when the client is not found.

    \b
    Examples:
      arkinctl diagnose 1000123
      arkinctl diagnose jan.jansen@example.nl --format json
      arkinctl diagnose --all
    """
    from datetime import UTC, datetime

    from arkinctl.errors import ExitCode, UsageError

    app_ = app_context(ctx)
    out = app_.output(fmt)
    now = datetime.now(UTC)
    if all_clients and ref is not None:
        raise UsageError("give a client REF or --all, not both")
    if not all_clients and ref is None:
        raise UsageError(
            "give a client REF (client number, BSN, e-mail or account id) or --all",
            hint="see `arkinctl diagnose --help`",
        )
    if all_clients:
        from arkinctl.services.diagnose import count_causes_audited

        with app_.session() as session:
            counts = count_causes_audited(
                session, settings=app_.settings, actor=app_.actor(session, purpose=reason), now=now
            )
        total = sum(counts.values())
        doc = {"total": total, "causes": counts}
        if out.format.value == "json":
            out.json(doc)
        else:
            out.records(
                [{"cause": c, "clients": n} for c, n in counts.items()], ["cause", "clients"]
            )
            if out.format.value == "table":
                out.status(f"{total} client(s) in all.")
        return

    from arkinctl.services.diagnose import diagnose_client

    assert ref is not None
    with app_.session() as session:
        d = diagnose_client(
            session, ref, settings=app_.settings, actor=app_.actor(session, purpose=reason), now=now
        )
    render_diagnosis(out, d)
    if d.cause == "client_not_found":
        raise typer.Exit(int(ExitCode.NOT_FOUND))
    if not d.ok:
        raise typer.Exit(int(ExitCode.DIAGNOSIS_PROBLEM))


def diagnosis_sections(d: "Diagnosis", title: str | None = None) -> "list[Section]":
    """The human view of one diagnosis: the checks, then cause, remedy and next command."""
    from arkinctl.output import Section

    marks = {True: "✓", False: "✗", None: "·"}
    rows = [[f"{marks[c.passed]} {c.number}", c.label, c.detail] for c in d.checks]
    summary: list[tuple[str, object]] = [("cause", d.cause)]
    if d.dob_difference:
        summary.append(("difference", d.dob_difference))
    summary.append(("what to do", d.remedy))
    if d.next_command:
        summary.append(("next", d.next_command))
    if d.open_tickets:
        summary.append(("open tickets", ", ".join(d.open_tickets)))
    if title is None:
        title = f"Diagnosis for {d.client_number}: {d.name}" if d.client_number else "Diagnosis"
    return [Section(title, headers=["", "check", "detail"], rows=rows), Section(None, summary)]


def render_diagnosis(out: "Output", d: "Diagnosis", title: str | None = None) -> None:
    out.document(d.as_dict(), diagnosis_sections(d, title))
