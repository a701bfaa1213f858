"""Search folding: what a person types must find the name as the record spells it."""

from __future__ import annotations

import pytest

from arkinctl.textnorm import fold


@pytest.mark.parametrize(
    ("stored", "typed"),
    [
        ("Zoë van der Meulen-Özdemir", "zoe van der meulen-ozdemir"),
        ("Yılmaz", "yilmaz"),
        ("Søren Østergaard", "soren ostergaard"),
        ("Łukasz Wałęsa", "lukasz walesa"),
        ("Đorđević", "dordevic"),
        ("Ægidius", "aegidius"),
        ("Groß", "gross"),
        ("  Jan   JANSEN ", "jan jansen"),
    ],
)
def test_fold_finds_the_name_as_typed(stored: str, typed: str) -> None:
    assert fold(stored) == fold(typed) == typed


def test_fold_of_nothing() -> None:
    assert fold(None) == "" and fold("") == ""
