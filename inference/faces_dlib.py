"""The embedded face analyzer: dlib's HOG detector, 5-point landmarks and 128-D ResNet
embeddings, with the CC0 weights shipped by the `face-recognition-models` package."""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Sequence
from pathlib import Path

import cv2
import dlib
import numpy as np

from domain.faces import (
    Box,
    DetectedFace,
    FaceModelUnavailableError,
    FaceTemplate,
    FaceThresholds,
    FrameImage,
    Landmarks,
    Metric,
)
from inference.face_quality import as_rgb, face_sharpness

MODEL_ID = "dlib-resnet-v1-128"
LANDMARKS_FILE = "shape_predictor_5_face_landmarks.dat"
RECOGNISER_FILE = "dlib_face_recognition_resnet_model_v1.dat"

# L2 distances of dlib's ResNet. 0.6 is dlib's own operating point; on these machines the
# same person stayed below 0.55 on clean photos while different people stayed above 0.66,
# and the same person rose to 0.58-0.68 in faces under ~60 px or after H.264 at CRF 35+.
# The review band covers that degraded same-person range (see benchmarks/faces_accuracy).
DLIB_THRESHOLDS = FaceThresholds(MODEL_ID, match=0.6, review=0.68, min_face_px=40)

# dlib's frontal HOG detector scans an 80x80 window: a face needs about that many pixels.
_HOG_WINDOW = 80
_MAX_DETECT_SCALE = 4.0


def installed_model_dir() -> Path:
    """The weights folder of the `face-recognition-models` package, located without
    importing it (its `__init__` needs `pkg_resources`, which recent setuptools dropped)."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise FaceModelUnavailableError(
            "the dlib face models are not installed: pip install face-recognition-models")
    return Path(next(iter(spec.submodule_search_locations))) / "models"


class DlibFaceAnalyzer:
    """Face analysis with dlib (`dlib-bin` wheel, no compiler needed).

    Why dlib: its weights are CC0 and ship inside a registry package, so the embedded
    deployment and the tests run real face recognition offline and for any use, which
    no ArcFace pack allows. The ResNet is weaker than ArcFace on hard poses and tiny
    faces, hence the review band. HOG detection finds frontal to half-profile faces; the
    image is rescaled so that the smallest face asked for fills HOG's 80 px window.
    """

    metric = Metric.L2
    configured = True

    def __init__(self, model_dir: Path | None = None, *,
                 thresholds: FaceThresholds = DLIB_THRESHOLDS,
                 padding: float = 0.25) -> None:
        folder = model_dir if model_dir is not None else installed_model_dir()
        missing = [name for name in (LANDMARKS_FILE, RECOGNISER_FILE)
                   if not (folder / name).is_file()]
        if missing:
            raise FaceModelUnavailableError(
                f"dlib face model folder {folder} lacks {', '.join(missing)}")
        if thresholds.model_id != MODEL_ID:
            raise ValueError(f"thresholds are for {thresholds.model_id}, not {MODEL_ID}")
        self.model_id = MODEL_ID
        self.thresholds = thresholds
        self._padding = padding
        self._detector = dlib.get_frontal_face_detector()
        self._landmarks = dlib.shape_predictor(str(folder / LANDMARKS_FILE))
        self._recogniser = dlib.face_recognition_model_v1(str(folder / RECOGNISER_FILE))

    def detect(self, image: FrameImage, min_face_px: int | None = None) -> list[DetectedFace]:
        rgb = as_rgb(image)
        smallest = max(8, min_face_px if min_face_px is not None
                       else self.thresholds.min_face_px)
        scale = min(_MAX_DETECT_SCALE, _HOG_WINDOW / smallest)
        # A lossless pyramid is not needed: shrinking a large image whose faces are all
        # large enough is the cheapest way to keep HOG's cost bounded at 720p and above.
        scaled = rgb if math.isclose(scale, 1.0) else cv2.resize(
            rgb, (round(rgb.shape[1] * scale), round(rgb.shape[0] * scale)),
            interpolation=cv2.INTER_LINEAR if scale > 1 else cv2.INTER_AREA)
        rects, scores, _ = self._detector.run(scaled, 0, 0.0)
        faces = []
        for rect, score in zip(rects, scores, strict=True):
            box = Box(rect.left() / scale, rect.top() / scale,
                      (rect.right() + 1) / scale, (rect.bottom() + 1) / scale)
            if box.size < smallest:
                continue
            # Landmarks on the original pixels: the rescaled copy would cost precision.
            shape = self._landmarks(rgb, _rectangle(box))
            faces.append(DetectedFace(box, _landmarks(shape), float(score),
                                      face_sharpness(rgb, box)))
        faces.sort(key=lambda face: face.size, reverse=True)
        return faces

    def embed(self, image: FrameImage, faces: Sequence[DetectedFace]) -> list[FaceTemplate]:
        if not faces:
            return []
        rgb = as_rgb(image)
        shapes = dlib.full_object_detections()
        for face in faces:
            points = dlib.points()
            for x, y in face.landmarks.points:
                points.append(dlib.point(round(x), round(y)))
            shapes.append(dlib.full_object_detection(_rectangle(face.box), points))
        vectors = self._recogniser.compute_face_descriptor(rgb, shapes, 0, self._padding)
        return [FaceTemplate(self.model_id, self.metric,
                             tuple(float(v) for v in np.asarray(vector, dtype=np.float32)))
                for vector in vectors]


def _rectangle(box: Box) -> dlib.rectangle:
    return dlib.rectangle(round(box.left), round(box.top),
                          round(box.right) - 1, round(box.bottom) - 1)


def _landmarks(shape: dlib.full_object_detection) -> Landmarks:
    # The 5-point model gives two corners per eye (0-1 on the image's right, 2-3 on its
    # left) and the base of the nose (4).
    points = tuple((float(p.x), float(p.y)) for p in shape.parts())
    right = ((points[0][0] + points[1][0]) / 2, (points[0][1] + points[1][1]) / 2)
    left = ((points[2][0] + points[3][0]) / 2, (points[2][1] + points[3][1]) / 2)
    return Landmarks(points, eye_left=left, eye_right=right, nose=points[4])
