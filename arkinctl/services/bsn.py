"""BSN (burgerservicenummer) checks and masking, via python-stdnum."""

from __future__ import annotations

import re

_DIGITS = re.compile(r"^\d{8,9}$")


def looks_like_bsn(text: str) -> bool:
    """Digits only (dots and spaces allowed), 8 or 9 of them: could be meant as a BSN."""
    return bool(_DIGITS.match(re.sub(r"[\s.]", "", text)))


def compact_bsn(text: str) -> str | None:
    """The 9-digit form when `text` is a valid BSN (11-proof), else None."""
    from stdnum.nl import bsn

    if not looks_like_bsn(text):
        return None
    value = bsn.compact(text)
    return str(value) if bsn.is_valid(value) else None


def mask_bsn(value: str | None) -> str | None:
    """`*****1234`: enough to confirm with the client, not enough to misuse."""
    if not value:
        return None
    return "*" * (len(value) - 4) + value[-4:]
