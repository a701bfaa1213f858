"""Text folding shared by storage and search, so `Zoë` is found by `zoe` and `ZOË`."""

from __future__ import annotations

import unicodedata

# Letters that are not a base letter plus an accent, so NFKD leaves them alone:
# `Yılmaz` must be found by `yilmaz`, `Søren` by `soren`.
_BASE_LETTERS = str.maketrans(
    {"ı": "i", "ø": "o", "Ø": "o", "ł": "l", "Ł": "l", "đ": "d", "Đ": "d", "ð": "d",
     "æ": "ae", "Æ": "ae", "œ": "oe", "Œ": "oe", "þ": "th", "Þ": "th"}
)  # fmt: skip


def fold(text: str | None) -> str:
    """Lower-case, accent-free, single-spaced form of `text`."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", text.translate(_BASE_LETTERS))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.casefold().split())
