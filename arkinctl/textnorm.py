"""Text folding shared by storage and search, so `Zoë` is found by `zoe` and `ZOË`."""

from __future__ import annotations

import unicodedata


def fold(text: str | None) -> str:
    """Lower-case, accent-free, single-spaced form of `text`."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.casefold().split())
