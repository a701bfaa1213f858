"""`arkinctl invite`: get clients into the portal: send, resend, withdraw, list, batches."""

from collections.abc import Iterator
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
    read_source,
    utc_now,
)

if TYPE_CHECKING:
    from arkinctl.services.invitations import Outcome

app = command_group("Invite clients to the portal, one at a time or in scripted batches.")

ResendOption = Annotated[
    bool,
    typer.Option(
        "--resend",
        help="Replace a live invitation that is older than the resend window "
        "(ARKINCTL_INVITATION_RESEND_AFTER_DAYS, default 7).",
    ),
]
ForceOption = Annotated[
    bool,
    typer.Option("--force", help="Replace a live invitation however young (implies --resend)."),
]
OUTCOME_FIELDS = (
    "line",
    "client_number",
    "result",
    "reason",
    "invitation_id",
    "email",
    "expires_at",
    "supersedes",
    "note",
)


@app.command("send")
def send(
    ctx: typer.Context,
    ref: RefArgument,
    email: Annotated[
        str | None,
        typer.Option("--email", help="Send to this address instead of the one in the care record."),
    ] = None,
    resend: ResendOption = False,
    force: ForceOption = False,
    reason: ReasonOption = None,
    fmt: FormatOption = None,
) -> None:
    """Invite a client to the portal: the invitation and its e-mail are queued together.

    Refused, with the reason, for a client who is deceased, never treated, already has an
    active account, has no valid e-mail address, or has a live invitation (unless
    --resend). `arkinctl outbox deliver` sends the e-mail.

    \b
    Examples:
      arkinctl invite send 1000123
      arkinctl invite send 1000123 --resend
      arkinctl invite send 1000123 --email jan.jansen+portal@example.nl
    """
    from arkinctl.errors import ConflictError, InvalidInputError
    from arkinctl.services.invitations import FAILED, SKIPPED, SendOptions, send_invitation
    from arkinctl.services.lookups import find_client

    if email is not None and not email.strip():
        raise InvalidInputError("--email is empty", hint="leave it out to use the record's address")
    app_ = app_context(ctx)
    with app_.session() as session:
        actor = app_.actor(session, purpose=reason)
        outcome = send_invitation(
            session,
            find_client(session, ref, actor=actor),
            email=email,
            settings=app_.settings,
            actor=actor,
            options=SendOptions(resend=resend or force, force=force),
            now=utc_now(),
        )
    if outcome.result == SKIPPED:
        raise ConflictError(f"not invited: {outcome.reason}", audited=True)
    if outcome.result == FAILED:
        raise InvalidInputError(f"not invited: {outcome.reason}", audited=True)
    _show_outcome(app_.output(fmt), outcome)


def _show_outcome(out: Any, outcome: "Outcome") -> None:
    from dataclasses import asdict

    from arkinctl.output import Section

    doc = {k: v for k, v in asdict(outcome).items() if k != "line"}
    what = (
        f"Invitation #{outcome.invitation_id} queued for {outcome.email}, valid until "
        f"{out.cell(outcome.expires_at)}"
    )
    if outcome.supersedes:
        what += f"; it supersedes #{outcome.supersedes}"
    sections = [Section(f"Client {outcome.client_number}", [("result", what)])]
    if outcome.note:
        sections[0].pairs.append(("note", outcome.note))
    out.document(doc, sections)
    if out.format.value == "table":
        out.status("Send the e-mail with `arkinctl outbox deliver`.")


