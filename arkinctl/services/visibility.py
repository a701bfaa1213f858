"""The sharing rule for file parts (DESIGN section 2), as SQL so it runs where the data is.

A part is shared when it is final, current, not withheld, of a shared kind, and entered on
or after the cutoff (a local date in the configured time zone). The reason is the first
rule that fails, in the order below, so `before_cutoff` means "fails on the cutoff alone".
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import ColumnElement, and_, case, false, literal
from sqlalchemy.sql.expression import ColumnElement as _CE

from arkinctl.config import Settings
from arkinctl.db.models import FilePart

REASONS = (
    "shared",
    "before_cutoff",
    "draft",
    "withheld",
    "kind_not_shared",
    "entered_in_error",
    "superseded",
)


def cutoff_instant(settings: Settings) -> datetime:
    """Local midnight of the cutoff date, as a UTC instant (2022-02-28T23:00Z by default)."""
    local = datetime.combine(settings.cutoff_date, datetime.min.time(), settings.timezone)
    return local.astimezone(UTC)


def _kind_is_shared(settings: Settings) -> ColumnElement[bool]:
    if not settings.shared_kinds:
        return false()
    return FilePart.kind.in_(sorted(settings.shared_kinds))


def shareable_apart_from_cutoff(settings: Settings) -> ColumnElement[bool]:
    return and_(
        FilePart.lifecycle == "current",
        FilePart.status == "final",
        FilePart.withheld.is_(False),
        _kind_is_shared(settings),
    )


def is_shared(settings: Settings) -> ColumnElement[bool]:
    return and_(
        shareable_apart_from_cutoff(settings), FilePart.entered_at >= cutoff_instant(settings)
    )


def only_cutoff_fails(settings: Settings) -> ColumnElement[bool]:
    return and_(
        shareable_apart_from_cutoff(settings), FilePart.entered_at < cutoff_instant(settings)
    )


def reason_expr(settings: Settings) -> _CE[str]:
    """Why a part is or is not shared: one of REASONS."""
    return case(
        (FilePart.lifecycle == "entered_in_error", literal("entered_in_error")),
        (FilePart.lifecycle == "superseded", literal("superseded")),
        (FilePart.status != "final", literal("draft")),
        (FilePart.withheld.is_(True), literal("withheld")),
        (~_kind_is_shared(settings), literal("kind_not_shared")),
        (FilePart.entered_at < cutoff_instant(settings), literal("before_cutoff")),
        else_=literal("shared"),
    )
