"""The 1:N face index (both tiers) and the face value objects it relies on: templates that
carry their model, thresholds with a review band, and pose from landmarks."""

from __future__ import annotations

import numpy as np
import pytest

from domain.faces import (
    Box,
    FaceTemplate,
    FaceThresholds,
    IncomparableTemplatesError,
    Landmarks,
    MatchDecision,
    Metric,
)
from inference.face_index import TieredFaceIndex

pytestmark = pytest.mark.unit
MODEL = "test-model-128"


def people(count: int, seed: int = 0, dim: int = 128) -> np.ndarray:
    """Unit vectors far apart from each other, as different people's embeddings are."""
    vectors = np.random.default_rng(seed).normal(size=(count, dim))
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def template(vector: np.ndarray, model: str = MODEL, metric: Metric = Metric.L2) -> FaceTemplate:
    return FaceTemplate(model, metric, tuple(float(v) for v in vector))


def another_photo_of(vector: np.ndarray, seed: int, spread: float = 0.03) -> np.ndarray:
    return vector + np.random.default_rng(seed).normal(scale=spread, size=vector.shape)


def filled(count: int, *, exact_limit: int, metric: Metric = Metric.L2
           ) -> tuple[TieredFaceIndex, np.ndarray]:
    vectors = people(count)
    index = TieredFaceIndex(MODEL, metric, exact_limit=exact_limit)
    index.rebuild((f"person-{i}", template(v, metric=metric)) for i, v in enumerate(vectors))
    return index, vectors


TIERS = pytest.mark.parametrize("exact_limit", [10_000, 300], ids=["exact", "ivf"])


@TIERS
def test_another_photo_of_an_enrolled_person_finds_that_person_first(exact_limit: int):
    index, vectors = filled(1_000, exact_limit=exact_limit)
    assert index.approximate == (exact_limit < 1_000)
    for person in (0, 17, 999):
        matches = index.search(template(another_photo_of(vectors[person], person)), k=3)
        assert matches[0].subject_id == f"person-{person}"
        assert matches[0].distance < 0.5 < matches[1].distance
        assert [m.distance for m in matches] == sorted(m.distance for m in matches)


@TIERS
def test_an_erased_identity_is_never_returned_again(exact_limit: int):
    index, vectors = filled(1_000, exact_limit=exact_limit)
    assert index.remove("person-5") is True
    assert "person-5" not in index and len(index) == 999
    matches = index.search(template(vectors[5]), k=10)
    assert all(m.subject_id != "person-5" for m in matches)
    assert index.remove("person-5") is False


@TIERS
def test_removing_one_identity_keeps_every_other_identity_findable(exact_limit: int):
    index, vectors = filled(600, exact_limit=exact_limit)
    for gone in (0, 599, 300):
        index.remove(f"person-{gone}")
    for person in (1, 298, 299, 301, 598):
        assert index.search(template(vectors[person]), k=1)[0].subject_id == f"person-{person}"


@TIERS
def test_enrolling_again_replaces_the_previous_template(exact_limit: int):
    index, vectors = filled(500, exact_limit=exact_limit)
    index.add("person-3", template(vectors[400]))
    assert len(index) == 500
    nearest = index.search(template(vectors[400]), k=2)
    assert {m.subject_id for m in nearest} == {"person-3", "person-400"}
    assert index.search(template(vectors[3]), k=1)[0].subject_id != "person-3"


def test_the_index_switches_to_ivf_when_it_outgrows_the_exact_limit():
    index, vectors = filled(300, exact_limit=400)
    assert not index.approximate
    for i, vector in enumerate(people(200, seed=9)):
        index.add(f"late-{i}", template(vector))
    assert index.approximate
    assert index.search(template(vectors[42]), k=1)[0].subject_id == "person-42"


def test_search_within_a_distance_leaves_strangers_out():
    index, vectors = filled(100, exact_limit=1_000)
    stranger = people(1, seed=99)[0]
    assert index.search(template(stranger), k=5, max_distance=0.6) == []
    assert [m.subject_id for m in index.search(template(vectors[7]), max_distance=0.6)] \
        == ["person-7"]


def test_a_template_of_another_model_is_refused_by_the_index():
    index, vectors = filled(10, exact_limit=1_000)
    with pytest.raises(IncomparableTemplatesError):
        index.search(template(vectors[0], model="other-model"))
    with pytest.raises(IncomparableTemplatesError):
        index.add("someone", template(vectors[0], metric=Metric.COSINE))


def test_cosine_index_reports_cosine_distances_whatever_the_vector_scale():
    index, vectors = filled(50, exact_limit=1_000, metric=Metric.COSINE)
    query = template(vectors[4] * 37.0, metric=Metric.COSINE)
    best = index.search(query, k=1)[0]
    assert best.subject_id == "person-4" and best.distance == pytest.approx(0.0, abs=1e-5)


def test_an_empty_index_finds_nobody():
    index = TieredFaceIndex(MODEL, Metric.L2)
    assert index.search(template(people(1)[0])) == []


def test_templates_of_different_models_are_never_compared():
    vector = people(1)[0]
    with pytest.raises(IncomparableTemplatesError):
        template(vector).distance(template(vector, model="insightface:w600k_r50"))


def test_a_template_survives_serialisation_with_its_model_and_metric():
    original = template(people(1)[0], metric=Metric.COSINE)
    restored = FaceTemplate.from_bytes(original.to_bytes())
    assert (restored.model_id, restored.metric) == (MODEL, Metric.COSINE)
    assert restored.distance(original) == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError):
        FaceTemplate.from_bytes(original.to_bytes()[:-1])


def test_the_mean_of_several_photos_is_closer_to_the_person_than_most_photos():
    person = people(1)[0]
    photos = [template(another_photo_of(person, seed, spread=0.05)) for seed in range(8)]
    mean = FaceTemplate.mean(photos)
    assert mean.distance(template(person)) < min(p.distance(template(person)) for p in photos)


def test_thresholds_put_near_misses_in_the_review_band():
    thresholds = FaceThresholds(MODEL, match=0.6, review=0.68)
    assert thresholds.decide(0.45) is MatchDecision.MATCH
    assert thresholds.decide(0.6) is MatchDecision.MATCH
    assert thresholds.decide(0.65) is MatchDecision.REVIEW
    assert thresholds.decide(0.7) is MatchDecision.NO_MATCH
    with pytest.raises(ValueError):
        FaceThresholds(MODEL, match=0.7, review=0.6)


def test_yaw_and_pitch_follow_the_nose_whatever_the_roll_and_scale():
    def face(nose_dx: float, nose_dy: float, angle: float, scale: float) -> Landmarks:
        c, s = np.cos(angle), np.sin(angle)

        def at(x: float, y: float) -> tuple[float, float]:
            return (100 + scale * (c * x - s * y), 100 + scale * (s * x + c * y))

        return Landmarks((), eye_left=at(-1, 0), eye_right=at(1, 0), nose=at(nose_dx, nose_dy))

    frontal = face(0.0, 0.8, angle=0.3, scale=20)
    turned = face(0.6, 0.8, angle=-0.2, scale=45)
    assert frontal.yaw == pytest.approx(0.0, abs=1e-9)
    assert turned.yaw == pytest.approx(0.3)
    assert frontal.pitch == pytest.approx(turned.pitch) == pytest.approx(0.4)


def test_box_overlap_is_one_for_the_same_box_and_zero_for_disjoint_ones():
    box = Box(10, 10, 50, 50)
    assert box.iou(box) == 1.0
    assert box.iou(Box(60, 60, 80, 80)) == 0.0
    assert box.size == 40
