"""`arkinctl client`: who is this client, in one screen; and finding them by name."""

from typing import Annotated

import typer

from arkinctl.commands.common import (
    FormatOption,
    ReasonOption,
    RefArgument,
    app_context,
    command_group,
)

app = command_group("Look up clients.")


@app.command("show")
def show(
    ctx: typer.Context,
    ref: RefArgument,
    reveal: Annotated[
        bool, typer.Option("--reveal", help="Show the full BSN (the reveal is audited).")
    ] = False,
    reason: ReasonOption = None,
    fmt: FormatOption = None,
) -> None:
    """Identity (BSN masked), portal account, invitation, sharing, file-part counts, tickets.

    \b
    Examples:
      arkinctl client show 1000123
      arkinctl client show jan.jansen@example.nl --format json
    """
    from dataclasses import asdict

    from arkinctl.output import Section
    from arkinctl.services.clients import show_client

    app_ = app_context(ctx)
    with app_.session() as session:
        s = show_client(
            session,
            ref,
            settings=app_.settings,
            actor=app_.actor(session, purpose=reason),
            reveal=reveal,
        )
    dob = s.birth_date or (f"{s.birth_date_partial} (partial)" if s.birth_date_partial else None)
    identity = [
        ("client number", s.client_number),
        ("name", s.name),
        ("BSN", s.bsn),
        ("date of birth", dob),
        ("e-mail", s.email),
        ("phone", s.phone),
        ("deceased", s.deceased_date or s.deceased),
        ("care episodes", s.care_episodes),
        ("sharing", "on" if s.sharing_enabled else "off"),
    ]
    if s.sharing_changed_at:
        identity.append(
            ("sharing changed", f"{s.sharing_changed_at:%Y-%m-%d} by {s.sharing_changed_by}")
        )
    account = s.account
    portal = (
        [
            ("account", account["account_id"]),
            ("status", account["status"]),
            ("e-mail", account["email"]),
            ("date of birth", account["birth_date"]),
            ("last login", account["last_login_at"]),
        ]
        if account
        else [("account", "none")]
    )
    for other in s.other_accounts:
        # More than one account for a client is itself a finding: show each.
        portal.append(("other account", f"{other['account_id']} ({other['status']})"))
    if s.invitation:
        inv = s.invitation
        portal.append(("invitation", f"{inv['status']}, expires {inv['expires_at']:%Y-%m-%d}"))
    parts = s.parts
    files = [
        ("total", parts["total"]),
        ("shared", parts["shared"]),
        ("not shared", parts["not_shared"]),
        ("before cutoff", parts["before_cutoff"]),
    ]
    tickets = Section(
        "Open tickets",
        headers=["number", "category", "status", "title"],
        rows=[[t["number"], t["category"], t["status"], t["title"]] for t in s.open_tickets],
    )
    app_.output(fmt).document(
        asdict(s),
        [
            Section("Client", identity),
            Section("Portal", portal),
            Section("File parts", files),
            tickets,
        ],
    )


@app.command("search")
def search(
    ctx: typer.Context,
    text: Annotated[
        str, typer.Argument(help="Words of the name, client number or e-mail (all must match).")
    ] = "",
    dob: Annotated[
        str | None,
        typer.Option("--dob", help="Only clients born on this date (DD-MM-YYYY or YYYY-MM-DD)."),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="At most this many.")] = 50,
    reason: ReasonOption = None,
    fmt: FormatOption = None,
) -> None:
    """Find clients by name, number or e-mail; case- and accent-insensitive.

    A date of birth alone never identifies a client: several people share one.

    \b
    Examples:
      arkinctl client search "van der meulen"
      arkinctl client search jansen --dob 04-03-1985
    """
    from dataclasses import asdict

    from arkinctl.services.clients import search_clients_for
    from arkinctl.services.dates import parse_user_date

    app_ = app_context(ctx)
    born = parse_user_date(dob) if dob is not None else None
    with app_.session() as session:
        actor = app_.actor(session, purpose=reason)
        hits = search_clients_for(session, actor, text, dob=born, limit=limit)
    out = app_.output(fmt)
    rows = [asdict(h) for h in hits]
    if out.format.value == "table":  # a partial date of birth is still worth seeing
        for row in rows:
            row["born"] = row["birth_date"] or row["birth_date_partial"]
    out.records(
        rows,
        ["client_number", "name", "born", "email", "deceased"],
        headers=["client number", "name", "date of birth", "e-mail", "deceased"],
        empty="No client matches.",
        csv_columns=[
            "client_number", "name", "birth_date", "birth_date_partial", "email", "deceased",
        ],
    )  # fmt: skip
    if len(hits) == limit and out.format.value == "table":
        out.status(f"Showing the first {limit}; refine the search or raise --limit.")
