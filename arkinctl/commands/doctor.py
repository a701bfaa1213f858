"""`arkinctl doctor`: is the tool itself healthy? Config, database, schema."""

import typer

from arkinctl.commands.common import FormatOption, app_context, command_group

app = command_group()


@app.command("doctor")
def doctor(ctx: typer.Context, fmt: FormatOption = None) -> None:
    """Check the tool's own health: settings found, database reachable, schema current.

    Secrets never print: passwords in URLs are masked. Exit 0 when all is well, else the
    exit code of the first problem (8 database unreachable, 9 schema out of date).

    \b
    Example:
      arkinctl doctor
    """
    from arkinctl.output import Section
    from arkinctl.services.health import check_health

    app_ = app_context(ctx)
    report = check_health(app_.settings)
    rows = [[("✓ " if c.ok else "✗ ") + c.name, c.detail] for c in report.checks]
    app_.output(fmt).document(
        report.as_dict(), [Section("arkinctl doctor", headers=["check", "detail"], rows=rows)]
    )
    if report.exit_code:
        raise typer.Exit(report.exit_code)
