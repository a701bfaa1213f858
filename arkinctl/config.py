"""Settings from the command line, the environment and a `.env` file, read on demand.

Nothing here runs at import time, so `arkinctl --help` works in an empty environment.
Precedence: command-line option, then environment variable, then `.env` in the working
directory, then the built-in default.
"""

from __future__ import annotations

import getpass
import os
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from arkinctl.errors import InvalidInputError

# Kinds of file part the portal shows; progress notes and "other" stay internal by default.
ALL_KINDS = (
    "treatment_plan",
    "letter",
    "progress_note",
    "diagnosis",
    "questionnaire_result",
    "medication",
    "appointment",
    "report",
    "other",
)
DEFAULT_SHARED_KINDS = frozenset(ALL_KINDS) - {"progress_note", "other"}
DEFAULT_CUTOFF = date(2022, 3, 1)
DEFAULT_TIMEZONE = "Europe/Amsterdam"


SMTP_SECURITY = ("none", "starttls", "tls")


@dataclass(frozen=True)
class MailSettings:
    """How the outbox reaches the mail server, and where notices go."""

    smtp_host: str | None = None
    smtp_port: int | None = None  # None: 25, 587 or 465 by `security`
    security: str = "starttls"  # none | starttls | tls
    user: str | None = None
    password: str | None = field(default=None, repr=False)  # never printed
    from_address: str = "no-reply@localhost"
    timeout_seconds: int = 30
    max_attempts: int = 5
    retry_base_seconds: int = 60
    # A message claimed this long ago and never marked is left as uncertain.
    claim_timeout_seconds: int = 600
    technical_address: str | None = None
    portal_url: str | None = None
    problem: str | None = None  # a setting that could not be read (see load_settings)

    @property
    def port(self) -> int:
        if self.smtp_port:
            return self.smtp_port
        return {"tls": 465, "starttls": 587}.get(self.security, 25)


@dataclass(frozen=True)
class Settings:
    database_url: str
    database_is_default: bool
    user: str
    cutoff_date: date = DEFAULT_CUTOFF
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo(DEFAULT_TIMEZONE))
    shared_kinds: frozenset[str] = DEFAULT_SHARED_KINDS
    invitation_expiry_days: int = 14
    # A live invitation younger than this is not resent: the portal reminds on days 3 and 7.
    resend_after_days: int = 7
    mail: MailSettings = field(default_factory=MailSettings)
    sources: dict[str, str] = field(default_factory=dict)


def default_database_path() -> Path:
    from platformdirs import user_data_path

    return user_data_path("arkinctl", appauthor=False) / "arkinctl.db"


def normalise_database_url(url: str) -> str:
    """Accept URLs as people paste them and pin PostgreSQL to the psycopg 3 driver."""
    url = url.strip()
    if not url:
        raise InvalidInputError("the database URL is empty", hint="set ARKINCTL_DATABASE_URL")
    scheme, sep, rest = url.partition("://")
    if "memory" in url.lower() and (":memory:" in url or "mode=memory" in url.lower()):
        raise InvalidInputError(
            "an in-memory SQLite database keeps nothing: arkinctl needs a file",
            hint="use sqlite:///path/to/file.db or a plain file path",
        )
    if not sep:
        if re.match(r"^[a-z][a-z0-9+.-]*:", url, re.IGNORECASE) and not re.match(
            r"^[a-z]:[\\/]", url, re.IGNORECASE
        ):
            raise InvalidInputError(
                f"'{url.split(':', 1)[0]}:' is neither a database URL nor a file path",
                hint="use postgresql://host/dbname, sqlite:///path/file.db or a file path",
            )
        # A bare path means an SQLite file: handy for `--db ./clients.db`.
        return "sqlite:///" + str(Path(url).expanduser().resolve())
    base = scheme.split("+", 1)[0].lower()
    if base in ("postgres", "postgresql"):
        try:
            database = urlsplit(url).path.strip("/")
        except ValueError:
            raise InvalidInputError(
                "the database URL cannot be read",
                hint="write it as postgresql://user@host:port/dbname",
            ) from None
        if not database:
            raise InvalidInputError(
                "the PostgreSQL URL names no database",
                hint="write it as postgresql://user@host:port/dbname",
            )
        return "postgresql+psycopg://" + rest
    if base == "sqlite":
        return url
    raise InvalidInputError(
        f"unsupported database URL scheme '{scheme}'",
        hint="use postgresql://… or sqlite:///path/to/file.db",
    )


