"""Behaviour of the keyword prompt classifier: strong and weak words, tolerant matching and
one label per category."""

from __future__ import annotations

import pytest

from domain.prompts import CATEGORIES, CategoryLabel
from inference.prompt_categories import (
    STRONG_KEYWORDS,
    WEAK_KEYWORDS,
    KeywordPromptClassifier,
)

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def classifier() -> KeywordPromptClassifier:
    return KeywordPromptClassifier()


def labels(classifier: KeywordPromptClassifier, prompt: str) -> dict[str, bool]:
    return {label.category: label.certain for label in classifier.classify(prompt)}


@pytest.mark.parametrize(
    "prompt",
    [
        "a golden retriever running on a beach at sunset, cinematic wide shot",
        "timelapse of clouds over mountains, ten seconds",
        "wide shot, her face lit by candles, his nose red from the cold",
        "a chef plating dessert in a busy kitchen",
        "the starting line of a bicycle race",
        "",
    ],
)
def test_clean_prompt_yields_no_labels(classifier: KeywordPromptClassifier, prompt: str) -> None:
    assert classifier.classify(prompt) == []


def test_strong_word_gives_a_certain_label(classifier: KeywordPromptClassifier) -> None:
    assert labels(classifier, "a man tries to murder his neighbour") == {"violence": True}


def test_weak_word_gives_an_uncertain_label(classifier: KeywordPromptClassifier) -> None:
    assert labels(classifier, "a couple kiss under the rain") == {"sexual": False}


def test_election_is_a_strong_political_word(classifier: KeywordPromptClassifier) -> None:
    assert labels(classifier, "crowds celebrate the election result") == {"political": True}


def test_strong_word_wins_over_weak_words_in_the_same_category(
    classifier: KeywordPromptClassifier,
) -> None:
    (label,) = classifier.classify("a gun fight that ends in a massacre")
    assert (label.category, label.certain) == ("violence", True)


def test_one_label_per_category_with_every_matched_word_as_evidence(
    classifier: KeywordPromptClassifier,
) -> None:
    result = classifier.classify("a gun, a knife and another gun")
    assert result == [CategoryLabel(category="violence", certain=False, evidence=("gun", "knife"))]


def test_evidence_is_the_text_as_written_in_the_prompt(
    classifier: KeywordPromptClassifier,
) -> None:
    (label,) = classifier.classify("they K1LLED him")
    assert label.evidence == ("K1LLED",)


def test_several_categories_are_reported_in_canonical_order(
    classifier: KeywordPromptClassifier,
) -> None:
    result = classifier.classify("a nude schoolgirl at a nazi rally")
    assert [label.category for label in result] == ["sexual", "political", "hate", "minors"]
    assert [label.certain for label in result] == [True, False, True, True]


@pytest.mark.parametrize("prompt", ["p0rn", "P O R N", "pórn", "porrrn", "P.O.R.N!"])
def test_evasive_spellings_are_caught(classifier: KeywordPromptClassifier, prompt: str) -> None:
    assert labels(classifier, prompt) == {"sexual": True}


def test_keyword_inside_another_word_does_not_count(
    classifier: KeywordPromptClassifier,
) -> None:
    assert classifier.classify("the skill of a sussex gunsmith at the warehouse") == []


@pytest.mark.parametrize("category", CATEGORIES)
def test_each_category_has_a_strong_word_that_classifies(
    classifier: KeywordPromptClassifier, category: str
) -> None:
    word = STRONG_KEYWORDS[category][0]
    assert labels(classifier, f"a video about {word} in a city") == {category: True}


@pytest.mark.parametrize("category", CATEGORIES)
def test_each_category_has_a_weak_word_that_asks_for_review(
    classifier: KeywordPromptClassifier, category: str
) -> None:
    word = WEAK_KEYWORDS[category][0]
    assert labels(classifier, f"a video about {word} in a city") == {category: False}


@pytest.mark.parametrize("category", CATEGORIES)
def test_keyword_lists_stay_short(category: str) -> None:
    assert 10 <= len(STRONG_KEYWORDS[category]) <= 30
    assert 5 <= len(WEAK_KEYWORDS[category]) <= 30


def test_custom_lists_replace_the_defaults() -> None:
    classifier = KeywordPromptClassifier(strong={"violence": ("duel",)}, weak={})
    assert labels(classifier, "a duel at dawn") == {"violence": True}
    assert labels(classifier, "a murder at dawn") == {}


def test_unknown_category_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown category"):
        KeywordPromptClassifier(strong={"gossip": ("rumour",)}, weak={})