@app.command("withdraw")
def withdraw(
    ctx: typer.Context,
    ref: RefArgument,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why (kept with the invitation).")
    ] = None,
    fmt: FormatOption = None,
) -> None:
    """Withdraw the client's live invitation; its e-mail is cancelled if not yet sent.

    \b
    Example:
      arkinctl invite withdraw 1000123 --reason "wrong e-mail address"
    """
    from arkinctl.errors import ConflictError
    from arkinctl.output import Section
    from arkinctl.services.invitations import withdraw_invitation
    from arkinctl.services.lookups import find_client

    app_ = app_context(ctx)
    with app_.session() as session:
        # the withdrawal's reason is also why a practitioner outside a care relationship
        # acts (break the glass, flagged)
        actor = app_.actor(session, purpose=reason)
        client = find_client(session, ref, actor=actor)
        number = client.client_number
        withdrawn = withdraw_invitation(session, client, reason=reason, actor=actor, now=utc_now())
        doc = (
            {"client_number": number, "invitation_id": withdrawn.id, "status": withdrawn.status}
            if withdrawn
            else None
        )
    if doc is None:
        raise ConflictError(
            "the client has no live invitation to withdraw",
            hint=f"see `arkinctl invite list --client {number}`",
            audited=True,
        )
    message = f"Invitation #{doc['invitation_id']} withdrawn."
    app_.output(fmt).document(doc, [Section(f"Client {number}", [("result", message)])])


@app.command("list")
def list_(
    ctx: typer.Context,
    status: Annotated[
        str | None,
        typer.Option(
            "--status",
            help="Only this status: queued, sent, accepted, expired, withdrawn, bounced, "
            "failed, superseded.",
        ),
    ] = None,
    client: ClientFilterOption = None,
    batch: Annotated[str | None, typer.Option("--batch", help="Only this batch id.")] = None,
    limit: LimitOption = 200,
    fmt: FormatOption = None,
) -> None:
    """List invitations, newest first.

    \b
    Examples:
      arkinctl invite list --status expired
      arkinctl invite list --client 1000123
      arkinctl invite list --batch B-3f2a9c01d4e5b6a7 --format csv --limit 0
    """
    from arkinctl.services.invitation_views import INVITATION_FIELDS, list_invitations
    from arkinctl.services.lookups import find_client

    app_ = app_context(ctx)
    out = app_.output(fmt)
    with app_.session() as session:
        actor = app_.actor(session)
        rows = list_invitations(
            session,
            actor=actor,
            now=utc_now(),
            client=find_client(session, client, actor=actor) if client else None,
            status=status,
            batch_id=batch,
            limit=limit or None,
        )
        out.stream(
            (r.as_dict() for r in rows),
            INVITATION_FIELDS,
            empty="no invitations match",
        )


@app.command("show")
def show(
    ctx: typer.Context,
    invitation_id: Annotated[int, typer.Argument(help="The invitation number.", metavar="ID")],
    fmt: FormatOption = None,
) -> None:
    """One invitation: client, address, status, dates, and its e-mail's delivery state.

    \b
    Example:
      arkinctl invite show 42
    """
    from arkinctl.output import Section
    from arkinctl.services.invitation_views import show_invitation

    app_ = app_context(ctx)
    with app_.session() as session:
        found = show_invitation(session, invitation_id, actor=app_.actor(session), now=utc_now())
    doc = found.as_dict()
    app_.output(fmt).document(doc, [Section(f"Invitation #{found.id}", list(doc.items()))])


@app.command("pending")
def pending(ctx: typer.Context, fmt: FormatOption = None) -> None:
    """Treated, living clients with no portal account and no live invitation.

    Its CSV is input for `invite batch`, so inviting every new client is one pipe.

    \b
    Examples:
      arkinctl invite pending
      arkinctl invite pending --format csv | arkinctl invite batch - --dry-run
    """
    from arkinctl.services.invitation_views import PENDING_FIELDS, pending_clients

    app_ = app_context(ctx)
    out = app_.output(fmt)
    with app_.session() as session:
        rows = pending_clients(session, actor=app_.actor(session), now=utc_now())
        out.stream(
            (r.as_dict() for r in rows),
            PENDING_FIELDS,
            empty="no client is waiting for an invitation",
        )


