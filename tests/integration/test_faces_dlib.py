"""The embedded dlib face analyzer on real faces that ship with installed packages, and on
their degradations: downscale, JPEG, H.264 re-encode and a small rotation."""

from __future__ import annotations

from collections.abc import Callable
from itertools import combinations
from pathlib import Path

import numpy as np
import pytest

from domain.faces import FaceModelUnavailableError, FaceTemplate, MatchDecision, Metric
from inference.faces_dlib import MODEL_ID, DlibFaceAnalyzer
from inference.liveness import (
    DIFFERENT_PEOPLE,
    HEAD_TURN_MISSING,
    NO_AUDIO,
    SPOKEN_DIGITS_UNCHECKED,
    LivenessSettings,
    VerificationVideoChecker,
)
from tests import face_media

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def analyzer() -> DlibFaceAnalyzer:
    return DlibFaceAnalyzer()


def only_face(analyzer: DlibFaceAnalyzer, image: np.ndarray) -> FaceTemplate:
    faces = analyzer.detect(image)
    assert faces, "no face found"
    return analyzer.embed(image, faces[:1])[0]


PHOTOS = {"astronaut": face_media.astronaut, "grace_hopper": face_media.grace_hopper}
DEGRADATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "downscaled_to_60_percent": face_media.downscale,
    "jpeg_quality_30": face_media.jpeg,
    "h264_crf_35": face_media.h264,
    "rotated_10_degrees": face_media.rotate,
}


@pytest.mark.parametrize("degrade", DEGRADATIONS.values(), ids=DEGRADATIONS.keys())
@pytest.mark.parametrize("photo", PHOTOS.values(), ids=PHOTOS.keys())
def test_a_person_still_matches_their_own_degraded_photo(
        analyzer: DlibFaceAnalyzer, photo: Callable[[], np.ndarray],
        degrade: Callable[[np.ndarray], np.ndarray]):
    original = only_face(analyzer, photo())
    degraded = only_face(analyzer, degrade(photo()))
    assert analyzer.thresholds.decide(original.distance(degraded)) is MatchDecision.MATCH


def test_different_real_people_never_match(analyzer: DlibFaceAnalyzer):
    group = face_media.group_photo()
    templates = [only_face(analyzer, face_media.astronaut()),
                 only_face(analyzer, face_media.grace_hopper()),
                 *analyzer.embed(group, analyzer.detect(group))]
    assert len(templates) == 8
    for a, b in combinations(templates, 2):
        assert analyzer.thresholds.decide(a.distance(b)) is not MatchDecision.MATCH


def test_every_face_of_the_group_photo_is_found_with_its_landmarks(analyzer: DlibFaceAnalyzer):
    faces = analyzer.detect(face_media.group_photo())
    assert len(faces) == 6
    for face in faces:
        marks = face.landmarks
        assert face.box.left <= marks.eye_left[0] < marks.eye_right[0] <= face.box.right
        assert marks.pitch > 0.3, "the nose sits below the eyes"
    assert [f.size for f in faces] == sorted((f.size for f in faces), reverse=True)


def test_a_mirrored_face_turns_the_other_way(analyzer: DlibFaceAnalyzer):
    group = face_media.group_photo()
    turned = min(analyzer.detect(group), key=lambda face: face.landmarks.yaw)
    assert turned.landmarks.yaw < -0.15
    mirrored = np.ascontiguousarray(group[:, ::-1])
    twin = min(analyzer.detect(mirrored),
               key=lambda f: abs(f.box.left - (group.shape[1] - turned.box.right)))
    assert twin.landmarks.yaw == pytest.approx(-turned.landmarks.yaw, abs=0.08)


def test_templates_carry_the_model_and_its_metric(analyzer: DlibFaceAnalyzer):
    template = only_face(analyzer, face_media.grace_hopper())
    assert (template.model_id, template.metric, len(template.vector)) == (MODEL_ID, Metric.L2, 128)


def test_a_blurred_face_scores_lower_sharpness(analyzer: DlibFaceAnalyzer):
    sharp = analyzer.detect(face_media.grace_hopper())[0]
    blurred = analyzer.detect(face_media.blur(face_media.grace_hopper()))[0]
    assert blurred.sharpness < sharp.sharpness / 5


def test_faces_below_the_minimum_size_are_not_judged(analyzer: DlibFaceAnalyzer):
    tiny = face_media.downscale(face_media.astronaut(), 0.3)  # a face of about 27 px
    assert analyzer.detect(tiny) == []


def test_a_model_folder_without_weights_is_a_clear_startup_error(tmp_path: Path):
    with pytest.raises(FaceModelUnavailableError, match="lacks"):
        DlibFaceAnalyzer(tmp_path)


def test_a_photo_held_still_to_the_camera_yields_its_template_but_fails_the_head_turns(
        analyzer: DlibFaceAnalyzer):
    photo = face_media.astronaut()
    t = np.arange(2 * 16_000) / 16_000
    voice = (0.3 * (np.sin(2 * np.pi * 4 * t) > 0)
             * np.random.default_rng(0).uniform(-1, 1, t.size)).astype(np.float32)
    media = face_media.clip([photo] * 12, fps=6, crf=28, audio=voice)
    outcome = VerificationVideoChecker(analyzer).check(media, ("left", "down"), "123")
    # no digits recogniser here: that fails too, and says so
    assert outcome.reasons == (HEAD_TURN_MISSING, SPOKEN_DIGITS_UNCHECKED)
    assert outcome.template is not None
    assert outcome.template.distance(only_face(analyzer, photo)) <= analyzer.thresholds.match


def test_a_verification_video_where_the_person_changes_fails(analyzer: DlibFaceAnalyzer):
    frames = [face_media.astronaut()] * 6 + [face_media.grace_hopper()[44:556]] * 6
    media = face_media.clip(frames, fps=6, crf=28)
    every_frame = LivenessSettings(embed_every=1)  # a 2 s clip needs every frame embedded
    outcome = VerificationVideoChecker(analyzer, settings=every_frame).check(
        media, ("left", "down"), "123")
    assert DIFFERENT_PEOPLE in outcome.reasons and NO_AUDIO in outcome.reasons
