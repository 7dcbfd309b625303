"""Cameo instructions and content categories read by the real MiniLM model: a likely
conflict is sent to review with the instruction quoted, an unrelated prompt passes with
its score; a category that words alone miss is found, an ordinary prompt gets none."""

from __future__ import annotations

import pytest

from domain.prompts import InstructionChecker, PromptClassifier
from inference.instruction_checker import EmbeddingInstructionChecker, instruction_sentences
from inference.instructions import NotConfiguredInstructionChecker
from inference.prompt_categories import KeywordPromptClassifier
from inference.prompt_categories_model import EmbeddingPromptClassifier
from tests.text_models import minilm

pytestmark = pytest.mark.integration
BEA = "Please keep it friendly. Never show me eating meat."


def test_a_prompt_against_an_instruction_goes_to_review_with_that_instruction_quoted():
    verdict = EmbeddingInstructionChecker(minilm()).check("bea eats a huge steak", BEA)
    assert verdict.outcome == "review" and verdict.instruction == "Never show me eating meat"
    assert verdict.score is not None and verdict.model_id == minilm().model_id
    assert "Never show me eating meat" in verdict.reason


def test_an_unrelated_prompt_passes_with_its_score():
    verdict = EmbeddingInstructionChecker(minilm()).check("bea rides a bicycle", BEA)
    assert verdict.outcome == "pass" and verdict.score is not None and verdict.score < 0.25


def test_the_frame_of_an_instruction_is_not_what_is_compared():
    assert instruction_sentences("Don't put me in a swimsuit! No politics.") == [
        ("Don't put me in a swimsuit", "in a swimsuit"), ("No politics", "politics")]


@pytest.mark.parametrize("checker", [NotConfiguredInstructionChecker(), None])
def test_both_checkers_honour_the_port_and_only_a_configured_one_passes(
        checker: InstructionChecker | None):
    port: InstructionChecker = checker or EmbeddingInstructionChecker(minilm())
    verdict = port.check("bea rides a bicycle", BEA)
    assert verdict.outcome == ("pass" if port.configured else "review")


@pytest.fixture(scope="module")
def classifier() -> EmbeddingPromptClassifier:
    return EmbeddingPromptClassifier(minilm())


@pytest.mark.parametrize("prompt,category", [
    ("she slowly undresses for the camera", "sexual"),
    ("a boy on the roof ready to jump", "self_harm"),
    ("a classroom of fourth graders", "minors"),
])
def test_the_model_finds_categories_that_the_keywords_miss(
        classifier: EmbeddingPromptClassifier, prompt: str, category: str):
    assert category not in {lab.category for lab in KeywordPromptClassifier().classify(prompt)}
    labels = {lab.category: lab for lab in classifier.classify(prompt)}
    assert category in labels
    assert any(e.startswith(f"model {minilm().model_id}") for e in labels[category].evidence)


def test_a_keyword_label_stays_certain_and_keeps_its_evidence(
        classifier: EmbeddingPromptClassifier):
    labels = {lab.category: lab for lab in classifier.classify("a nude beach photo")}
    assert labels["sexual"].certain and "nude" in labels["sexual"].evidence


def test_an_ordinary_prompt_gets_no_category(classifier: EmbeddingPromptClassifier):
    port: PromptClassifier = classifier
    assert port.classify("a golden retriever running through a field") == []


def test_a_close_but_not_decisive_example_is_uncertain(classifier: EmbeddingPromptClassifier):
    labels = [lab for lab in classifier.classify("a boxer training with a heavy bag at dawn")
              if lab.category == "violence"]
    assert all(not lab.certain for lab in labels)
