"""`arkinctl import`: bring in the care record (FHIR, CSV) and the portal's member list."""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from arkinctl.commands.common import FormatOption, app_context, command_group, read_source

if TYPE_CHECKING:
    from arkinctl.context import AppContext
    from arkinctl.services.importing import ImportSummary

app = command_group("Import clients, file parts and portal accounts.")

SourceArgument = Annotated[
    str,
    typer.Argument(help="A CSV file, or - to read standard input.", metavar="FILE|-"),
]


@app.command("fhir")
def fhir(
    ctx: typer.Context,
    # Plain strings, not Path: Typer's Path type checks `readable` by default and would turn
    # an unreadable file into a usage error (exit 2). The service decides instead: a missing
    # path is invalid input (exit 5), an unreadable file a rejected file (the rest imports).
    paths: Annotated[
        list[str],
        typer.Argument(
            help="FHIR R4 JSON files (Bundles or single resources), .ndjson files or folders.",
            metavar="PATH...",
        ),
    ],
    fmt: FormatOption = None,
) -> None:
    """Import FHIR R4 JSON: Patient → client, documents → file parts, encounters → care.

    Idempotent: importing the same files again changes nothing. Bad files or resources are
    reported (file, index, reason) and the rest goes in; the exit code is 10 when any was
    rejected.

    \b
    Examples:
      arkinctl import fhir export/Patient.000.ndjson export/DocumentReference.000.ndjson
      arkinctl import fhir ./bundles/
    """
    from arkinctl.errors import InvalidInputError
    from arkinctl.services.fhir_import import import_fhir

    if any(p == "" for p in paths):  # Path("") would quietly mean the current folder
        raise InvalidInputError("an empty path was given", hint="nothing was imported")
    app_ = app_context(ctx)
    out = app_.output(fmt)
    with app_.session() as session:
        summary = import_fhir(
            session,
            [Path(p) for p in paths],
            settings=app_.settings,
            actor=app_.actor(session),
            progress=out.progress,
        )
    _finish(app_, summary, fmt)


@app.command("clients")
def clients(ctx: typer.Context, source: SourceArgument, fmt: FormatOption = None) -> None:
    """Import the care record's client export (CSV; `,` or `;`, Dutch or English headers).

    Columns: client_number (cliëntnummer), bsn, given_name (voornaam), name_prefix
    (tussenvoegsel), family_name (achternaam), date_of_birth (geboortedatum), email, phone
    (telefoon), deceased_date (overlijdensdatum), treated_since (in zorg sinds), sharing
    (on/off). Changed rows are updated; bad rows are reported by line and skipped.

    \b
    Examples:
      arkinctl import clients clients.csv
      cat export.csv | arkinctl import clients - --format json
    """
    from arkinctl.services.csv_import import import_clients

    app_ = app_context(ctx)
    name, data = read_source(source)
    with app_.session() as session:
        summary = import_clients(
            session, data, source=name, settings=app_.settings, actor=app_.actor(session)
        )
    _finish(app_, summary, fmt)


@app.command("accounts")
def accounts(ctx: typer.Context, source: SourceArgument, fmt: FormatOption = None) -> None:
    """Import the portal's member export (CSV): account id, identification number, DOB, status.

    An account whose identification number names no client is kept and reported as unlinked.

    \b
    Examples:
      arkinctl import accounts karify-members.csv
    """
    from arkinctl.services.csv_import import import_accounts

    app_ = app_context(ctx)
    name, data = read_source(source)
    with app_.session() as session:
        summary = import_accounts(
            session, data, source=name, settings=app_.settings, actor=app_.actor(session)
        )
    _finish(app_, summary, fmt)


def _finish(app_: "AppContext", summary: "ImportSummary", fmt: FormatOption) -> None:
    from arkinctl.errors import ExitCode
    from arkinctl.output import Section

    out = app_.output(fmt)
    for w in summary.warnings:
        out.warn(f"{w.where}: {w.reason}")
    doc = summary.as_dict()
    counts: list[tuple[str, object]] = []
    for label, counter in (
        ("created", summary.created),
        ("updated", summary.updated),
        ("unchanged", summary.unchanged),
        ("skipped", summary.skipped),
    ):
        text = ", ".join(f"{k} {v}" for k, v in sorted(counter.items())) or "0"
        counts.append((label, text))
    counts.append(("rejected", len(summary.rejected)))
    counts.append(("warnings", len(summary.warnings)))
    sections = [Section(f"Import of {summary.source}", counts)]
    if out.format.value == "table":
        # A person reads the problems on stderr, one line each; stdout keeps the counts.
        for p in summary.rejected:
            out.error(f"{p.where}: {p.reason}")
    else:
        sections.append(
            Section(
                "rejected",
                headers=["where", "reason"],
                rows=[[p.where, p.reason] for p in summary.rejected],
            )
        )
    for note in summary.notes:
        sections.append(Section(None, [("note", note)]))
    out.document(doc, sections)
    if summary.failed:
        out.error(f"{len(summary.rejected)} rejected; everything else went in")
        raise typer.Exit(int(ExitCode.PARTIAL_FAILURE))
