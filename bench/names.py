"""Dutch-looking names with a realistic frequency distribution, as lookup "slots".

A client picks a slot uniformly at random; a name owns as many slots as its share of the
population, so `de jong` and `jansen` are frequent and the long tail is rare. The counts of
the common names follow the Meertens Nederlandse Familienamenbank (2007, rounded); the tail
is synthetic (root + suffix, some with a prefix, ~1,800 names) with Zipf-like weights.
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from arkinctl.textnorm import fold

POPULATION = 16_400_000
FAMILY_SLOTS = 100_000
GIVEN_SLOTS = 1_000
ZIPF_OFFSET = 500  # flat enough that no tail name outnumbers the common ones
SEED = 2022

T = TypeVar("T")

# (prefix, family name, people in the Netherlands)
COMMON_FAMILY: tuple[tuple[str | None, str, int], ...] = (
    ("de", "Jong", 86_000),
    (None, "Jansen", 74_000),
    ("de", "Vries", 72_000),
    ("van den", "Berg", 58_000),
    ("van", "Dijk", 56_000),
    (None, "Bakker", 55_000),
    (None, "Janssen", 54_000),
    (None, "Visser", 50_000),
    (None, "Smit", 46_000),
    (None, "Meijer", 41_000),
    ("de", "Boer", 40_000),
    (None, "Mulder", 39_000),
    ("de", "Groot", 39_000),
    (None, "Bos", 37_000),
    (None, "Vos", 34_000),
    (None, "Peters", 33_000),
    (None, "Hendriks", 33_000),
    ("van", "Leeuwen", 32_000),
    (None, "Dekker", 31_000),
    (None, "Brouwer", 30_000),
    ("de", "Wit", 29_000),
    (None, "Dijkstra", 29_000),
    (None, "Smits", 28_000),
    ("de", "Graaf", 28_000),
    ("van der", "Meer", 28_000),
    ("van der", "Linden", 26_000),
    (None, "Kok", 26_000),
    (None, "Jacobs", 25_000),
    ("de", "Haan", 25_000),
    (None, "Vermeulen", 25_000),
    ("van den", "Heuvel", 24_000),
    ("van der", "Veen", 24_000),
    ("van den", "Broek", 24_000),
    ("de", "Bruijn", 23_000),
    ("de", "Bruin", 23_000),
    ("van der", "Heijden", 23_000),
    (None, "Schouten", 23_000),
    ("van", "Beek", 23_000),
    (None, "Willems", 23_000),
    ("van", "Vliet", 23_000),
    ("van de", "Ven", 22_000),
    (None, "Hoekstra", 22_000),
    (None, "Maas", 22_000),
    (None, "Verhoeven", 21_000),
    (None, "Koster", 21_000),
    ("van", "Dam", 21_000),
    ("van der", "Wal", 21_000),
    (None, "Prins", 21_000),
    (None, "Blom", 21_000),
    (None, "Huisman", 20_000),
    (None, "Yılmaz", 10_000),
    (None, "Şahin", 5_000),
    (None, "Öztürk", 4_000),
    (None, "Çelik", 4_000),
    (None, "Özdemir", 3_000),
    (None, "El Idrissi", 2_000),
    (None, "Nguyễn", 1_500),
    ("van der", "Meulen-Özdemir", 200),
)

GIVEN: tuple[tuple[str, float], ...] = (
    ("Jan", 3), ("Johannes", 2), ("Pieter", 2), ("Cornelis", 1.5), ("Hendrik", 1.5),
    ("Willem", 1.5), ("Gerrit", 1), ("Dirk", 1), ("Kees", 1), ("Peter", 2), ("Mark", 2),
    ("Erik", 1.5), ("Marco", 1.5), ("Dennis", 1.5), ("Thomas", 1.5), ("Daan", 2),
    ("Sem", 1.5), ("Lucas", 1.5), ("Bram", 1.5), ("Thijs", 1.5), ("Ruben", 1.5), ("Tim", 2),
    ("Niels", 1.5), ("Jeroen", 1.5), ("Bas", 1.5), ("Mohamed", 1.5), ("Ahmed", 1),
    ("Mehmet", 0.8), ("Noël", 0.3), ("André", 0.8), ("René", 0.8), ("Jürgen", 0.2),
    ("Sjoerd", 0.5), ("Wouter", 1), ("Joost", 1), ("Stijn", 1), ("Maria", 2), ("Anna", 2),
    ("Johanna", 1.5), ("Elisabeth", 1), ("Cornelia", 1), ("Emma", 2), ("Julia", 1.5),
    ("Sophie", 1.5), ("Lotte", 1.5), ("Sanne", 2), ("Lisa", 2), ("Anouk", 1.5),
    ("Fleur", 1.5), ("Lieke", 1), ("Iris", 1.5), ("Eva", 1.5), ("Linda", 1.5),
    ("Marieke", 1.5), ("Esther", 1.5), ("Ingrid", 1), ("Petra", 1), ("Monique", 1.5),
    ("Fatima", 1), ("Zoë", 0.8), ("Chloë", 0.4), ("Anaïs", 0.2), ("Inès", 0.2), ("Mila", 1),
    ("Saskia", 1), ("Yvonne", 1), ("Femke", 1), ("Nadia", 0.8), ("Ayşe", 0.3),
    ("Renée", 0.3),
)  # fmt: skip

_ROOTS = (
    "Hoog", "Groot", "Klein", "Berg", "Veen", "Brink", "Kamp", "Hof", "Horst", "Laar",
    "Linde", "Zand", "Water", "Molen", "Kerk", "Mees", "Ooster", "Wester", "Noord", "Zuid",
    "Stee", "Bouw", "Raad", "Wolf", "Vink", "Ruit", "Blok", "Hen", "Kort", "Lang", "Wijn",
    "Roos", "Hut", "Geer", "Dam", "Weer", "Hol", "Braak", "Bleek", "Ter", "Lin", "Rijk",
    "Sloot", "Tuin", "Beuk", "Eik", "Wilg", "Haver", "Rog", "Vlas", "Kool", "Hulst", "Stok",
    "Smed", "Hamer", "Spijk", "Til", "Wiel", "Zwart", "Wit",
)  # fmt: skip
_SUFFIXES = (
    "man", "mans", "ink", "ing", "sma", "stra", "inga", "ema", "kamp", "veld", "berg",
    "huis", "hof", "dijk", "beek", "laar", "wijk", "horst", "broek", "sen", "ers", "kes",
    "ens", "ijzer", "meijer", "boom", "land", "mond", "stein", "bosch",
)  # fmt: skip
_TAIL_PREFIXES = (
    ("van", 35), ("de", 25), ("van der", 15), ("van den", 10), ("van de", 8), ("ter", 3),
    ("in 't", 2), ("den", 2),
)  # fmt: skip


@dataclass(frozen=True)
class Given:
    name: str
    folded: str
    mail: str


@dataclass(frozen=True)
class Family:
    prefix: str | None
    name: str
    folded: str  # fold("prefix family"), as client_search_text would write it
    mail: str


def mail_part(text: str) -> str:
    """An e-mail local part: ASCII letters only ("Meulen-Özdemir" -> "meulenozdemir")."""
    decomposed = unicodedata.normalize("NFKD", text.replace("ı", "i"))
    return re.sub(r"[^a-z]", "", decomposed.encode("ascii", "ignore").decode().lower())


def _family(prefix: str | None, name: str) -> Family:
    full = f"{prefix} {name}" if prefix else name
    return Family(prefix=prefix, name=name, folded=fold(full), mail=mail_part(full))


def _tail_names(rng: random.Random) -> list[Family]:
    combos = [root + suffix for root in _ROOTS for suffix in _SUFFIXES]
    rng.shuffle(combos)
    common = {(p, n) for p, n, _ in COMMON_FAMILY}
    prefixes = [p for p, _ in _TAIL_PREFIXES]
    weights = [w for _, w in _TAIL_PREFIXES]
    tail: list[Family] = []
    seen: set[tuple[str | None, str]] = set()
    for combo in combos:
        prefix = rng.choices(prefixes, weights)[0] if rng.random() < 0.2 else None
        key = (prefix, combo)
        if key in common or key in seen:
            continue
        seen.add(key)
        tail.append(_family(prefix, combo))
    return tail


def _spread(items: Sequence[tuple[T, float]], slots: int) -> list[T]:
    """Each item repeated in proportion to its weight; exactly `slots` entries."""
    total = sum(w for _, w in items)
    out: list[T] = []
    cumulative = 0.0
    for item, weight in items:
        cumulative += weight
        out.extend([item] * (round(cumulative / total * slots) - len(out)))
    return out


def family_slots() -> list[Family]:
    """FAMILY_SLOTS entries: the common names by their real share, the tail by Zipf."""
    rng = random.Random(SEED)
    common = [(_family(p, n), count / POPULATION * FAMILY_SLOTS) for p, n, count in COMMON_FAMILY]
    tail_share = FAMILY_SLOTS - sum(w for _, w in common)
    tail = _tail_names(rng)
    zipf = [1 / (rank + ZIPF_OFFSET) for rank in range(len(tail))]
    scale = tail_share / sum(zipf)
    weighted_tail = [(f, z * scale) for f, z in zip(tail, zipf, strict=True)]
    return _spread([*common, *weighted_tail], FAMILY_SLOTS)


def given_slots() -> list[Given]:
    items = [(Given(name=n, folded=fold(n), mail=mail_part(n)), w) for n, w in GIVEN]
    return _spread(items, GIVEN_SLOTS)
