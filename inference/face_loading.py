"""The embedded face analyzer as the composition root builds it: dlib, loaded on first use,
or an unconfigured stand-in (which makes every face check fail closed) if it cannot load."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

from domain.faces import (
    DetectedFace,
    FaceAnalyzer,
    FaceModelUnavailableError,
    FaceTemplate,
    FaceThresholds,
    FrameImage,
    Metric,
    UnconfiguredFaceAnalyzer,
)

log = logging.getLogger(__name__)


class LazyFaceAnalyzer:
    """A `FaceAnalyzer` whose model loads at the first call that needs it.

    Why: every process and every test builds the container, but only the worker analyses
    faces, and loading dlib's weights takes about half a second. The model's identity
    (`model_id`, `metric`, `thresholds`) is known without loading, so a face index of that
    model can be built at start. A model that fails to load is replaced, once and for
    good, by an `UnconfiguredFaceAnalyzer` carrying the reason."""

    def __init__(self, load: Callable[[], FaceAnalyzer], model_id: str, metric: Metric,
                 thresholds: FaceThresholds) -> None:
        self._load = load
        self.model_id = model_id
        self.metric = metric
        self.thresholds = thresholds
        self._loaded: FaceAnalyzer | None = None
        self._lock = threading.Lock()

    def _analyzer(self) -> FaceAnalyzer:
        with self._lock:
            if self._loaded is None:
                try:
                    self._loaded = self._load()
                except (FaceModelUnavailableError, ImportError, OSError, RuntimeError) as exc:
                    log.error("the face model %s is not available: %s", self.model_id, exc)
                    self._loaded = UnconfiguredFaceAnalyzer(str(exc), self.model_id,
                                                            self.metric)
            return self._loaded

    @property
    def configured(self) -> bool:
        return self._analyzer().configured

    def detect(self, image: FrameImage, min_face_px: int | None = None) -> list[DetectedFace]:
        return self._analyzer().detect(image, min_face_px)

    def embed(self, image: FrameImage, faces: Sequence[DetectedFace]) -> list[FaceTemplate]:
        return self._analyzer().embed(image, faces)


def embedded_face_analyzer() -> LazyFaceAnalyzer:
    """dlib with the CC0 weights of `face-recognition-models`, loaded on first use."""
    from inference.faces_dlib import DLIB_THRESHOLDS, MODEL_ID

    def load() -> FaceAnalyzer:
        from inference.faces_dlib import DlibFaceAnalyzer

        return DlibFaceAnalyzer()

    return LazyFaceAnalyzer(load, MODEL_ID, Metric.L2, DLIB_THRESHOLDS)
