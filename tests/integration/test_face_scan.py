"""Journey 3 with real faces: a generated H.264 clip shows a verified person whom the prompt
never named; the face scan follows each person as a track and tells who they are."""

from __future__ import annotations

import numpy as np
import pytest

from domain.faces import (
    FaceAnalyzerNotConfiguredError,
    FaceScanReport,
    FaceTemplate,
    FaceThresholds,
    TrackVerdict,
    UnconfiguredFaceAnalyzer,
)
from inference.face_index import TieredFaceIndex
from inference.face_scan import FaceScanService, ScanSettings
from inference.faces_dlib import MODEL_ID, DlibFaceAnalyzer
from tests import face_media

pytestmark = pytest.mark.integration

ASTRONAUT, HOPPER = "identity-astronaut", "identity-hopper"


@pytest.fixture(scope="module")
def analyzer() -> DlibFaceAnalyzer:
    return DlibFaceAnalyzer()


def enrol(analyzer: DlibFaceAnalyzer, photo: np.ndarray) -> FaceTemplate:
    """What verification would store: the template of the member's own photo."""
    return analyzer.embed(photo, analyzer.detect(photo)[:1])[0]


def head(analyzer: DlibFaceAnalyzer, photo: np.ndarray, which: int = 0,
         face_px: int = 80) -> np.ndarray:
    """A 192 px square around one face of the photo, scaled so the face is about 80 px."""
    face = analyzer.detect(photo)[which]
    scale = face_px / face.size
    scaled = face_media.downscale(photo, scale)
    cx = (face.box.left + face.box.right) / 2 * scale
    cy = (face.box.top + face.box.bottom) / 2 * scale
    half = int(face_px * 1.2)
    padded = np.pad(scaled, ((half, half), (half, half), (0, 0)), mode="edge")
    top, left = int(cy), int(cx)  # the padding shifts the centre by `half`
    return padded[top:top + 2 * half, left:left + 2 * half]


@pytest.fixture(scope="module")
def index(analyzer: DlibFaceAnalyzer) -> TieredFaceIndex:
    """Every verified member: the astronaut, Grace Hopper and five people of the group photo
    (the sixth stays unenrolled, as a stranger would be)."""
    enrolled = TieredFaceIndex(analyzer.model_id, analyzer.metric)
    enrolled.add(ASTRONAUT, enrol(analyzer, face_media.astronaut()))
    enrolled.add(HOPPER, enrol(analyzer, face_media.grace_hopper()))
    group = face_media.group_photo()
    for i, template in enumerate(analyzer.embed(group, analyzer.detect(group)[:5])):
        enrolled.add(f"identity-group-{i}", template)
    return enrolled


@pytest.fixture(scope="module")
def generated_clip(analyzer: DlibFaceAnalyzer) -> bytes:
    """Three seconds at 10 fps, 640x360, H.264 CRF 30: Grace Hopper on the left drifting
    right, the astronaut on the right, and for the last second also the unenrolled sixth
    person of the group photo between them."""
    hopper = head(analyzer, face_media.grace_hopper())
    astronaut = head(analyzer, face_media.astronaut())
    stranger = head(analyzer, face_media.group_photo(), which=5)
    frames = []
    for i in range(30):
        frame = face_media.on_canvas(hopper, left=10 + i, top=80)
        frame[80:272, 440:632] = astronaut
        if i >= 20:
            frame[80:272, 236:428] = stranger
        frames.append(frame)
    return face_media.clip(frames, fps=10, crf=30)


def scan(analyzer: DlibFaceAnalyzer, index: TieredFaceIndex, clip: bytes,
         cameos: dict[str, FaceTemplate]) -> FaceScanReport:
    return FaceScanService(analyzer, index, ScanSettings(sample_fps=2.0)).scan_video(clip, cameos)


def test_an_unconsented_verified_person_in_the_clip_is_caught(
        analyzer: DlibFaceAnalyzer, index: TieredFaceIndex, generated_clip: bytes):
    cameos = {HOPPER: enrol(analyzer, face_media.grace_hopper())}
    report = scan(analyzer, index, generated_clip, cameos)
    others = report.with_verdict(TrackVerdict.OTHER_IDENTITY)
    assert [t.best.subject_id for t in others if t.best] == [ASTRONAUT]
    caught = others[0]
    assert caught.frames >= 4 and caught.best is not None
    assert caught.best.distance <= analyzer.thresholds.match
    assert caught.best.frames_matching >= caught.frames - 1


def test_the_requested_cameo_face_matches_the_cameo(
        analyzer: DlibFaceAnalyzer, index: TieredFaceIndex, generated_clip: bytes):
    cameos = {HOPPER: enrol(analyzer, face_media.grace_hopper())}
    report = scan(analyzer, index, generated_clip, cameos)
    [cameo] = report.with_verdict(TrackVerdict.CAMEO)
    assert cameo.best is not None and cameo.best.subject_id == HOPPER and cameo.best.is_cameo
    assert cameo.frames == report.frames_sampled == 6, "one track across the moving face"


def test_a_face_that_matches_nobody_enrolled_is_allowed_as_unknown(
        analyzer: DlibFaceAnalyzer, index: TieredFaceIndex, generated_clip: bytes):
    report = scan(analyzer, index, generated_clip, {})
    [stranger] = report.with_verdict(TrackVerdict.UNKNOWN)
    assert stranger.first_seconds >= 1.9
    assert len(report.tracks) == 3


def test_a_person_erased_from_the_index_is_no_longer_recognised(
        analyzer: DlibFaceAnalyzer, generated_clip: bytes):
    index = TieredFaceIndex(analyzer.model_id, analyzer.metric)
    index.add(ASTRONAUT, enrol(analyzer, face_media.astronaut()))
    index.remove(ASTRONAUT)
    report = scan(analyzer, index, generated_clip, {})
    assert report.with_verdict(TrackVerdict.OTHER_IDENTITY) == ()


def test_a_match_inside_the_review_band_goes_to_a_person(
        analyzer: DlibFaceAnalyzer, index: TieredFaceIndex, generated_clip: bytes):
    strict = DlibFaceAnalyzer(thresholds=FaceThresholds(MODEL_ID, match=0.05, review=0.68))
    report = scan(strict, index, generated_clip, {})
    assert report.with_verdict(TrackVerdict.OTHER_IDENTITY) == ()
    assert {t.best.subject_id for t in report.with_verdict(TrackVerdict.REVIEW) if t.best} \
        == {ASTRONAUT, HOPPER}


def test_a_scan_without_a_face_model_refuses_to_pass_anything(generated_clip: bytes):
    service = FaceScanService(UnconfiguredFaceAnalyzer("no weights installed"))
    assert service.configured is False
    with pytest.raises(FaceAnalyzerNotConfiguredError):
        service.scan_video(generated_clip)
