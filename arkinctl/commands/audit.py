"""`arkinctl audit`: who read or changed which client's data, and is the trail intact."""

from typing import Annotated, Any

import typer

from arkinctl.commands.common import FormatOption, app_context, command_group

app = command_group("The audit trail: list events, verify the chain.")


def _day_start(raw: str | None, tz: Any, *, next_day: bool = False) -> Any:
    if raw is None:
        return None
    from datetime import datetime, time, timedelta

    from arkinctl.services.dates import parse_user_date

    day = parse_user_date(raw) + timedelta(days=1 if next_day else 0)
    return datetime.combine(day, time(0), tzinfo=tz)


def _period(since: str | None, until: str | None, tz: Any) -> tuple[Any, Any]:
    from arkinctl.errors import InvalidInputError

    start, end = _day_start(since, tz), _day_start(until, tz, next_day=True)
    if start is not None and end is not None and end <= start:
        raise InvalidInputError("--until is before --since", hint="swap them")
    return start, end


@app.command("list")
def list_(
    ctx: typer.Context,
    client: Annotated[
        str | None, typer.Option("--client", help="Only events about this client (REF).")
    ] = None,
    user: Annotated[str | None, typer.Option("--user", help="Only events by this user.")] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="From this day on (local time), e.g. 1-12-2026.")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Up to and including this day (local time).")
    ] = None,
    action: Annotated[
        str | None, typer.Option("--action", help="Only this action, e.g. client.show.")
    ] = None,
    fmt: FormatOption = None,
) -> None:
    """List audit events, oldest first; JSON and CSV are streamed (any number of events).

    Reading the trail is itself recorded.

    \b
    Examples:
      arkinctl audit list --client 1000123
      arkinctl audit list --user j.devries --since 2026-12-01 --format csv > audit.csv
      arkinctl audit list --action share.disable
    """
    import sys

    from arkinctl.services.audit_log import AUDIT_FIELDS, EventFilter, copy_events_csv, list_events
    from arkinctl.services.lookups import find_client

    app_ = app_context(ctx)
    out = app_.output(fmt)
    tz = app_.settings.timezone
    start, end = _period(since, until, tz)
    with app_.session() as session:
        actor = app_.actor(session)
        where = EventFilter(
            client=find_client(session, client, actor=actor) if client else None,
            user=user,
            since=start,
            until=end,
            action=action,
        )
        if out.format.value == "csv":
            sys.stdout.flush()
            if copy_events_csv(session, sys.stdout.buffer.write, actor=actor, where=where):
                return
        rows = list_events(session, actor=actor, where=where)
        out.stream(rows, AUDIT_FIELDS, empty="no audit events match")


@app.command("verify")
def verify(ctx: typer.Context, fmt: FormatOption = None) -> None:
    """Check the whole hash chain: a changed or removed event is found. Exit 0 when intact.

    \b
    Example:
      arkinctl audit verify
    """
    from arkinctl.errors import ExitCode
    from arkinctl.output import Section
    from arkinctl.services.audit_log import verify_chain

    app_ = app_context(ctx)
    with app_.session() as session:
        report = verify_chain(session, actor=app_.actor(session))
    message = (
        f"The audit trail is intact: {report.checked} event(s) checked."
        if report.ok
        else f"The audit trail is NOT intact: {report.detail}."
    )
    app_.output(fmt).document(report.as_dict(), [Section(None, [("result", message)])])
    if not report.ok:
        raise typer.Exit(int(ExitCode.INTEGRITY))


@app.command("report")
def report(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="The client (REF).", metavar="REF")],
    since: Annotated[
        str | None, typer.Option("--since", help="From this day on (local time).")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Up to and including this day (local time).")
    ] = None,
    html: Annotated[
        bool,
        typer.Option(
            "--html", help="A standalone HTML page instead (prints to A4 / PDF as it is)."
        ),
    ] = False,
    fmt: FormatOption = None,
) -> None:
    """The overview a client may ask for: who looked at or changed their data, when, in
    what role, what data, and on what ground (care relationship or a stated reason).

    \b
    Examples:
      arkinctl audit report 1000123 --since 1-1-2026
      arkinctl audit report 1000123 --html > inzage-1000123.html
    """
    from dataclasses import asdict

    from arkinctl.services.audit_report import client_report

    app_ = app_context(ctx)
    tz = app_.settings.timezone
    start, end = _period(since, until, tz)
    with app_.session() as session:
        found = client_report(session, app_.actor(session), ref, since=start, until=end)
    if html:
        from arkinctl.audit_html import render

        typer.echo(render(found, tz), nl=False)
        return
    out = app_.output(fmt)
    lines = [asdict(line) for line in found.lines]
    if out.format.value == "json":
        out.json({**asdict(found), "lines": lines})
        return
    out.records(
        lines,
        ["when", "who", "role", "data", "action", "ground", "outcome"],
        headers=["when", "who", "role", "what data", "what was done", "on what ground", "result"],
        title=f"Who looked at the data of client {found.client_number} ({found.name})",
        empty="Nobody looked at or changed this client's data in this period.",
    )
