"""The quick path of `normalise_email` (plain ASCII addresses, one check per domain) gives
exactly what email-validator gives: the same normal form, or a refusal."""

from __future__ import annotations

import random

import pytest
from email_validator import EmailNotValidError, validate_email

from arkinctl.errors import InvalidInputError
from arkinctl.services.email_address import normalise_email


def _library(value: str) -> str | None:
    try:
        return str(
            validate_email(value.strip(), check_deliverability=False, strict=True).normalized
        )
    except EmailNotValidError:
        return None


def _ours(value: str) -> str | None:
    try:
        return normalise_email(value)
    except InvalidInputError:
        return None


EDGES = [
    "Jan.Jansen+portal@Example.NL",
    "a@b.co",
    "a@localhost",
    "a@example.test",
    "a@x.local",
    "a@x.onion",
    "a@x.invalid",
    "a@1.2.3.4",
    "a@x.123",
    "a@-x.nl",
    "a@x-.nl",
    "a@x..nl",
    "a@x.nl.",
    ".a@x.nl",
    "a.@x.nl",
    "a..b@x.nl",
    "a@xn--zo-8ia.nl",
    "a@xn--abc.nl",
    "a@ab--cd.nl",
    "a@zoë.nl",
    "zoë@x.nl",
    '"a b"@x.nl',
    "a@@x.nl",
    "@x.nl",
    "a@",
    "a",
    " a@x.nl ",
    "a@X.NL",
    "x" * 64 + "@x.nl",
    "x" * 65 + "@x.nl",
    "a@" + ("x" * 63 + ".") * 3 + "nl",
    "a@" + "x" * 64 + ".nl",
    "y" * 60 + "@" + ("x" * 60 + ".") * 3 + "nl",
    "a@x.n",
    "a@x.nl\n",
    "{|}~!#$%&'*+/=?^_`-@x.nl",
]

ALPHABET = "aZ09.-_+@!#$%&'*/=?^`{|}~ \"ë(),:;<>[]\\" + "x" * 10


PLAUSIBLE_LOCAL = "abcXYZ0189.-_+'" + "aaaaeeee"
PLAUSIBLE_LABEL = "abcdXYZ019-" + "eeeoooo"


def _random_addresses(n: int) -> list[str]:
    """Half near-valid (the quick path's ground, with its edge cases), half anything."""
    rng = random.Random(7513)
    out = []
    for k in range(n):
        local_chars, label_chars = (
            (PLAUSIBLE_LOCAL, PLAUSIBLE_LABEL) if k % 2 else (ALPHABET, "abcXYZ019-ë_")
        )
        local = "".join(rng.choice(local_chars) for _ in range(rng.randint(0, 12)))
        labels = [
            "".join(rng.choice(label_chars) for _ in range(rng.randint(0, 8)))
            for _ in range(rng.randint(1, 3))
        ]
        tld = rng.choice(["nl", "com", "NL", "test", "local", "x", "c0m", "123", ""])
        out.append(f"{local}@{'.'.join([*labels, tld])}")
    return out


@pytest.mark.parametrize("value", EDGES)
def test_edge_addresses_match_the_library(value: str) -> None:
    assert _ours(value) == _library(value)


def test_many_generated_addresses_match_the_library() -> None:
    addresses = _random_addresses(20_000)
    differ = [a for a in addresses if _ours(a) != _library(a)]
    assert differ == []
    # the corpus holds both kinds, so the comparison means something
    valid = sum(1 for a in addresses if _library(a) is not None)
    assert 1_000 < valid < 19_000