def mask_url(url: str) -> str:
    """The URL with any password replaced, for `doctor` and verbose output."""
    parts = urlsplit(url)
    # libpq also takes the password as a query parameter: `…/db?password=…`.
    query = re.sub(r"(?i)(^|&)(password=)[^&]*", r"\1\2***", parts.query)
    if parts.password is None and query == parts.query:
        return url
    netloc = parts.netloc
    if parts.password is not None:
        netloc = netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def _env_file_values(cwd: Path) -> dict[str, str]:
    """KEY=value pairs of `.env` in `cwd`; a line that cannot be read is an error, not a
    setting silently ignored."""
    path = cwd / ".env"
    if not path.is_file():
        return {}
    import io

    from dotenv.parser import parse_stream

    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInputError(
            f"{path} is not UTF-8 text", hint="save it as UTF-8, one KEY=value per line"
        ) from None
    except OSError as exc:
        raise InvalidInputError(f"cannot read {path}: {exc.strerror}") from None
    values: dict[str, str] = {}
    for binding in parse_stream(io.StringIO(text)):
        if binding.error:
            raise InvalidInputError(
                f"{path} line {binding.original.line} cannot be read",
                hint="write KEY=value, quoting values with spaces",
            )
        if binding.key is not None and binding.value is not None:
            values[binding.key] = binding.value
    return values


def _parse_kinds(text: str) -> frozenset[str]:
    kinds = frozenset(k.strip() for k in re.split(r"[,\s]+", text) if k.strip())
    if not kinds:
        raise InvalidInputError(
            "ARKINCTL_SHARED_KINDS names no kinds", hint=f"choose from {', '.join(ALL_KINDS)}"
        )
    unknown = kinds - set(ALL_KINDS)
    if unknown:
        raise InvalidInputError(
            f"ARKINCTL_SHARED_KINDS names unknown kinds: {', '.join(sorted(unknown))}",
            hint=f"choose from {', '.join(ALL_KINDS)}",
        )
    return kinds


def load_settings(*, database_url: str | None = None, user: str | None = None) -> Settings:
    from_file = _env_file_values(Path.cwd())
    values = {**from_file, **os.environ}
    sources: dict[str, str] = {}

    if database_url is not None and not database_url.strip():
        raise InvalidInputError("--db is empty", hint="leave it out to use the default database")
    if database_url:
        url, is_default = normalise_database_url(database_url), False
        sources["database"] = "--db"
    elif values.get("ARKINCTL_DATABASE_URL"):
        url, is_default = normalise_database_url(values["ARKINCTL_DATABASE_URL"]), False
        in_env = "ARKINCTL_DATABASE_URL" in os.environ
        sources["database"] = "ARKINCTL_DATABASE_URL" + ("" if in_env else " in .env")
    else:
        url, is_default = "sqlite:///" + str(default_database_path()), True
        sources["database"] = "default"

    acting = user or values.get("ARKINCTL_USER") or login_name()

    cutoff = DEFAULT_CUTOFF
    if values.get("ARKINCTL_CUTOFF_DATE"):
        try:
            cutoff = date.fromisoformat(values["ARKINCTL_CUTOFF_DATE"].strip())
        except ValueError:
            raise InvalidInputError(
                "ARKINCTL_CUTOFF_DATE is not a date", hint="write it as YYYY-MM-DD"
            ) from None

    tz_name = values.get("ARKINCTL_TIMEZONE", DEFAULT_TIMEZONE).strip() or DEFAULT_TIMEZONE
    try:
        tz = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInputError(
            f"ARKINCTL_TIMEZONE '{tz_name}' is not a known time zone",
            hint="use an IANA name such as Europe/Amsterdam",
        ) from None

    kinds = DEFAULT_SHARED_KINDS
    if values.get("ARKINCTL_SHARED_KINDS"):
        kinds = _parse_kinds(values["ARKINCTL_SHARED_KINDS"])

    expiry = _whole_number(values, "ARKINCTL_INVITATION_EXPIRY_DAYS", 14, minimum=1)
    resend_after = _whole_number(values, "ARKINCTL_INVITATION_RESEND_AFTER_DAYS", 7, minimum=0)

    return Settings(
        database_url=url,
        database_is_default=is_default,
        user=acting,
        cutoff_date=cutoff,
        timezone=tz,
        shared_kinds=kinds,
        invitation_expiry_days=expiry,
        resend_after_days=resend_after,
        mail=_mail_settings_or_problem(values),
        sources=sources,
    )


