"""The tool's own health, for `arkinctl doctor`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from arkinctl import __version__
from arkinctl.config import Settings, mask_url
from arkinctl.errors import ArkinError, ExitCode


@dataclass(frozen=True)
class HealthCheck:
    name: str
    ok: bool
    detail: str


@dataclass
class HealthReport:
    checks: list[HealthCheck] = field(default_factory=list)
    exit_code: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.exit_code == 0, "checks": [asdict(c) for c in self.checks]}


def check_health(settings: Settings) -> HealthReport:
    from arkinctl.db.engine import current_revision, make_engine, schema_problem

    report = HealthReport()
    add = report.checks.append
    add(HealthCheck("version", True, f"arkinctl {__version__}"))
    add(
        HealthCheck(
            "settings",
            True,
            f"database from {settings.sources.get('database', 'default')}; acting user "
            f"{settings.user}; cutoff {settings.cutoff_date} {settings.timezone.key}",
        )
    )
    add(
        HealthCheck(
            "sharing rules",
            True,
            f"shared kinds: {', '.join(sorted(settings.shared_kinds))}; invitations valid "
            f"{settings.invitation_expiry_days} days",
        )
    )
    add(_mail_check(settings))
    add(HealthCheck("database url", True, mask_url(settings.database_url)))
    try:
        engine = make_engine(settings.database_url)
        try:
            revision = current_revision(engine)
        finally:
            engine.dispose()
    except ArkinError as exc:
        add(HealthCheck("database reachable", False, str(exc)))
        report.exit_code = int(exc.exit_code)
        return report
    add(HealthCheck("database reachable", True, engine.dialect.name))
    problem = schema_problem(revision)
    if problem is None:
        from arkinctl.services.schema import schema_status

        engine = make_engine(settings.database_url)
        try:
            missing = schema_status(engine).missing_tables
        finally:
            engine.dispose()
        if missing:
            add(HealthCheck("schema current", False, f"tables missing: {', '.join(missing)}"))
            report.exit_code = int(ExitCode.SCHEMA_OUTDATED)
            return report
    if problem is None:
        add(HealthCheck("schema current", True, str(revision)))
    else:
        add(HealthCheck("schema current", False, str(problem)))
        report.exit_code = int(ExitCode.SCHEMA_OUTDATED)
    return report


def _mail_check(settings: Settings) -> HealthCheck:
    """The mail settings as the outbox would use them; the password only as set / not set.
    Not having a mail server is no fault (nothing is sent then): the check says so."""
    mail = settings.mail
    if mail.problem:
        return HealthCheck("mail settings", False, mail.problem)
    if not mail.smtp_host:
        return HealthCheck(
            "mail settings", True, "no ARKINCTL_SMTP_HOST: e-mails wait in the outbox, unsent"
        )
    login = f"login {mail.user}, password {'set' if mail.password else 'not set'}"
    detail = (
        f"{mail.smtp_host}:{mail.port} {mail.security}, "
        f"{login if mail.user else 'no login'}; from {mail.from_address}; department "
        f"{mail.technical_address or 'not set (no ticket notices)'}"
    )
    return HealthCheck("mail settings", True, detail)
