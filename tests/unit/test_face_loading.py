"""The embedded face analyzer loads on first use, once, and a model that cannot load turns
every face check into *not configured* instead of an answer."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from domain.faces import (
    DetectedFace,
    FaceAnalyzer,
    FaceAnalyzerNotConfiguredError,
    FaceModelUnavailableError,
    FaceTemplate,
    FaceThresholds,
    FrameImage,
    Metric,
)
from inference.face_loading import LazyFaceAnalyzer

pytestmark = pytest.mark.unit
THRESHOLDS = FaceThresholds("m1", match=0.6, review=0.68)


class FakeFaceAnalyzer:
    model_id = "m1"
    metric = Metric.L2
    configured = True
    thresholds = THRESHOLDS

    def detect(self, image: FrameImage, min_face_px: int | None = None) -> list[DetectedFace]:
        return []

    def embed(self, image: FrameImage, faces: Sequence[DetectedFace]) -> list[FaceTemplate]:
        return []


def test_the_model_loads_at_the_first_call_that_needs_it_and_only_once():
    loads: list[int] = []

    def load() -> FaceAnalyzer:
        loads.append(1)
        return FakeFaceAnalyzer()

    lazy = LazyFaceAnalyzer(load, "m1", Metric.L2, THRESHOLDS)
    assert (lazy.model_id, lazy.metric, lazy.thresholds) == ("m1", Metric.L2, THRESHOLDS)
    assert loads == [], "knowing the model costs no loading"
    image = np.zeros((8, 8, 3), np.uint8)
    assert lazy.detect(image) == [] and lazy.embed(image, []) == []
    assert lazy.configured and loads == [1]


def test_a_model_that_cannot_load_answers_not_configured_for_good():
    def load() -> FaceAnalyzer:
        raise FaceModelUnavailableError("the weights folder is empty")

    lazy = LazyFaceAnalyzer(load, "m1", Metric.L2, THRESHOLDS)
    assert not lazy.configured
    with pytest.raises(FaceAnalyzerNotConfiguredError, match="weights folder is empty"):
        lazy.detect(np.zeros((8, 8, 3), np.uint8))
