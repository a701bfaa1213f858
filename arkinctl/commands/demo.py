"""`arkinctl demo`: build a demo database and show what the tool does with it."""

import typer

from arkinctl.commands.common import FormatOption, app_context, command_group

app = command_group()


@app.command("demo")
def demo(ctx: typer.Context, fmt: FormatOption = None) -> None:
    """Build realistic Dutch demo data in which every cause occurs, then diagnose a few.

    Uses the configured database (by default an SQLite file in your data folder, created on
    first use). Only demo rows (client numbers 9100001-9101000) are replaced on a rerun.

    \b
    Examples:
      arkinctl demo
      arkinctl --db /tmp/demo.db demo
    """
    from datetime import UTC, datetime

    from arkinctl.commands.diagnose import render_diagnosis
    from arkinctl.config import mask_url
    from arkinctl.services.client_state import load_state
    from arkinctl.services.demo import build_demo
    from arkinctl.services.diagnose import count_causes, diagnose
    from arkinctl.services.lookups import open_client

    app_ = app_context(ctx)
    out = app_.output(fmt)
    now = datetime.now(UTC)
    settings = app_.settings
    app_.engine(create=True)  # the demo may start from nothing, also at a new --db path
    with app_.session() as session:
        result = build_demo(session, settings=settings, actor=app_.actor(session), now=now)
    with app_.session() as session:
        actor = app_.actor(session)
        counts = count_causes(session, settings=settings, now=now)
        shown = [
            diagnose(
                load_state(
                    session,
                    # shown on screen: a read of that client, audited like `diagnose`
                    open_client(session, result.examples[cause], actor=actor, action="diagnose"),
                    settings=settings,
                    now=now,
                ),
                settings=settings,
                now=now,
            )
            for cause in ("dob_mismatch", "only_before_cutoff", "ok")
        ]
    where = mask_url(settings.database_url)
    doc = {
        "database": where,
        "clients": result.clients,
        "file_parts": result.parts,
        "causes": counts,
        "examples": result.examples,
        "diagnoses": [d.as_dict() for d in shown],
    }
    if out.format.value != "table":
        out.document(doc, [])
        return
    out.line(f"Demo database: {where}")
    out.line(f"{result.clients} clients, {result.parts} file parts, {result.accounts} accounts.")
    out.line()
    out.records(
        [
            {"cause": c, "clients": n, "example": result.examples.get(c, "")}
            for c, n in counts.items()
        ],
        ["cause", "clients", "example"],
        headers=["cause", "clients", "try: arkinctl diagnose …"],
    )
    for d in shown:
        out.line()
        render_diagnosis(out, d, title=f"arkinctl diagnose {d.client_number}   ({d.name})")
    out.line()
    # A name the demo always has (FEATURED), typed without its accent: search folds them.
    out.line("Next: arkinctl client search ozdemir · arkinctl diagnose --all · arkinctl --help")
    out.line(
        "Roles: --as demo.behandelaar (a practitioner: their own clients only) · "
        "--as demo.support (technical: no clinical titles) · arkinctl user list"
    )
