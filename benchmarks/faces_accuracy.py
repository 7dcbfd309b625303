"""False accept and false reject rates of the face analyzer at its configured thresholds, on
a folder of real photos and on H.264-degraded copies, beside dlib used the plain way (its
upsampling detector, first face, 0.6) on the same photos in the same run.

    python -m benchmarks.faces_accuracy --faces ../shared/data/faces [--crf 35]

Photos are `<person>/<photo>` (any depth) or `<person>__<n>.<ext>`; loose files in the root
(group photos) are skipped. Photos over 1024 px are first shrunk to 1024, as uploads are.
"""

from __future__ import annotations

import argparse
import io
import re
import time
from collections.abc import Callable
from fractions import Fraction
from itertools import combinations
from pathlib import Path

import av
import cv2
import numpy as np

from benchmarks._common import mean, table
from domain.faces import FaceTemplate, FaceThresholds, Metric
from inference.faces_dlib import (
    LANDMARKS_FILE,
    MODEL_ID,
    RECOGNISER_FILE,
    DlibFaceAnalyzer,
    installed_model_dir,
)

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}
MAX_SIDE = 1024
Embedder = Callable[[np.ndarray], FaceTemplate | None]


def photos(root: Path) -> list[tuple[str, Path]]:
    found = []
    for path in sorted(root.rglob("*")):
        if path.suffix.lower() not in IMAGE_SUFFIXES or not path.is_file():
            continue
        named = re.match(r"(.+?)__[^/]+$", path.stem + path.suffix)
        if named:
            found.append((f"{path.parent.name}/{named.group(1)}", path))
        elif path.parent != root:
            found.append((str(path.parent.relative_to(root)), path))
    return found


def load(path: Path) -> np.ndarray:
    raw = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if raw is None:
        raise ValueError(f"{path} is not a readable image")
    image = cv2.cvtColor(raw, cv2.COLOR_BGR2RGB)
    scale = MAX_SIDE / max(image.shape[:2])
    if scale < 1:
        size = (round(image.shape[1] * scale), round(image.shape[0] * scale))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(image)


def h264(image: np.ndarray, crf: int) -> np.ndarray:
    """The last of six identical frames after an H.264 round trip (a predicted frame)."""
    height, width = image.shape[0] & ~1, image.shape[1] & ~1
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=Fraction(6))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"crf": str(crf), "preset": "medium"}
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image[:height, :width]),
                                           format="rgb24")
        for _ in range(6):
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    with av.open(io.BytesIO(buffer.getvalue()), mode="r") as back:
        frames = [f.to_ndarray(format="rgb24") for f in back.decode(video=0)]
    return np.ascontiguousarray(frames[-1])


def ours(analyzer: DlibFaceAnalyzer) -> Embedder:
    def embed(image: np.ndarray) -> FaceTemplate | None:
        faces = analyzer.detect(image)
        return analyzer.embed(image, faces[:1])[0] if faces else None
    return embed


def plain_dlib() -> Embedder:
    """dlib as its examples use it: detector upsampling once, the first face found."""
    import dlib

    folder = installed_model_dir()
    detector = dlib.get_frontal_face_detector()
    landmarks = dlib.shape_predictor(str(folder / LANDMARKS_FILE))
    recogniser = dlib.face_recognition_model_v1(str(folder / RECOGNISER_FILE))

    def embed(image: np.ndarray) -> FaceTemplate | None:
        rects = detector(image, 1)
        if not rects:
            return None
        vector = recogniser.compute_face_descriptor(image, landmarks(image, rects[0]))
        return FaceTemplate(MODEL_ID, Metric.L2, tuple(float(v) for v in vector))
    return embed


