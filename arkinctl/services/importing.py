"""What every importer reports: counts, rejected rows with their place and reason, warnings."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Problem:
    """A rejected row/resource or a warning. `where` is `file:line` or `file#index`."""

    where: str
    reason: str


@dataclass
class ImportSummary:
    source: str
    created: Counter[str] = field(default_factory=Counter)
    updated: Counter[str] = field(default_factory=Counter)
    unchanged: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)  # by resource type / reason
    rejected: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return bool(self.rejected)

    def as_dict(self) -> dict[str, object]:
        return {
            "source": self.source,
            "created": dict(sorted(self.created.items())),
            "updated": dict(sorted(self.updated.items())),
            "unchanged": dict(sorted(self.unchanged.items())),
            "skipped": dict(sorted(self.skipped.items())),
            "rejected": [{"where": p.where, "reason": p.reason} for p in self.rejected],
            "warnings": [{"where": p.where, "reason": p.reason} for p in self.warnings],
            "notes": list(self.notes),
        }
