"""The `arkinctl` root command: global options, command groups, and the one place where
errors become messages and exit codes."""

import sys
from collections.abc import Collection
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from arkinctl import __version__
from arkinctl.errors import (
    AmbiguousReferenceError,
    ArkinError,
    ConflictError,
    DatabaseUnavailableError,
    ExitCode,
    InvalidInputError,
    SchemaOutdatedError,
)
from arkinctl.formats import OutputFormat

if TYPE_CHECKING:
    from arkinctl.context import AppContext


class ArkinGroup(TyperGroup):
    """Turns expected failures into one line on stderr and a documented exit code."""

    def invoke(self, ctx: typer.Context) -> Any:  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort):
            raise
        except KeyboardInterrupt:
            sys.stderr.write("Interrupted.\n")
            raise typer.Exit(130) from None
        except BrokenPipeError:
            _silence_stdout()
            raise typer.Exit(int(ExitCode.BROKEN_PIPE)) from None
        except Exception as exc:
            if type(exc).__module__.startswith("typer."):
                _usage_error(exc)
                raise
            expected = exc if isinstance(exc, ArkinError) else _map_unexpected(exc)
            if expected is None:
                _verbose(ctx) and _print_traceback()
                sys.stderr.write(
                    f"Error: unexpected {type(exc).__name__}; rerun with -v for details, "
                    "and report it if it persists\n"
                )
                raise typer.Exit(int(ExitCode.UNEXPECTED)) from None
            if expected is not exc:
                expected.__cause__ = exc
            _report(ctx, expected)
            app_ = _app_context(ctx)
            if (
                app_ is not None
                and not expected.audited
                and not isinstance(expected, DatabaseUnavailableError | SchemaOutdatedError)
            ):
                app_.record_failure(expected)
            raise typer.Exit(int(expected.exit_code)) from None

    def make_context(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().make_context(*args, **kwargs)
        except Exception as exc:
            if type(exc).__module__.startswith("typer."):
                _usage_error(exc)
            raise


def _usage_error(exc: Exception) -> None:
    """A usage error as one line (what is wrong, where the help is) and exit 2; anything
    else of Typer's (help on a bare group, --help) goes on as Typer does it."""
    if getattr(exc, "exit_code", None) != 2 or type(exc).__name__ == "NoArgsIsHelpError":
        return
    format_message = getattr(exc, "format_message", None)
    if format_message is None:
        return
    command = getattr(getattr(exc, "ctx", None), "command_path", None) or "arkinctl"
    message = " ".join(str(format_message()).split())
    sys.stderr.write(f"Error: {message} (see `{command} --help`)\n")
    raise typer.Exit(int(ExitCode.USAGE)) from None


def _silence_stdout() -> None:
    """After `| head` closed the pipe: send what is still buffered nowhere, quietly."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _app_context(ctx: typer.Context) -> "AppContext | None":
    from arkinctl.context import AppContext

    return ctx.find_object(AppContext)


def _verbose(ctx: typer.Context) -> bool:
    app = _app_context(ctx)
    return bool(app and app.verbose)


def _print_traceback() -> bool:
    import traceback

    traceback.print_exc()
    return True


def _report(ctx: typer.Context, exc: ArkinError) -> None:
    sys.stderr.write(f"Error: {exc}\n")
    if isinstance(exc, AmbiguousReferenceError):
        for candidate in exc.candidates:
            sys.stderr.write(f"  {candidate}\n")
    if _verbose(ctx) and exc.__cause__ is not None:
        sys.stderr.write(f"  cause: {type(exc.__cause__).__name__}: {exc.__cause__}\n")


def _map_unexpected(exc: Exception) -> ArkinError | None:
    """Database errors that are the environment's fault, not a bug."""
    if "sqlalchemy" not in sys.modules:
        return None
    from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError

    from arkinctl.db.engine import describe_db_error

    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return DatabaseUnavailableError("lost the connection to the database")
    if isinstance(exc, DBAPIError):
        detail = describe_db_error(exc)
        sqlstate = getattr(exc.orig, "sqlstate", None)
        if (
            sqlstate in ("42P01", "42703")
            or "no such table" in detail
            or "no such column" in detail
        ):
            return SchemaOutdatedError(
                f"the database schema is damaged or not arkinctl's ({detail})",
                hint="`arkinctl db status` names what is missing; restore the database",
            )
        if sqlstate == "42P07" or "already exists" in detail:
            return ConflictError(
                f"the database already holds tables that are not arkinctl's ({detail})",
                hint="use an empty database for arkinctl",
            )
    if isinstance(exc, OperationalError):
        detail = describe_db_error(exc)
        if "locked" in detail or "lock timeout" in detail:
            return DatabaseUnavailableError(
                f"the database is busy: another session holds a lock ({detail})",
                hint="try again in a moment",
            )
        return DatabaseUnavailableError(
            f"database error: {detail}",
            hint="check the database server and connection settings (`arkinctl doctor`)",
        )
    if isinstance(exc, IntegrityError):
        return ConflictError(
            "the data changed while this ran (another arkinctl at work on the same rows?)",
            hint="run it again",
        )
    if isinstance(exc, DataError):
        return InvalidInputError(
            f"the database refused a value: {describe_db_error(exc)}",
            hint="shorten or correct the value",
        )
    return None


_root = typer.Typer(
    name="arkinctl",
    cls=ArkinGroup,
    help=(
        "Find out why a client sees no data in the Karify portal, and fix it.\n\n"
        "Start with `arkinctl diagnose REF` (REF: client number, BSN, e-mail or portal "
        "account id). Try it on generated data with `arkinctl demo`.\n\n"
        "\b\nExamples:\n"
        "  arkinctl demo\n"
        "  arkinctl diagnose 9100023\n"
        "  arkinctl --format json diagnose jan.jansen@example.nl\n"
        "  arkinctl --db postgresql://arkin@db/arkin import fhir export/\n\n"
        "Exit codes: 0 ok, 2 usage, 3 not found, 4 ambiguous, 5 invalid input, 6 conflict, "
        "7 access denied, 8 database down, 9 schema out of date, 10 some rows failed, "
        "20 diagnosis found a cause, 21 audit trail not intact (see README)."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"arkinctl {__version__}")
        raise typer.Exit()


@_root.callback()
def root(
    ctx: typer.Context,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="Database URL (postgresql://… or sqlite:///file.db) or an SQLite file path. "
            "Default: ARKINCTL_DATABASE_URL, then .env, then an SQLite file in your data folder.",
            show_default=False,
        ),
    ] = None,
    as_user: Annotated[
        str | None,
        typer.Option(
            "--as",
            help="Act as this user (default: ARKINCTL_USER, then your login name).",
            show_default=False,
        ),
    ] = None,
    on_behalf_of: Annotated[
        str | None,
        typer.Option(
            "--on-behalf-of",
            help="The responsible user you act for (an arkinctl user; kept in the audit trail).",
            show_default=False,
        ),
    ] = None,
    fmt: Annotated[
        OutputFormat,
        typer.Option("--format", "-f", help="Output format: table, json or csv."),
    ] = OutputFormat.table,
    no_color: Annotated[
        bool, typer.Option("--no-color", help="No colour (also when NO_COLOR is set).")
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="More detail on errors.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    from arkinctl.context import AppContext

    ctx.obj = AppContext(
        db_option=db,
        user_option=as_user,
        on_behalf_of=on_behalf_of,
        format=fmt,
        no_color=no_color,
        verbose=verbose,
    )


# Every command, in the order `--help` lists them: (name, module, a group or plain commands).
_COMMANDS = (
    ("db", "db", True),
    ("import", "importing", True),
    ("client", "client", True),
    ("dob", "dob", True),
    ("files", "files", True),
    ("diagnose", "diagnose", False),
    ("demo", "demo", False),
    ("doctor", "doctor", False),
    ("share", "share", True),
    ("invite", "invite", True),
    ("outbox", "outbox", True),
    ("ticket", "ticket", True),
    ("audit", "audit", True),
    ("user", "user", True),
    ("care", "care", True),
)
# Root options that take a value: the token after them is not a command name.
_VALUE_OPTIONS = frozenset({"--db", "--as", "--on-behalf-of", "--format", "-f"})
_loaded: dict[str, typer.Typer] = {}
_stubs: dict[str, typer.Typer] = {}  # groups as name and help only (the root --help)


def register(names: Collection[str] | None = None, *, shallow: bool = False) -> typer.Typer:
    """Add the named commands (all when None) to the root app, in `--help` order.

    `shallow`: each group as its name and help text only, which is all the root `--help`
    lists; building every subcommand's parameters would double its time."""
    from importlib import import_module

    wanted = [c for c in _COMMANDS if names is None or c[0] in names]
    if all(name in _loaded for name, _, _ in wanted) and not shallow:
        return _root
    for name, module_name, is_group in wanted:
        if name in _loaded:
            continue
        module_app: typer.Typer = import_module(f"arkinctl.commands.{module_name}").app
        if shallow and is_group:
            _stubs[name] = typer.Typer(help=module_app.info.help, rich_markup_mode=None)
        else:
            _loaded[name] = module_app
    _root.registered_groups.clear()
    _root.registered_commands.clear()
    for name, _, is_group in _COMMANDS:
        group = _loaded.get(name) or _stubs.get(name)
        if group is None:
            continue
        if is_group:
            _root.add_typer(group, name=name)
        else:
            _root.registered_commands.extend(group.registered_commands)
    return _root


def _root_help(args: list[str]) -> bool:
    """Only the root's help is asked for: `arkinctl`, `arkinctl --help`, `arkinctl -h`."""
    return (
        not _completing()
        and _command_named(args) is None
        and (not args or any(a in ("-h", "--help") for a in args))
    )


def _completing() -> bool:
    import os

    return any(key.startswith("_ARKINCTL_COMPLETE") for key in os.environ)


def _command_named(args: list[str]) -> str | None:
    """The command a command line runs, when it names one; None means all may be needed
    (root --help, shell completion, a typo that the error should answer with the list)."""
    if _completing():
        return None
    known = {name for name, _, _ in _COMMANDS}
    tokens = iter(args)
    for token in tokens:
        if token == "--":
            break
        if token.startswith("-"):
            if token in _VALUE_OPTIONS:
                next(tokens, None)
            continue
        return token if token in known else None
    return None


def __getattr__(name: str) -> typer.Typer:
    # `from arkinctl.cli import app` (tests, the README generator) gets every command;
    # the installed script builds only the one it runs, which keeps start-up short.
    if name == "app":
        return register()
    raise AttributeError(name)


def main() -> None:
    command = _command_named(sys.argv[1:])
    register(None if command is None else {command}, shallow=_root_help(sys.argv[1:]))
    try:
        _root()
    except SystemExit as exc:
        _exit(_status(exc.code))
    _exit(0)


def _status(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    sys.stderr.write(f"{code}\n")
    return 1


def _exit(status: int) -> None:
    """Flush, run the exit handlers (they close the database connections), then leave
    without tearing down every imported module: that teardown took longer than a whole
    `client show` query. Nothing is left to write by then."""
    import atexit
    import contextlib
    import os

    try:
        sys.stdout.flush()
    except BrokenPipeError:
        # A pipe closed by the reader must not turn into a traceback at interpreter exit.
        _silence_stdout()
        status = int(ExitCode.BROKEN_PIPE)
    except (OSError, ValueError):
        pass
    if sys.gettrace() is not None or sys.getprofile() is not None:
        sys.exit(status)  # a profiler or coverage run writes its results after this
    atexit._run_exitfuncs()
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.flush()
    os._exit(status)