@app.command("batch")
def batch(
    ctx: typer.Context,
    source: Annotated[
        str,
        typer.Argument(
            help="CSV with client_number and optional email, or - for standard input.",
            metavar="FILE|-",
        ),
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Change nothing; say what would happen.")
    ] = False,
    resend: ResendOption = False,
    force: ForceOption = False,
    batch_id: Annotated[
        str | None,
        typer.Option(
            "--batch-id",
            help="Name the batch (default: from the file's content, so a rerun is the same "
            "batch and never replaces what it invited, even with --force).",
        ),
    ] = None,
    fmt: FormatOption = None,
) -> None:
    """Invite every client a CSV file names: per row sent, skipped (why) or failed (why).

    Safe to rerun (nobody is invited twice), to run twice at once, and to rerun after a
    crash: it finishes the rest. The exit code is 10 when any row failed.

    \b
    Examples:
      arkinctl invite batch new-clients.csv --dry-run
      arkinctl invite batch new-clients.csv --format csv > results.csv
      arkinctl invite pending --format csv | arkinctl invite batch -
    """
    from arkinctl.errors import ExitCode, InvalidInputError
    from arkinctl.services.invitations import (
        BatchSummary,
        SendOptions,
        after_batch,
        default_batch_id,
        read_batch_file,
        run_batch,
    )

    app_ = app_context(ctx)
    out = app_.output(fmt)
    if batch_id is not None and not 0 < len(batch_id.strip()) <= 64:
        raise InvalidInputError("--batch-id must be 1 to 64 characters")
    name, data = read_source(source)
    parsed = read_batch_file(data)
    for note in parsed.notes:
        out.warn(f"{name}: {note}")
    options = SendOptions(
        resend=resend or force,
        force=force,
        dry_run=dry_run,
        # By default named after the file's content: a rerun of the same file is the same
        # batch, so even a --force batch that is run again invites nobody twice.
        batch_id=(batch_id or "").strip() or default_batch_id(data),
    )
    factory = app_.session_factory()  # checks the schema before any row is read
    with app_.session() as session:
        actor = app_.actor(session)
    summary = BatchSummary(batch_id=options.batch_id or "", dry_run=dry_run)
    total = parsed.count() if out.stderr.isatty() else 0

    def results() -> Iterator[dict[str, Any]]:
        with out.progress_bar(total, "Inviting") as advance:
            for outcome in run_batch(
                factory,
                parsed.rows,
                settings=app_.settings,
                actor=actor,
                options=options,
                now=utc_now,
            ):
                summary.add(outcome)
                advance(1)
                yield _outcome_row(outcome)

    def tail() -> dict[str, Any]:
        return {"summary": {"total": summary.total, **summary.counts}}

    if out.format.value == "json":
        out.json_object_stream(
            {"batch_id": summary.batch_id, "dry_run": dry_run}, "results", results(), tail
        )
    elif out.format.value == "csv":
        out.stream(results(), OUTCOME_FIELDS)
    else:
        # A person reads what went wrong; a long list of successes only hides it.
        rows = results()
        listed = [r for i, r in enumerate(rows) if r["result"] != "sent" or i < TABLE_SENT_ROWS]
        out.records(listed, TABLE_COLUMNS, title=f"Batch {summary.batch_id}", empty="no rows")
        if len(listed) < summary.total:
            out.line(f"({summary.total - len(listed)} more sent rows not listed; use --format csv)")
        counts = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in summary.counts.items() if v)
        dry = " (dry run: nothing changed)" if dry_run else ""
        out.line(f"{summary.total} row(s): {counts or 'nothing'}{dry}")
    if summary.counts["sent"] >= 1000:
        after_batch(factory)
    if summary.failed:
        out.error(f"{summary.failed} row(s) failed; the others were handled")
        raise typer.Exit(int(ExitCode.PARTIAL_FAILURE))


TABLE_SENT_ROWS = 1000
TABLE_COLUMNS = ("line", "client_number", "result", "reason", "invitation_id", "email", "note")


def _outcome_row(outcome: "Outcome") -> dict[str, Any]:
    # Not dataclasses.asdict: it deep-copies every value, a third of a big batch's time.
    return {k: getattr(outcome, k) for k in OUTCOME_FIELDS}
