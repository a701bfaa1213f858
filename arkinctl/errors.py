"""Exit codes and the domain errors that map to them (one place, as the README documents)."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    UNEXPECTED = 1
    USAGE = 2
    NOT_FOUND = 3
    AMBIGUOUS = 4
    INVALID_INPUT = 5
    CONFLICT = 6
    ACCESS_DENIED = 7
    DATABASE_UNAVAILABLE = 8
    SCHEMA_OUTDATED = 9
    PARTIAL_FAILURE = 10
    DIAGNOSIS_PROBLEM = 20
    INTEGRITY = 21  # `audit verify`: the audit trail was changed or has a gap
    BROKEN_PIPE = 141  # stdout closed early (`| head`), as a shell reports SIGPIPE


class ArkinError(Exception):
    """An expected failure: printed as one line, never as a traceback."""

    exit_code: ExitCode = ExitCode.UNEXPECTED
    # The client the refused attempt concerned, when known: the audit event names them.
    client_number: str | None = None

    def __init__(self, message: str, *, hint: str | None = None, audited: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        # The command already committed an audit event for this refusal: write no second.
        self.audited = audited

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class UsageError(ArkinError):
    """The command was called wrongly (a missing or contradictory argument)."""

    exit_code = ExitCode.USAGE


class NotFoundError(ArkinError):
    exit_code = ExitCode.NOT_FOUND


class AmbiguousReferenceError(ArkinError):
    exit_code = ExitCode.AMBIGUOUS

    def __init__(self, message: str, *, candidates: list[str], hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.candidates = candidates


class InvalidInputError(ArkinError):
    exit_code = ExitCode.INVALID_INPUT


class ConflictError(ArkinError):
    exit_code = ExitCode.CONFLICT


class AccessDeniedError(ArkinError):
    exit_code = ExitCode.ACCESS_DENIED


class DatabaseUnavailableError(ArkinError):
    exit_code = ExitCode.DATABASE_UNAVAILABLE


class SchemaOutdatedError(ArkinError):
    exit_code = ExitCode.SCHEMA_OUTDATED
