"""The output formats, in a module of their own so that parsing options loads nothing else."""

from __future__ import annotations

from enum import StrEnum


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"
