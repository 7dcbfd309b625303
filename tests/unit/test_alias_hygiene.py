"""Catalogue hygiene: everyday words and too-short names are refused as aliases, with a
reason; the same words with context are accepted."""

from __future__ import annotations

import pytest

from domain.alias_policy import COMMON_WORD, TOO_SHORT
from inference.alias_hygiene import WordfreqAliasPolicy

pytestmark = pytest.mark.unit
POLICY = WordfreqAliasPolicy()


@pytest.mark.parametrize("alias", ["Max", "Ace", "Star", "The Star", "STAR!", "Frost"])
def test_an_everyday_word_alone_is_refused_as_too_generic(alias: str):
    refusal = POLICY.judge(alias)
    assert refusal is not None and refusal.kind == COMMON_WORD
    assert "context" in refusal.reason and refusal.alias == alias


@pytest.mark.parametrize("alias", ["Xy", "a.b", "Q"])
def test_a_name_with_too_few_letters_is_refused_as_too_short(alias: str):
    refusal = POLICY.judge(alias)
    assert refusal is not None and refusal.kind == TOO_SHORT


@pytest.mark.parametrize("alias", ["Max the Mammoth", "Ace Ventura", "Star Voyager",
                                   "Pikachu", "Glimmerfox", "Captain Marlowe", "Zorblax"])
def test_a_distinctive_name_or_a_common_word_with_context_is_accepted(alias: str):
    assert POLICY.judge(alias) is None


def test_refusals_name_only_the_generic_aliases_in_order():
    refused = POLICY.refusals(("Maxwell the Mammoth", "Max", "Mammoth Max", "Ace"))
    assert [r.alias for r in refused] == ["Max", "Ace"]
