"""`arkinctl ticket`: hand a problem to the technical department, and follow it to the fix."""

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer

from arkinctl.commands.common import (
    ClientFilterOption,
    FormatOption,
    LimitOption,
    ReasonOption,
    RefArgument,
    app_context,
    command_group,
    utc_now,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from arkinctl.context import AppContext
    from arkinctl.output import Output
    from arkinctl.services.audit import Actor
    from arkinctl.services.tickets import TicketView

app = command_group("Tickets for the technical department: open, follow, comment, close.")

NumberArgument = Annotated[
    str,
    typer.Argument(help="The ticket number (TD-2026-000123), or its id.", metavar="NUMBER"),
]


def _show(
    out: "Output", view: "TicketView", note: str | None = None, extra: dict[str, Any] | None = None
) -> None:
    from arkinctl.output import Section

    doc = {**(extra or {}), **view.as_dict()}
    pairs: list[tuple[str, Any]] = [
        ("client", view.client_number),
        ("category", view.category),
        ("status", view.status),
        ("priority", view.priority),
        ("assignee", view.assignee or "-"),
        ("opened by", view.created_by),
        ("opened", view.created_at),
        ("updated", view.updated_at),
    ]
    if view.description:
        pairs.append(("description", view.description))
    if view.resolution:
        pairs.append(("resolution", view.resolution))
    if note:
        pairs.append(("note", note))
    sections = [Section(f"{view.number}: {view.title}", pairs)]
    if view.diagnosis:
        marks = {True: "✓", False: "✗", None: "·"}
        sections.append(
            Section(
                f"Diagnosis at opening: {view.diagnosis['cause']}",
                headers=["", "check", "detail"],
                rows=[
                    [f"{marks[c['passed']]} {c['number']}", c["code"], c["detail"]]
                    for c in view.diagnosis["checks"]
                ],
            )
        )
    if view.events:
        sections.append(
            Section(
                "History",
                headers=["when", "who", "what", "text"],
                rows=[[e.at, e.author, e.kind, e.body or ""] for e in view.events],
            )
        )
    out.document(doc, sections)


def _run(
    ctx: typer.Context,
    fmt: FormatOption,
    work: "Callable[[Session, Actor, AppContext], tuple[TicketView, str | None]]",
) -> None:
    app_ = app_context(ctx)
    with app_.session() as session:
        view, note = work(session, app_.actor(session), app_)
    _show(app_.output(fmt), view, note)


@app.command("open")
def open_(
    ctx: typer.Context,
    ref: RefArgument,
    category: Annotated[
        str | None,
        typer.Option(
            "--category",
            "-c",
            help="dob_mismatch, sharing, account, invitation, missing_data or other "
            "(with --from-diagnosis: taken from the cause when not given).",
        ),
    ] = None,
    title: Annotated[
        str | None, typer.Option("--title", help="One line (default: from the category).")
    ] = None,
    description: Annotated[
        str | None, typer.Option("--description", "-d", help="What the department should know.")
    ] = None,
    from_diagnosis: Annotated[
        bool,
        typer.Option("--from-diagnosis", help="Run the diagnosis and attach its checks and cause."),
    ] = False,
    priority: Annotated[
        str, typer.Option("--priority", "-p", help="low, normal, high or urgent.")
    ] = "normal",
    new: Annotated[
        bool,
        typer.Option("--new", help="Open a new ticket even when one of this category is open."),
    ] = False,
    reason: ReasonOption = None,
    fmt: FormatOption = None,
) -> None:
    """Open a ticket for the technical department about a client.

    The ticket names the client by client number only: a title or description with a BSN
    or the client's date of birth is refused. An open ticket of the same client and
    category gets your text as a comment instead (use --new to open another). The
    department is e-mailed through the outbox when ARKINCTL_TECHNICAL_EMAIL is set.

    \b
    Examples:
      arkinctl ticket open 1000123 --from-diagnosis
      arkinctl ticket open 1000123 -c account --title "Account geblokkeerd na 5 pogingen"
      arkinctl ticket open 1000123 -c other -d "Ziet brieven van 2023 niet" --priority high
    """
    from arkinctl.services.diagnose import diagnose
    from arkinctl.services.lookups import find_client
    from arkinctl.services.tickets import open_ticket

    app_ = app_context(ctx)
    now = utc_now()
    with app_.session() as session:
        actor = app_.actor(session, purpose=reason)
        client = find_client(session, ref, actor=actor)
        diagnosis = None
        if from_diagnosis:
            from arkinctl.services.client_state import load_state

            state = load_state(session, client, settings=app_.settings, now=now)
            diagnosis = diagnose(state, settings=app_.settings, now=now)
        opened = open_ticket(
            session,
            client,
            category=category,
            title=title,
            description=description,
            diagnosis=diagnosis,
            priority=priority,
            new=new,
            settings=app_.settings,
            actor=actor,
            now=now,
        )
    out = app_.output(fmt)
    number = opened.ticket.number
    if opened.created:
        note = None if opened.notified else "no ARKINCTL_TECHNICAL_EMAIL: nobody was e-mailed"
    else:
        note = f"an open ticket of this category existed: your text was added to {number}"
    if out.format.value == "json":
        out.json(
            {
                "number": number,
                "created": opened.created,
                "notified": opened.notified,
                "ticket": opened.ticket.as_dict(),
            }
        )
        return
    _show(out, opened.ticket, note, {"created": opened.created, "notified": opened.notified})
    if out.format.value == "table":
        verb = "Opened" if opened.created else "Commented on"
        out.status(f"{verb} {number}.")


@app.command("list")
def list_(
    ctx: typer.Context,
    status: Annotated[
        str | None,
        typer.Option(
            "--status",
            "-s",
            help="open, in_progress, waiting, resolved, closed, or all "
            "(default: the unresolved ones).",
        ),
    ] = None,
    mine: Annotated[bool, typer.Option("--mine", help="Only tickets assigned to you.")] = False,
    assignee: Annotated[
        str | None, typer.Option("--assignee", help="Only tickets assigned to this user.")
    ] = None,
    client: ClientFilterOption = None,
    limit: LimitOption = 200,
    fmt: FormatOption = None,
) -> None:
    """List tickets, newest first (by default those not yet resolved).

    \b
    Examples:
      arkinctl ticket list --mine
      arkinctl ticket list --status all --client 1000123
      arkinctl ticket list --assignee support.1 --format csv --limit 0
    """
    from arkinctl.errors import UsageError
    from arkinctl.services.lookups import find_client
    from arkinctl.services.tickets import SUMMARY_FIELDS, list_tickets

    if mine and assignee is not None:
        raise UsageError("give --mine or --assignee, not both")
    app_ = app_context(ctx)
    out = app_.output(fmt)
    with app_.session() as session:
        actor = app_.actor(session)
        rows = list_tickets(
            session,
            actor=actor,
            status=status,
            assignee=actor.username if mine else assignee,
            client=find_client(session, client, actor=actor) if client else None,
            limit=limit or None,
        )
        out.stream((r.as_dict() for r in rows), SUMMARY_FIELDS, empty="no tickets match")


@app.command("show")
def show(ctx: typer.Context, number: NumberArgument, fmt: FormatOption = None) -> None:
    """One ticket: what, who, the diagnosis it was opened with, and its whole history.

    \b
    Example:
      arkinctl ticket show TD-2026-000123
    """
    from arkinctl.services.tickets import show_ticket

    _run(ctx, fmt, lambda s, actor, _a: (show_ticket(s, number, actor=actor), None))


@app.command("comment")
def comment(
    ctx: typer.Context,
    number: NumberArgument,
    text: Annotated[str, typer.Argument(help="The comment (no BSN, no date of birth).")],
    fmt: FormatOption = None,
) -> None:
    """Add a comment to a ticket.

    \b
    Example:
      arkinctl ticket comment TD-2026-000123 "Cliënt gebeld: ziet nu wel brieven"
    """
    from arkinctl.services.tickets import comment_ticket

    _run(
        ctx,
        fmt,
        lambda s, actor, _a: (comment_ticket(s, number, text, actor=actor, now=utc_now()), None),
    )


@app.command("assign")
def assign(
    ctx: typer.Context,
    number: NumberArgument,
    user: Annotated[str, typer.Argument(help="Who takes it (user name).", metavar="USER")],
    fmt: FormatOption = None,
) -> None:
    """Assign a ticket to someone.

    \b
    Example:
      arkinctl ticket assign TD-2026-000123 support.1
    """
    from arkinctl.services.tickets import assign_ticket

    _run(
        ctx,
        fmt,
        lambda s, actor, _a: (assign_ticket(s, number, user, actor=actor, now=utc_now()), None),
    )


def _status_run(
    ctx: typer.Context, fmt: FormatOption, number: str, status: str, resolution: str | None
) -> None:
    from arkinctl.services.tickets import set_ticket_status

    def work(s: "Session", actor: "Actor", app_: "AppContext") -> "tuple[TicketView, str | None]":
        view, notified = set_ticket_status(
            s,
            number,
            status,
            resolution=resolution,
            settings=app_.settings,
            actor=actor,
            now=utc_now(),
        )
        return view, "reopened: the technical department was e-mailed" if notified else None

    _run(ctx, fmt, work)


@app.command("status")
def status(
    ctx: typer.Context,
    number: NumberArgument,
    new_status: Annotated[
        str,
        typer.Argument(help="open, in_progress, waiting, resolved or closed.", metavar="STATUS"),
    ],
    fmt: FormatOption = None,
) -> None:
    """Change a ticket's status; reopening a resolved or closed one notifies the department.

    \b
    Examples:
      arkinctl ticket status TD-2026-000123 in_progress
      arkinctl ticket status TD-2026-000123 open     # reopen
    """
    _status_run(ctx, fmt, number, new_status, None)


@app.command("close")
def close(
    ctx: typer.Context,
    number: NumberArgument,
    resolution: Annotated[
        str, typer.Option("--resolution", "-r", help="How it was resolved (required).")
    ],
    fmt: FormatOption = None,
) -> None:
    """Close a ticket, saying how it was resolved.

    \b
    Example:
      arkinctl ticket close TD-2026-000123 --resolution "Account gedeblokkeerd in Karify"
    """
    _status_run(ctx, fmt, number, "closed", resolution)