def _whole_number(values: dict[str, str], name: str, default: int, *, minimum: int) -> int:
    raw = values.get(name, "").strip()
    if not raw:
        return default
    try:
        number = int(raw)
    except ValueError:
        number = minimum - 1
    if number < minimum:
        raise InvalidInputError(f"{name} must be a whole number, at least {minimum}")
    return number


def _mail_settings_or_problem(values: dict[str, str]) -> MailSettings:
    """A wrong mail setting must not stop commands that send nothing: it is kept and
    raised by the commands that do use the mail server (`outbox deliver`, `doctor`)."""
    try:
        return _mail_settings(values)
    except InvalidInputError as exc:
        return MailSettings(problem=str(exc))


def _mail_settings(values: dict[str, str]) -> MailSettings:
    def text(name: str) -> str | None:
        return values.get(name, "").strip() or None

    security = (text("ARKINCTL_SMTP_SECURITY") or "starttls").lower()
    if security not in SMTP_SECURITY:
        raise InvalidInputError(
            f"ARKINCTL_SMTP_SECURITY '{security}' is not one of {', '.join(SMTP_SECURITY)}"
        )
    port = _whole_number(values, "ARKINCTL_SMTP_PORT", 0, minimum=0)
    if port > 65535:
        raise InvalidInputError("ARKINCTL_SMTP_PORT must be a port number, 1 to 65535")
    return MailSettings(
        smtp_host=text("ARKINCTL_SMTP_HOST"),
        smtp_port=port or None,
        security=security,
        user=text("ARKINCTL_SMTP_USER"),
        password=values.get("ARKINCTL_SMTP_PASSWORD") or None,
        from_address=text("ARKINCTL_MAIL_FROM") or "no-reply@localhost",
        timeout_seconds=_whole_number(values, "ARKINCTL_SMTP_TIMEOUT", 30, minimum=1),
        max_attempts=_whole_number(values, "ARKINCTL_OUTBOX_MAX_ATTEMPTS", 5, minimum=1),
        retry_base_seconds=_whole_number(values, "ARKINCTL_OUTBOX_RETRY_SECONDS", 60, minimum=0),
        claim_timeout_seconds=_whole_number(
            values, "ARKINCTL_OUTBOX_CLAIM_TIMEOUT", 600, minimum=1
        ),
        technical_address=text("ARKINCTL_TECHNICAL_EMAIL"),
        portal_url=_portal_url(text("ARKINCTL_PORTAL_URL")),
    )


def _portal_url(value: str | None) -> str | None:
    """The portal's address goes into every invitation: only a plain http(s) URL."""
    if value is None:
        return None
    from urllib.parse import urlsplit

    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.netloc or any(c.isspace() for c in value):
        raise InvalidInputError(
            "ARKINCTL_PORTAL_URL must be an http(s) address such as https://portal.example.nl"
        )
    return value


def login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
