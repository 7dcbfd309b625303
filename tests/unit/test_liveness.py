"""The verification video checks, driven by a scripted face analyzer over small synthetic
clips (each frame's brightness says which scripted face it shows) with synthetic audio."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pytest

from domain.faces import (
    Box,
    DetectedFace,
    FaceTemplate,
    FaceThresholds,
    FrameImage,
    Landmarks,
    Metric,
    SpokenDigitsChecker,
    SpokenDigitsResult,
    SpokenDigitsStatus,
)
from domain.voice import VOICE
from inference.face_index import TieredFaceIndex
from inference.liveness import (
    DIFFERENT_PEOPLE,
    FACE_BLURRED,
    FACE_TOO_SMALL,
    HEAD_TURN_MISSING,
    MULTIPLE_FACES,
    NO_AUDIO,
    NO_FACE,
    NO_SPEECH,
    SPOKEN_DIGITS,
    SPOKEN_DIGITS_MISMATCH,
    SPOKEN_DIGITS_UNCHECKED,
    UNREADABLE_MEDIA,
    LivenessSettings,
    NotConfiguredSpokenDigitsChecker,
    VerificationOutcome,
    VerificationVideoChecker,
    media_digest,
)
from tests import face_media

pytestmark = pytest.mark.unit
MODEL = "scripted"
RATE = 16_000


@dataclass(frozen=True)
class Shot:
    """What the scripted analyzer sees in one frame."""

    yaw: float = 0.0
    pitch: float = 0.8
    person: int = 1
    size: float = 160.0
    sharpness: float = 300.0
    faces: int = 1


@dataclass
class ScriptedAnalyzer:
    shots: Sequence[Shot]
    model_id: str = MODEL
    metric: Metric = Metric.L2
    configured: bool = True
    thresholds: FaceThresholds = field(
        default_factory=lambda: FaceThresholds(MODEL, match=0.6, review=0.68))

    def _shot(self, image: FrameImage) -> Shot:
        return self.shots[round(float(np.asarray(image).mean()) / 8)]

    def detect(self, image: FrameImage, min_face_px: int | None = None) -> list[DetectedFace]:
        shot = self._shot(image)
        faces = []
        for i in range(shot.faces):
            half, cx = shot.size / 2, 200.0 + 400 * i
            eye = shot.size / 4  # eye distance = shot.size / 2
            marks = Landmarks((), eye_left=(cx - eye, 150), eye_right=(cx + eye, 150),
                              nose=(cx + shot.yaw * 2 * eye, 150 + shot.pitch * 2 * eye))
            faces.append(DetectedFace(Box(cx - half, 150 - half, cx + half, 150 + half),
                                      marks, 1.0, shot.sharpness))
        return [f for f in faces if f.size >= (min_face_px or 0)]

    def embed(self, image: FrameImage, faces: Sequence[DetectedFace]) -> list[FaceTemplate]:
        person = self._shot(image).person
        vector = np.zeros(8)
        vector[person] = 1.0
        return [FaceTemplate(MODEL, Metric.L2, tuple(vector)) for _ in faces]


def speech(seconds: float) -> np.ndarray:
    """Noise bursts at a syllable rate of 4 per second with pauses: speech-like levels."""
    t = np.arange(int(seconds * RATE)) / RATE
    bursts = (np.sin(2 * np.pi * 4 * t) > 0).astype(np.float32)
    return 0.3 * bursts * np.random.default_rng(0).uniform(-1, 1, t.size).astype(np.float32)


def tone(seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


def video(shots: Sequence[Shot], audio: np.ndarray | None = None) -> bytes:
    frames = [np.full((64, 64, 3), 8 * i, np.uint8) for i in range(len(shots))]
    return face_media.clip(frames, fps=6, crf=0, audio=audio)


def turning(first: str, second: str, frames: int = 24) -> list[Shot]:
    pose = {"left": Shot(yaw=0.35), "right": Shot(yaw=-0.35), "up": Shot(pitch=0.55),
            "down": Shot(pitch=1.05)}
    shots = [Shot() for _ in range(frames)]
    shots[6:9] = [pose[first]] * 3
    shots[14:17] = [pose[second]] * 3
    return shots


def check(shots: Sequence[Shot], directions: tuple[str, str] = ("left", "up"), *,
          audio: np.ndarray | None = None, media: bytes | None = None,
          settings: LivenessSettings | None = None, digits: SpokenDigitsChecker | None = None,
          index: TieredFaceIndex | None = None) -> VerificationOutcome:
    checker = VerificationVideoChecker(ScriptedAnalyzer(shots),
                                       digits or ScriptedDigits(SpokenDigitsStatus.HEARD),
                                       index, settings)
    clip = media if media is not None else video(
        shots, speech(len(shots) / 6) if audio is None else audio)
    return checker.check(clip, directions, "123", identity_id="me")


def test_a_live_person_who_turns_as_challenged_and_speaks_passes():
    outcome = check(turning("left", "up"), ("left", "up"))
    assert outcome.passed, outcome.reasons
    assert outcome.turns_seen == ("left", "up")
    assert outcome.template is not None and outcome.template.vector[1] == 1.0
    assert outcome.unchecked == (VOICE,), "no speaker model: said, not faked"
    assert outcome.liveness == 1.0 and outcome.speech_seconds > 0.8


def test_without_a_digits_recogniser_the_verification_fails_closed():
    outcome = check(turning("left", "up"), digits=NotConfiguredSpokenDigitsChecker())
    assert not outcome.passed
    assert outcome.reasons == (SPOKEN_DIGITS_UNCHECKED,)
    assert outcome.unchecked == (SPOKEN_DIGITS, VOICE)


@pytest.mark.parametrize("first,second", [("right", "down"), ("down", "left")])
def test_every_challenged_direction_is_recognised(first: str, second: str):
    assert check(turning(first, second), (first, second)).passed


def test_turning_the_other_way_than_challenged_fails():
    outcome = check(turning("right", "up"), ("left", "up"))
    assert HEAD_TURN_MISSING in outcome.reasons and not outcome.passed


def test_turns_in_the_wrong_order_fail():
    outcome = check(turning("up", "left"), ("left", "up"))
    assert outcome.reasons == (HEAD_TURN_MISSING,)
    assert outcome.turns_seen == ("left",)


def test_a_mirrored_recording_swaps_left_and_right():
    mirrored = LivenessSettings(mirrored=True)
    assert check(turning("right", "up"), ("left", "up"), settings=mirrored).passed


def test_another_person_swapped_in_midway_fails():
    shots = turning("left", "up")
    shots[18:] = [Shot(person=2)] * (len(shots) - 18)
    assert DIFFERENT_PEOPLE in check(shots).reasons


def test_a_second_face_in_the_picture_fails():
    shots = [Shot(faces=2) if i % 2 else s for i, s in enumerate(turning("left", "up"))]
    assert MULTIPLE_FACES in check(shots).reasons


def test_a_small_face_fails_as_too_small_and_a_blurred_one_as_blurred():
    small = [Shot(yaw=s.yaw, pitch=s.pitch, size=60) for s in turning("left", "up")]
    blurred = [Shot(yaw=s.yaw, pitch=s.pitch, sharpness=5) for s in turning("left", "up")]
    assert check(small).reasons == (FACE_TOO_SMALL,)
    assert check(blurred).reasons == (FACE_BLURRED,)


def test_a_video_without_a_face_fails():
    outcome = check([Shot(faces=0)] * 24)
    assert NO_FACE in outcome.reasons and outcome.template is None


def test_silence_a_steady_tone_and_no_audio_track_all_fail_the_level_check():
    """Without a recogniser, the level check decides whether anyone spoke (and the
    unchecked digits fail the verification anyway)."""
    shots, none = turning("left", "up"), NotConfiguredSpokenDigitsChecker()
    unchecked = (SPOKEN_DIGITS_UNCHECKED,)
    assert check(shots, audio=np.zeros(4 * RATE, np.float32), digits=none).reasons == \
        (*unchecked, NO_SPEECH)
    assert check(shots, audio=tone(4), digits=none).reasons == (*unchecked, NO_SPEECH)
    assert check(shots, media=video(shots), digits=none).reasons == (NO_AUDIO, *unchecked)


@dataclass
class ScriptedDigits:
    status: SpokenDigitsStatus
    configured: bool = True

    def check(self, media: bytes, digits: str) -> SpokenDigitsResult:
        return SpokenDigitsResult(self.status, "scripted", "456")


def test_a_configured_digits_checker_that_heard_other_digits_fails_with_a_mismatch():
    outcome = check(turning("left", "up"), digits=ScriptedDigits(SpokenDigitsStatus.NOT_HEARD))
    assert outcome.reasons == (SPOKEN_DIGITS_MISMATCH,) and outcome.unchecked == (VOICE,)


def test_a_digits_checker_that_found_no_speech_fails_with_no_speech():
    outcome = check(turning("left", "up"), digits=ScriptedDigits(SpokenDigitsStatus.NO_SPEECH))
    assert outcome.reasons == (NO_SPEECH,) and not outcome.passed


def test_a_configured_digits_checker_decides_whether_anyone_spoke():
    """Short digit words read briskly are under the level check's 0.8 s; the speech
    detector behind the digits checker is the better witness, both ways."""
    shots, brief = turning("left", "up"), speech(0.5)
    padded = np.concatenate([np.zeros(RATE, np.float32), brief, np.zeros(2 * RATE, np.float32)])
    alone = check(shots, audio=padded, digits=NotConfiguredSpokenDigitsChecker())
    assert NO_SPEECH in alone.reasons  # the level check alone
    heard = check(shots, audio=padded, digits=ScriptedDigits(SpokenDigitsStatus.HEARD))
    assert heard.passed and heard.liveness == 1.0
    silent = check(shots, digits=ScriptedDigits(SpokenDigitsStatus.NO_SPEECH))
    assert silent.reasons == (NO_SPEECH,) and silent.liveness < 1.0


def test_heard_digits_pass_and_count_towards_liveness():
    outcome = check(turning("left", "up"), digits=ScriptedDigits(SpokenDigitsStatus.HEARD))
    assert outcome.passed and outcome.unchecked == (VOICE,) and outcome.liveness == 1.0
    assert {name for name, _ in outcome.stage_seconds} >= {"faces", "digits", "head_turns"}


@dataclass
class ScriptedVoice:
    """A speaker embedder that answers one fixed template (or None: too little speech)."""

    template: FaceTemplate | None
    model_id: str = "scripted-voice"
    metric: Metric = Metric.COSINE
    configured: bool = True

    def enrol(self, media: bytes) -> FaceTemplate | None:
        return self.template

    def segments(self, media: bytes) -> list:
        return []


def test_the_voice_is_enrolled_from_the_same_video_or_named_unchecked():
    voice = FaceTemplate("scripted-voice", Metric.COSINE, (0.6, 0.8))
    checker = VerificationVideoChecker(ScriptedAnalyzer(turning("left", "up")),
                                       ScriptedDigits(SpokenDigitsStatus.HEARD),
                                       voice=ScriptedVoice(voice))
    media = video(turning("left", "up"), speech(4))
    outcome = checker.check(media, ("left", "up"), "123")
    assert outcome.passed and outcome.voice == voice and outcome.unchecked == ()
    checker.voice = ScriptedVoice(None)
    outcome = checker.check(media, ("left", "up"), "123")
    assert outcome.passed and outcome.voice is None and outcome.unchecked == (VOICE,)


def test_a_face_already_enrolled_under_another_identity_is_reported_as_a_duplicate():
    index = TieredFaceIndex(MODEL, Metric.L2)
    index.add("someone-else", FaceTemplate(MODEL, Metric.L2, (0, 1, 0, 0, 0, 0, 0, 0)))
    index.add("me", FaceTemplate(MODEL, Metric.L2, (0, 1, 0, 0, 0, 0, 0, 0)))
    outcome = check(turning("left", "up"), index=index)
    assert outcome.passed, "a duplicate goes to review; it is not a failed verification"
    assert [d.subject_id for d in outcome.duplicates] == ["someone-else"]


def test_media_that_is_not_a_video_is_reported_as_unreadable():
    assert check([Shot()], media=b"not a video at all").reasons == (UNREADABLE_MEDIA,)


def test_the_media_digest_is_the_sha256_the_submission_records():
    assert media_digest(b"abc") == \
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
