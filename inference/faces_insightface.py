"""The production face analyzer: an insightface model pack (SCRFD detector with 5 keypoints,
ArcFace recogniser) loaded from a configured local folder, on CUDA when available.

Packs (each unpacked into its own folder, e.g. /srv/models/insightface/buffalo_l/):
`buffalo_l` (det_10g.onnx + w600k_r50.onnx, the reference), `buffalo_m`, `buffalo_s`
(smaller and faster, lower accuracy), or the manifest-based `raccoon_*` packs. Only the
detector and the recogniser are used; the other files of a pack are ignored. Licence: the
insightface code is MIT, but its published model packs are for NON-COMMERCIAL RESEARCH
ONLY; commercial use needs a licence from the insightface team or a recogniser trained on
data that allows it. Nothing is ever downloaded here: a missing or incomplete folder stops
start-up with `FaceModelUnavailableError`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime

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

# Cosine distances (1 - similarity) of the ArcFace recognisers of the buffalo packs. A
# similarity of 0.4 is a common operating point for w600k_r50 at a very low false accept
# rate; 0.28-0.4 goes to review. Not measured here (no pack may be installed on these
# machines): calibrate with benchmarks/faces_accuracy.py before production use.
ARCFACE_MATCH = 0.60
ARCFACE_REVIEW = 0.72
ARCFACE_MIN_FACE_PX = 32


def execution_providers(available: Sequence[str] | None = None) -> list[str]:
    """CUDA first when this onnxruntime build offers it, CPU always as the fallback."""
    offered = list(onnxruntime.get_available_providers() if available is None else available)
    chosen = [p for p in ("CUDAExecutionProvider",) if p in offered]
    return [*chosen, "CPUExecutionProvider"]


class InsightFaceAnalyzer:
    """Face analysis with insightface 2.x models run by onnxruntime.

    Why insightface: ArcFace recognisers are far more accurate than dlib's ResNet on pose,
    age and low resolution, and SCRFD finds small faces on a GPU at video rates. The models
    are loaded one by one through `insightface.model_zoo.get_model` (which routes an ONNX
    file to detector or recogniser by its input and output shapes) rather than through
    `FaceAnalysis`, which would try to download a pack when the folder is wrong and fails
    with a bare assertion when the detector is missing.
    """

    metric = Metric.COSINE
    configured = True

    def __init__(self, pack_dir: Path | str, *, det_size: tuple[int, int] = (640, 640),
                 det_thresh: float = 0.5, thresholds: FaceThresholds | None = None,
                 providers: Sequence[str] | None = None) -> None:
        folder = Path(pack_dir).expanduser()
        if not folder.is_dir():
            raise FaceModelUnavailableError(
                f"insightface model pack folder {folder} does not exist: unpack a pack such "
                "as buffalo_l there (see inference/faces_insightface.py); nothing is "
                "downloaded automatically")
        self.providers = list(providers) if providers is not None else execution_providers()
        detector, recogniser, recogniser_file = _load_pack(folder, self.providers)
        if not getattr(detector, "use_kps", False):
            raise FaceModelUnavailableError(
                f"the detector in {folder} gives no keypoints, which face alignment needs")
        detector.prepare(0, input_size=det_size, det_thresh=det_thresh)
        recogniser.prepare(0)
        self._detector = detector
        self._recogniser = recogniser
        digest = hashlib.sha256(recogniser_file.read_bytes()).hexdigest()[:12]
        # The id names the exact weights: templates from another file are another space.
        self.model_id = f"insightface:{recogniser_file.stem}:{digest}"
        self.thresholds = thresholds or FaceThresholds(
            self.model_id, ARCFACE_MATCH, ARCFACE_REVIEW, ARCFACE_MIN_FACE_PX)
        if self.thresholds.model_id != self.model_id:
            raise ValueError(f"thresholds are for {self.thresholds.model_id}, "
                             f"not {self.model_id}")

    @property
    def active_providers(self) -> list[str]:
        """The providers onnxruntime actually runs the recogniser on."""
        return list(self._recogniser.session.get_providers())

    def detect(self, image: FrameImage, min_face_px: int | None = None) -> list[DetectedFace]:
        rgb = as_rgb(image)
        smallest = min_face_px if min_face_px is not None else self.thresholds.min_face_px
        # insightface takes OpenCV's BGR order.
        bboxes, keypoints = self._detector.detect(np.ascontiguousarray(rgb[:, :, ::-1]))
        faces = []
        for row, points in zip(bboxes, keypoints, strict=True):
            box = Box(float(row[0]), float(row[1]), float(row[2]), float(row[3]))
            if box.size < smallest:
                continue
            pts = tuple((float(x), float(y)) for x, y in points)
            # SCRFD's keypoints: eye, eye, nose, mouth, mouth, each pair image-left first.
            marks = Landmarks(pts, eye_left=pts[0], eye_right=pts[1], nose=pts[2])
            faces.append(DetectedFace(box, marks, float(row[4]), face_sharpness(rgb, box)))
        faces.sort(key=lambda face: face.size, reverse=True)
        return faces

    def embed(self, image: FrameImage, faces: Sequence[DetectedFace]) -> list[FaceTemplate]:
        if not faces:
            return []
        from insightface.utils import face_align

        bgr = np.ascontiguousarray(as_rgb(image)[:, :, ::-1])
        side = int(self._recogniser.input_size[0])
        crops = [face_align.norm_crop(bgr, np.asarray(face.landmarks.points[:5],
                                                      dtype=np.float32), image_size=side)
                 for face in faces]
        features = np.asarray(self._recogniser.get_feat(crops), dtype=np.float32)
        features /= np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-12)
        return [FaceTemplate(self.model_id, self.metric, tuple(float(v) for v in feature))
                for feature in features]


def _load_pack(folder: Path, providers: list[str]) -> tuple[Any, Any, Path]:
    from insightface.model_zoo import model_zoo
    from insightface.model_zoo.package_manifest import has_model_package_manifest

    if has_model_package_manifest(str(folder)):
        try:
            detector = model_zoo.get_model(str(folder), model_task="detection",
                                           providers=providers, download=False)
            recogniser = model_zoo.get_model(str(folder), model_task="recognition",
                                             providers=providers, download=False)
        except (KeyError, ValueError, RuntimeError, OSError, AssertionError) as exc:
            raise FaceModelUnavailableError(
                f"insightface model pack {folder} is incomplete: {exc}") from exc
        return detector, recogniser, Path(recogniser.model_file)
    found: dict[str, tuple[Any, Path]] = {}
    files = sorted(folder.glob("*.onnx"))
    for path in files:
        try:
            model = model_zoo.get_model(str(path), providers=providers, download=False)
        except Exception as exc:  # onnxruntime raises several unrelated types
            raise FaceModelUnavailableError(
                f"{path} is not a loadable ONNX model: {exc}") from exc
        task = getattr(model, "taskname", None)
        if task in ("detection", "recognition") and task not in found:
            found[task] = (model, path)
    missing = [task for task in ("detection", "recognition") if task not in found]
    if missing:
        names = ", ".join(p.name for p in files) or "no .onnx files"
        raise FaceModelUnavailableError(
            f"insightface model pack {folder} is incomplete: no {' or '.join(missing)} "
            f"model among {names} (a pack needs an SCRFD detector and an ArcFace "
            "recogniser, e.g. det_10g.onnx and w600k_r50.onnx from buffalo_l)")
    return found["detection"][0], found["recognition"][0], found["recognition"][1]
