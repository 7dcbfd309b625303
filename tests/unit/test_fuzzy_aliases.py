"""Misspelt work names: unknown words are corrected to the nearest alias word, real words
never are, and the hit points back at the misspelt words of the original prompt."""

from __future__ import annotations

from uuid import uuid4

import pytest

from inference.fuzzy_aliases import FuzzyAliasMatcher

pytestmark = pytest.mark.unit
MARLOWE, GORGON, VANTA = uuid4(), uuid4(), uuid4()


@pytest.fixture(scope="module")
def matcher() -> FuzzyAliasMatcher:
    fuzzy = FuzzyAliasMatcher()
    fuzzy.add(MARLOWE, ("Captain Marlowe", "Marlowe the Red"))
    fuzzy.add(GORGON, ("Gorgonzilla",))
    fuzzy.add(VANTA, ("Vantablade",))
    return fuzzy


@pytest.mark.parametrize("prompt,span,decision", [
    ("captian marlowe on a ship", "captian marlowe", "match"),
    # "marlow" is a rare real word (a surname, a town): corrected, but a person decides.
    ("a portrait of Kaptain Marlow", "Kaptain Marlow", "review"),
    ("vanta blayde on a roof", "vanta blayde", "match"),
    ("gorgonzeela stomping", "gorgonzeela", "match"),
])
def test_a_misspelt_alias_is_found_with_its_span_in_the_original_prompt(
        matcher: FuzzyAliasMatcher, prompt: str, span: str, decision: str):
    hits = matcher.find(prompt)
    assert len(hits) == 1 and hits[0].method == "fuzzy" and hits[0].decision == decision
    assert prompt[hits[0].start:hits[0].end] == span
    assert 0.7 < hits[0].score < 1.0 and hits[0].model_id.startswith("wordfreq")


def test_a_correction_by_sound_alone_asks_for_review():
    fuzzy = FuzzyAliasMatcher()
    fuzzy.add(GORGON, ("Glimmerfox",))
    [hit] = fuzzy.find("glimerfocks at night")
    assert hit.decision == "review" and hit.alias == "Glimmerfox"


@pytest.mark.parametrize("prompt", [
    "a captain and a sailor", "gorgonzola cheese is not the monster", "Captain Marlowe",
    "a marlin leaping", "the vantage point",
])
def test_real_words_and_exact_names_are_not_fuzzy_hits(matcher: FuzzyAliasMatcher,
                                                       prompt: str):
    hits = [h for h in matcher.find(prompt) if h.decision == "match"]
    assert hits == [], "exact names are the automaton's; real words are never corrected"


def test_a_rare_real_word_near_an_alias_is_only_a_review(matcher: FuzzyAliasMatcher):
    hits = matcher.find("gorgonzola on a cracker")
    assert [h.decision for h in hits] in ([], ["review"])


def test_a_removed_work_is_no_longer_found():
    fuzzy = FuzzyAliasMatcher()
    fuzzy.add(VANTA, ("Vantablade",))
    assert fuzzy.find("vantablaid")
    fuzzy.remove(VANTA)
    assert fuzzy.find("vantablaid") == []


def test_bulk_load_replaces_what_was_there():
    fuzzy = FuzzyAliasMatcher()
    fuzzy.add(VANTA, ("Vantablade",))
    fuzzy.bulk_load([(GORGON, ("Gorgonzilla",))])
    assert fuzzy.find("vantablaid") == []
    assert [h.work_id for h in fuzzy.find("gorgonzeela")] == [GORGON]
