"""`arkinctl dob`: compare the record's date of birth with the portal's (and the client's)."""

from typing import Annotated

import typer

from arkinctl.commands.common import (
    FormatOption,
    ReasonOption,
    RefArgument,
    app_context,
    command_group,
)

app = command_group("Check dates of birth.")


@app.command("verify")
def verify(
    ctx: typer.Context,
    ref: RefArgument,
    claimed: Annotated[
        str | None,
        typer.Option(
            "--claimed",
            help="The date the client says (DD-MM-YYYY, D-M-YYYY, DD/MM/YYYY, 4 maart 1985, "
            "or YYYY-MM-DD).",
        ),
    ] = None,
    reason: ReasonOption = None,
    fmt: FormatOption = None,
) -> None:
    """Compare the care record's DOB, the portal account's DOB and what the client says.

    Classifies a difference (day_month_swapped, off_by_one_day, century, year_digit,
    transposed_digits, other). Only reports: it never changes either date.
    Exit 0 when the record and portal agree, 20 when they differ or one is missing.

    \b
    Examples:
      arkinctl dob verify 1000123
      arkinctl dob verify 1000123 --claimed 4-3-1985
    """
    from dataclasses import asdict

    from arkinctl.errors import ExitCode
    from arkinctl.output import Section
    from arkinctl.services.dob_verify import verify_dob_for

    app_ = app_context(ctx)
    from arkinctl.services.dates import parse_user_date

    claimed_date = parse_user_date(claimed) if claimed is not None else None
    with app_.session() as session:
        report = verify_dob_for(
            session,
            ref,
            claimed=claimed_date,
            settings=app_.settings,
            actor=app_.actor(session, purpose=reason),
        )
    record_dob = report.record or (
        f"{report.record_partial} (partial)" if report.record_partial else "missing"
    )
    pairs: list[tuple[str, object]] = [
        ("client number", report.client_number),
        ("care record", record_dob),
        ("portal", report.portal or "missing"),
    ]
    if report.claimed:
        pairs.append(("client says", report.claimed))
    rows = [
        [
            f"{c.left} vs {c.right}",
            "✓ equal" if c.equal else ("✗ " + (c.difference or "") if c.equal is False else "—"),
            c.description or "",
        ]
        for c in report.comparisons
    ]
    app_.output(fmt).document(
        asdict(report),
        [
            Section("Dates of birth", pairs),
            Section("Comparison", headers=["compared", "result", "how"], rows=rows),
            Section(None, [("verdict", report.verdict), ("advice", report.advice)]),
        ],
    )
    if report.verdict != "match":
        raise typer.Exit(int(ExitCode.DIAGNOSIS_PROBLEM))
