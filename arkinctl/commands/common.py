"""Option types and helpers every command module shares."""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from arkinctl.formats import OutputFormat

if TYPE_CHECKING:
    from datetime import datetime

    from arkinctl.context import AppContext


def command_group(help_text: str | None = None) -> typer.Typer:
    """A command group as every module makes it: plain help (no rich boxes, so it reads
    the same in a pipe and loads fast), and the group's help when called without a verb."""
    return typer.Typer(help=help_text, no_args_is_help=help_text is not None, rich_markup_mode=None)


FormatOption = Annotated[
    OutputFormat | None,
    typer.Option(
        "--format",
        "-f",
        help="Output format: table (human), json (one document), csv. Overrides the global option.",
        show_default=False,
    ),
]
RefArgument = Annotated[
    str,
    typer.Argument(
        help="The client: client number, BSN, e-mail address or portal account id (an exact "
        "client number wins; bsn:, email: or account: before it looks up only that way).",
        metavar="REF",
        show_default=False,
    ),
]
LimitOption = Annotated[
    int, typer.Option("--limit", min=0, help="At most this many, newest first; 0: all.")
]
ClientFilterOption = Annotated[
    str | None, typer.Option("--client", help="Only this client's (REF).", metavar="REF")
]
ReasonOption = Annotated[
    str | None,
    typer.Option("--reason", help="Why you open this client's data (kept in the audit trail)."),
]


def app_context(ctx: typer.Context) -> "AppContext":
    """The invocation's AppContext, remembering which command runs (for the audit trail)."""
    from arkinctl.context import AppContext

    app = ctx.find_object(AppContext)
    if app is None:  # a command module invoked on its own, as in some tests
        app = AppContext()
        ctx.obj = app
    app.command_path = ctx.command_path
    app.option_names = given_options(ctx)
    return app


def given_options(ctx: typer.Context) -> list[str]:
    """The long names of the options the command line gave, root options first."""
    chain = []
    while ctx is not None:
        chain.append(ctx)
        ctx = ctx.parent  # type: ignore[assignment]
    names = []
    for c in reversed(chain):
        for param in c.command.params:
            if param.param_type_name != "option" or param.name is None:
                continue
            source = c.get_parameter_source(param.name)
            if getattr(source, "name", None) == "COMMANDLINE":
                longest = max(param.opts, key=len)
                names.append(longest)
    return names


def read_source(source: str) -> tuple[str, bytes]:
    """The name and bytes of a CSV file argument, or of standard input for `-`."""
    import sys

    from arkinctl.errors import InvalidInputError

    if source == "-":
        return "<stdin>", sys.stdin.buffer.read()
    path = Path(source)
    try:
        return path.name, path.read_bytes()
    except FileNotFoundError:
        raise InvalidInputError(f"no such file: {source}") from None
    except IsADirectoryError:
        raise InvalidInputError(f"{source} is a folder, not a CSV file") from None
    except PermissionError:
        raise InvalidInputError(f"cannot read {source}: permission denied") from None


def utc_now() -> "datetime":
    """The moment, as every command hands it to the services (aware, UTC)."""
    from datetime import UTC, datetime

    return datetime.now(UTC)
