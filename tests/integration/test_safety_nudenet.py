"""The optional NudeNet model (extra `nudity`) behind the composite: it runs on frames and
covers only "sexual", so every other category still holds the video for review. Its
accuracy is not measured here: no labelled images of nudity are made on this machine."""

from __future__ import annotations

import numpy as np
import pytest

from domain.media_scan import SafetyDecision
from inference.safety_composite import embedded_safety
from tests import face_media

pytestmark = pytest.mark.integration


def test_the_nudity_model_runs_on_an_ordinary_photo_and_the_rest_stays_in_review():
    pytest.importorskip("nudenet", reason="the optional extra `nudity` is not installed")
    composite = embedded_safety()
    photo = face_media.astronaut()
    report = composite.scan([(0.0, photo), (0.5, np.zeros_like(photo))])
    labels = dict(report.labels)
    assert report.configured and "nudenet-3.4.2" in report.model_id
    assert labels["sexual"] < 0.3, "an astronaut in a space suit"
    assert report.decision is SafetyDecision.REVIEW and "violence" in report.reason
