"""`arkinctl outbox`: send the queued e-mails (invitations, ticket notices) and look after them."""

from typing import TYPE_CHECKING, Annotated, Any

import typer

from arkinctl.commands.common import (
    FormatOption,
    LimitOption,
    app_context,
    command_group,
    utc_now,
)

if TYPE_CHECKING:
    from arkinctl.output import Output
    from arkinctl.services.delivery import Change

app = command_group("Send queued e-mails over SMTP, list them, requeue or cancel them.")

IdsArgument = Annotated[
    list[int],
    typer.Argument(help="Outbox message ids (see `arkinctl outbox list`).", metavar="ID..."),
]


@app.command("deliver")
def deliver(
    ctx: typer.Context,
    limit: Annotated[
        int, typer.Option("--limit", min=1, help="Send at most this many messages in this run.")
    ] = 100,
    fmt: FormatOption = None,
) -> None:
    """Send the queued e-mails that are due, over one SMTP connection, and mark each.

    The mail server comes from ARKINCTL_SMTP_HOST (and _PORT, _SECURITY, _USER,
    _PASSWORD). A message that cannot be sent now is tried again later (backoff) and fails
    after ARKINCTL_OUTBOX_MAX_ATTEMPTS; a refused recipient fails at once. Safe to run
    from cron, and twice at once: no message is sent twice. Exit 10 when anything was not
    sent.

    \b
    Examples:
      arkinctl outbox deliver
      arkinctl outbox deliver --limit 20 --format json
    """
    from arkinctl.errors import ExitCode
    from arkinctl.services.access import staff_only
    from arkinctl.services.delivery import DELIVERY_FIELDS, check_settings
    from arkinctl.services.delivery import deliver as deliver_due

    app_ = app_context(ctx)
    mail = app_.settings.mail
    out = app_.output(fmt)
    factory = app_.session_factory()
    with app_.session() as session:
        actor = app_.actor(session)
    staff_only(actor, "delivering e-mail")  # who may, before what the settings lack
    check_settings(mail)
    run = deliver_due(
        factory,
        mail,
        actor=actor,
        limit=limit,
        on_result=lambda d: out.progress(f"#{d.id} {d.status}"),
    )
    counts = run.counts()
    if out.format.value == "json":
        out.json(run.as_dict())
    elif out.format.value == "csv":
        out.csv(DELIVERY_FIELDS, ([row[f] for f in DELIVERY_FIELDS] for row in _rows(run.all)))
    else:
        # With a server that cannot be used, the messages merely put back are not listed:
        # the one error line below says how many.
        shown = run.results if run.server_error else run.all
        if shown:
            out.records(
                _rows(shown),
                ("id", "recipient", "status", "attempts", "error"),
                title=f"Outbox delivery via {run.server}",
            )
        if shown or not run.server_error:
            done = ", ".join(f"{k} {v}" for k, v in counts.items() if v)
            out.line(f"{len(run.all)} message(s): {done}" if run.all else "Nothing was due.")
    if run.remaining:
        out.status(f"{run.remaining} more due: run again (at most --limit {limit} per run)")
    if run.server_error:
        waiting = counts["queued"] + run.remaining
        out.error(f"{run.server_error}; {waiting} message(s) stay queued")
        raise typer.Exit(int(ExitCode.PARTIAL_FAILURE))
    if not run.complete:
        waiting = len(run.all) - counts["sent"] - counts["cancelled"]
        why = ", ".join(
            f"{counts[k]} {label}"
            for k, label in (
                ("queued", "to be tried again later"),
                ("failed", "failed"),
                ("uncertain", "uncertain (check the mail server's log)"),
            )
            if counts[k]
        )
        out.error(f"{waiting} message(s) not sent: {why}; see `arkinctl outbox list`")
        raise typer.Exit(int(ExitCode.PARTIAL_FAILURE))


def _rows(deliveries: Any) -> list[dict[str, Any]]:
    return [d.as_dict() for d in deliveries]


@app.command("list")
def list_(
    ctx: typer.Context,
    status: Annotated[
        str | None,
        typer.Option(
            "--status",
            help="Only this status: queued, sending, sent, failed, uncertain, cancelled.",
        ),
    ] = None,
    limit: LimitOption = 100,
    fmt: FormatOption = None,
) -> None:
    """List outbox messages, newest first: status, attempts, next attempt, last error.

    \b
    Examples:
      arkinctl outbox list --status failed
      arkinctl outbox list --status uncertain --format json
    """
    from arkinctl.services.delivery import MESSAGE_FIELDS, list_messages

    app_ = app_context(ctx)
    out = app_.output(fmt)
    with app_.session() as session:
        rows = list_messages(session, actor=app_.actor(session), status=status, limit=limit or None)
    out.records(
        [r.as_dict() for r in rows],
        ("id", "created_at", "purpose", "recipient", "status", "attempts", "next_attempt_at",
         "last_error"),
        csv_columns=MESSAGE_FIELDS,
        empty="no outbox messages match",
    )  # fmt: skip


@app.command("requeue")
def requeue(ctx: typer.Context, ids: IdsArgument, fmt: FormatOption = None) -> None:
    """Put uncertain or failed messages back in the queue (after checking the mail log).

    An `uncertain` message may have reached the server already: check the mail server's log
    for its Message-ID first. Attempts are kept; the next `outbox deliver` sends it.

    \b
    Examples:
      arkinctl outbox requeue 17
      arkinctl outbox requeue 17 18 19
    """
    from arkinctl.services.delivery import requeue as requeue_messages

    app_ = app_context(ctx)
    with app_.session() as session:
        changes = requeue_messages(session, ids, actor=app_.actor(session), now=utc_now())
    _show_changes(app_.output(fmt), changes, "requeued")


@app.command("cancel")
def cancel(ctx: typer.Context, ids: IdsArgument, fmt: FormatOption = None) -> None:
    """Never send these messages: queued, failed or uncertain ones become cancelled.

    \b
    Examples:
      arkinctl outbox cancel 17
      arkinctl outbox cancel 17 18 --format json
    """
    from arkinctl.services.delivery import cancel as cancel_messages

    app_ = app_context(ctx)
    with app_.session() as session:
        changes = cancel_messages(session, ids, actor=app_.actor(session), now=utc_now())
    _show_changes(app_.output(fmt), changes, "cancelled")


def _show_changes(out: "Output", changes: "list[Change]", done: str) -> None:
    from arkinctl.errors import ExitCode, NotFoundError
    from arkinctl.services.delivery import CHANGE_FIELDS

    if all(c.previous is None for c in changes):
        raise NotFoundError(
            "no such outbox message" if len(changes) == 1 else "none of these messages exist",
            hint="see `arkinctl outbox list`",
        )
    out.records(
        [c.as_dict() for c in changes],
        ("id", "previous", "status", "reason", "note"),
        csv_columns=CHANGE_FIELDS,
    )
    unchanged = [c for c in changes if not c.changed]
    if out.format.value == "table":
        out.line(f"{len(changes) - len(unchanged)} of {len(changes)} message(s) {done}.")
    if unchanged:
        out.error(f"{len(unchanged)} message(s) not {done}; the table says why")
        raise typer.Exit(int(ExitCode.PARTIAL_FAILURE))
