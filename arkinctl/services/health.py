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
    from arkinctl.db.engine import SCHEMA_HEAD, current_revision, make_engine

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
    add(HealthCheck("database url", True, mask_url(settings.database_url)))
    engine = make_engine(settings.database_url)
    try:
        revision = current_revision(engine)
    except ArkinError as exc:
        add(HealthCheck("database reachable", False, exc.message))
        report.exit_code = int(exc.exit_code)
        return report
    finally:
        engine.dispose()
    add(HealthCheck("database reachable", True, engine.dialect.name))
    if revision == SCHEMA_HEAD:
        add(HealthCheck("schema current", True, revision))
    else:
        hint = "run `arkinctl db init`" if revision is None else "run `arkinctl db upgrade`"
        add(HealthCheck("schema current", False, f"at {revision or 'nothing'}: {hint}"))
        report.exit_code = int(ExitCode.SCHEMA_OUTDATED)
    add(HealthCheck("mail", True, "not used yet (invitations arrive in a later release)"))
    return report