def rates(people: list[str], gallery: list[FaceTemplate | None],
          probes: list[FaceTemplate | None], thresholds: FaceThresholds) -> dict[str, float]:
    """Every unordered pair of photos; with degraded probes, each pair both ways round. A
    photo without a detected face rejects all its genuine pairs (it cannot match)."""
    genuine = impostor = false_accepts = false_rejects = review = 0
    worst_genuine, best_impostor = 0.0, 9.0
    same_set = probes is gallery
    for i, j in combinations(range(len(people)), 2):
        for a, b in ((i, j),) if same_set else ((i, j), (j, i)):
            probe, enrolled = probes[a], gallery[b]
            distance = probe.distance(enrolled) if probe and enrolled else None
            if people[a] == people[b]:
                genuine += 1
                if distance is None or distance > thresholds.match:
                    false_rejects += 1
                if distance is not None:
                    worst_genuine = max(worst_genuine, distance)
            else:
                impostor += 1
                if distance is not None and distance <= thresholds.match:
                    false_accepts += 1
                if distance is not None:
                    best_impostor = min(best_impostor, distance)
            if distance is not None and thresholds.match < distance <= thresholds.review:
                review += 1
    return {"genuine": genuine, "impostor": impostor,
            "far": false_accepts / max(1, impostor), "frr": false_rejects / max(1, genuine),
            "review": review / max(1, genuine + impostor),
            "max_genuine": worst_genuine, "min_impostor": best_impostor}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--faces", type=Path, required=True)
    parser.add_argument("--crf", type=int, default=35)
    args = parser.parse_args()
    listed = photos(args.faces)
    people = [person for person, _ in listed]
    images = [load(path) for _, path in listed]
    degraded = [h264(image, args.crf) for image in images]
    analyzer = DlibFaceAnalyzer()
    thresholds = analyzer.thresholds
    print(f"{len(images)} photos of {len(set(people))} people from {args.faces}; "
          f"thresholds match<={thresholds.match} review<={thresholds.review} "
          f"({thresholds.model_id})\n")

    results = {}
    for name, embedder in (("plain dlib (baseline)", plain_dlib()), ("DlibFaceAnalyzer",
                                                                      ours(analyzer))):
        started = time.perf_counter()
        clean = [embedder(image) for image in images]
        per_photo = (time.perf_counter() - started) / len(images)
        worse = [embedder(image) for image in degraded]
        results[name] = (rates(people, clean, clean, thresholds),
                         rates(people, clean, worse, thresholds),
                         sum(t is None for t in clean), sum(t is None for t in worse), per_photo)

    base = results["plain dlib (baseline)"]
    rows = []
    for name, (photo, crf, missed, missed_crf, per_photo) in results.items():
        for label, r, miss in (("photos", photo, missed), (f"H.264 CRF {args.crf}", crf,
                                                           missed_crf)):
            reference = base[0] if label == "photos" else base[1]
            rows.append([name, label, r["genuine"], r["impostor"], miss, f"{r['far']:.4f}",
                         f"{r['frr']:.4f}", _ratio(r["frr"], reference["frr"]),
                         f"{r['review']:.4f}", r["max_genuine"], r["min_impostor"],
                         per_photo * 1000])
    print(table(["embedder", "set", "genuine", "impostor", "no face", "FAR", "FRR",
                 "FRR/base", "review", "max same", "min diff", "ms/photo"], rows))
    photo, crf, missed, missed_crf, _ = results["DlibFaceAnalyzer"]
    print(f"\nmean genuine pairs per person: "
          f"{mean([people.count(p) * (people.count(p) - 1) / 2 for p in set(people)]):.1f}")
    print(f"RESULT far={photo['far']:.4f} frr={photo['frr']:.4f} "
          f"far_crf{args.crf}={crf['far']:.4f} frr_crf{args.crf}={crf['frr']:.4f} "
          f"review={photo['review']:.4f} no_face={missed} no_face_crf{args.crf}={missed_crf} "
          f"photos={len(images)} genuine_pairs={photo['genuine']} "
          f"impostor_pairs={photo['impostor']}")


def _ratio(value: float, reference: float) -> str:
    if reference == 0:
        return "=" if value == 0 else "inf"
    return f"{value / reference:.2f}"


if __name__ == "__main__":
    main()
