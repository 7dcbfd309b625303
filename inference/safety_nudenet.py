"""The "sexual" safety category by NudeNet's detector (320n.onnx inside the nudenet 3.4.2
wheel, SHA-256 pinned). An optional extra (`pip install .[nudity]`): its metadata says MIT
while the wheel's LICENSE file is AGPL-3.0; see the README."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from domain.media_scan import Frames, SafetyDecision, SafetyReport
from inference.pinned import pinned_file

__all__ = ["EXPOSED_CLASSES", "NudeNetSafetyClassifier"]

NUDENET_VERSION = "3.4.2"
NUDENET_SHA256 = "c15d8273adad2d0a92f014cc69ab2d6c311a06777a55545f2c4eb46f51911f0f"
EXPOSED_CLASSES = frozenset({"FEMALE_GENITALIA_EXPOSED", "MALE_GENITALIA_EXPOSED",
                             "FEMALE_BREAST_EXPOSED", "BUTTOCKS_EXPOSED", "ANUS_EXPOSED"})


@dataclass(frozen=True)
class NudityThresholds:
    """Detector confidence of an exposed body part in any sampled frame. Not measured
    here (no labelled images can be made on this machine): the review mark is low on
    purpose, so that uncertain frames reach a person."""

    review: float = 0.3
    block: float = 0.7


class NudeNetSafetyClassifier:
    """`CategorySafetyClassifier` for "sexual": the highest exposed-part score over the
    frames (frames are RGB; NudeNet reads OpenCV's BGR)."""

    categories = ("sexual",)
    configured = True

    def __init__(self, thresholds: NudityThresholds | None = None) -> None:
        path = pinned_file("nudenet", NUDENET_VERSION, "nudenet", "320n.onnx",
                           NUDENET_SHA256)
        from nudenet import NudeDetector

        self._detector: Any = NudeDetector(model_path=str(path))
        self.thresholds = thresholds or NudityThresholds()
        self.model_id = f"nudenet-{NUDENET_VERSION}@sha256:{NUDENET_SHA256[:12]}"
        self._lock = threading.Lock()

    def scan(self, frames: Frames) -> SafetyReport:
        images = [np.asarray(frame) for _, frame in frames]
        if not images:
            return SafetyReport((), SafetyDecision.REVIEW, True, self.model_id,
                                "no frames to classify")
        score = 0.0
        with self._lock:
            for image in images:
                bgr = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2BGR)
                for found in self._detector.detect(bgr):
                    if found["class"] in EXPOSED_CLASSES:
                        score = max(score, float(found["score"]))
        t = self.thresholds
        decision = (SafetyDecision.BLOCK if score >= t.block else
                    SafetyDecision.REVIEW if score >= t.review else SafetyDecision.ALLOW)
        return SafetyReport((("sexual", score),), decision, True, self.model_id)
