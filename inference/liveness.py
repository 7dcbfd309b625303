"""Checks of an identity verification video: one and the same person throughout, a face big
and sharp enough, head turns in the challenged directions (yaw and pitch from landmarks),
speech-level audio, the spoken digits and the voice template behind their own ports.
Returns reason codes."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from statistics import median

import av
import av.error
import cv2
import numpy as np

from domain.errors import (
    MediaLimitsExceededError,
    MediaTooLargeError,
    UnreadableMediaError,
    UnsupportedMediaTypeError,
)
from domain.faces import (
    DetectedFace,
    FaceAnalyzer,
    FaceIndex,
    FaceTemplate,
    IndexMatch,
    SpokenDigitsChecker,
    SpokenDigitsResult,
    SpokenDigitsStatus,
)
from domain.verification import VerificationOutcome
from domain.voice import VOICE, SpeakerEmbedder
from inference.face_scan import sample_frames
from inference.speech import speech_seconds

# Reason codes: stable vocabulary recorded in Identity.VerificationFailed.
UNREADABLE_MEDIA = "unreadable_media"
MEDIA_LIMITS = "media_limits_exceeded"
NO_FACE = "no_face"
MULTIPLE_FACES = "multiple_faces"
FACE_TOO_SMALL = "face_too_small"
FACE_BLURRED = "face_blurred"
DIFFERENT_PEOPLE = "different_people"
HEAD_TURN_MISSING = "head_turn_missing"
NO_AUDIO = "no_audio"
NO_SPEECH = "no_speech"
SPOKEN_DIGITS_MISMATCH = "spoken_digits_mismatch"  # speech, but not the challenge digits
SPOKEN_DIGITS = "spoken_digits"  # named in `unchecked` when no checker is configured
# No recogniser could check the digits: the verification fails closed (a replayed or
# synthetic video that only turns its head would otherwise pass).
SPOKEN_DIGITS_UNCHECKED = "spoken_digits_unchecked"


def media_digest(media: bytes) -> str:
    """SHA-256 of the uploaded bytes, the value `submit_verification` records."""
    return hashlib.sha256(media).hexdigest()


@dataclass(frozen=True)
class LivenessSettings:
    """`turn_yaw` / `turn_pitch`: how far (in eye distances) the nose must move from the
    person's own median position to count as a turn. `mirrored`: the client recorded a
    mirror image (as selfie previews show), which swaps left and right."""

    sample_fps: float = 6.0
    embed_every: int = 3  # embed every third sampled frame: 2 per second at 6 fps
    min_face_px: int = 80
    min_sharpness: float = 40.0
    min_face_share: float = 0.6
    max_crowded_share: float = 0.1
    turn_yaw: float = 0.18
    turn_pitch: float = 0.12
    best_frames: int = 5
    reference_scale: float = 2.0  # the reference face crop spans this many face boxes
    reference_max_px: int = 512
    run_frames: int = 3
    mirrored: bool = False
    speech_dbfs: float = -35.0
    min_speech_seconds: float = 0.8
    min_level_spread_db: float = 10.0


class NotConfiguredSpokenDigitsChecker:
    """Stands in where no speech recogniser could be loaded (inference/speech.py has the
    real one). It says so instead of guessing."""

    configured = False

    def check(self, media: bytes, digits: str) -> SpokenDigitsResult:
        return SpokenDigitsResult(SpokenDigitsStatus.NOT_CONFIGURED,
                                  "no speech recogniser is configured")


@dataclass
class _Sample:
    seconds: float
    face: DetectedFace | None
    crowded: bool
    template: FaceTemplate | None = None
    crop: np.ndarray | None = None  # the face and its surroundings, for embedded frames


class VerificationVideoChecker:
    """Runs every check of a verification video through the `FaceAnalyzer` port, PyAV
    (audio levels), the `SpokenDigitsChecker` and the `SpeakerEmbedder` ports, and
    collects reason codes rather than stopping at the first failure, so that the member
    learns everything to fix. Without a configured digits recogniser the verification
    fails (`spoken_digits_unchecked`): the challenge was not checked. The voice is enrolled
    from the same audio; it never fails a verification on its own (no speaker model, or
    too little speech: "voice" is named in `unchecked`)."""

    def __init__(self, analyzer: FaceAnalyzer, digits: SpokenDigitsChecker | None = None,
                 index: FaceIndex | None = None,
                 settings: LivenessSettings | None = None,
                 voice: SpeakerEmbedder | None = None) -> None:
        self.analyzer = analyzer
        self.digits = digits or NotConfiguredSpokenDigitsChecker()
        self.index = index
        self.settings = settings or LivenessSettings()
        self.voice = voice

    def check(self, media: bytes, directions: Sequence[str], digits: str,
              identity_id: str | None = None) -> VerificationOutcome:
        """`identity_id`: the identity being verified, left out of the duplicate search."""
        stages: dict[str, float] = {}
        try:
            with _timed(stages, "faces"):
                samples = self._faces(media)
            with _timed(stages, "audio_levels"):
                speech = speech_seconds(media, self.settings.speech_dbfs,
                                        self.settings.min_level_spread_db)
        except (MediaLimitsExceededError, MediaTooLargeError):
            return VerificationOutcome(False, (MEDIA_LIMITS,), None, 0.0, 0.0, (), 0.0)
        except (UnreadableMediaError, UnsupportedMediaTypeError, av.error.FFmpegError,
                IndexError, ValueError):
            return VerificationOutcome(False, (UNREADABLE_MEDIA,), None, 0.0, 0.0, (), 0.0)
        reasons: list[str] = []
        settings = self.settings
        faces = [s for s in samples if s.face is not None]
        if len(faces) < settings.min_face_share * max(1, len(samples)):
            reasons.append(NO_FACE)
        if sum(s.crowded for s in samples) > settings.max_crowded_share * max(1, len(samples)):
            reasons.append(MULTIPLE_FACES)
        usable = [s for s in faces if s.face is not None
                  and s.face.size >= settings.min_face_px
                  and s.face.sharpness >= settings.min_sharpness]
        if faces and median(s.face.size for s in faces if s.face) < settings.min_face_px:
            reasons.append(FACE_TOO_SMALL)
        if faces and median(s.face.sharpness for s in faces if s.face) < settings.min_sharpness:
            reasons.append(FACE_BLURRED)
        template, best = self._template(usable)
        if not self._one_person([s.template for s in faces if s.template is not None]):
            reasons.append(DIFFERENT_PEOPLE)
        with _timed(stages, "head_turns"):
            turns = self._turns(faces, directions)
        if len(turns) < len(directions):
            reasons.append(HEAD_TURN_MISSING)
        if speech is None:
            reasons.append(NO_AUDIO)
        unchecked: list[str] = []
        spoken, voice = self._speech(media, digits, reasons, unchecked, stages)
        # Whether anyone spoke: the speech detector's answer when the digits were checked
        # (the level check under-counts short words: "two, eight, eight" read briskly is
        # 0.75 s over the level), else the level check.
        spoke = spoken.status is not SpokenDigitsStatus.NO_SPEECH \
            if spoken.status is not SpokenDigitsStatus.NOT_CONFIGURED \
            else (speech or 0.0) >= settings.min_speech_seconds
        if speech is not None and not spoke and NO_SPEECH not in reasons:
            reasons.append(NO_SPEECH)
        if template is None and not {NO_FACE, FACE_TOO_SMALL, FACE_BLURRED} & set(reasons):
            reasons.append(NO_FACE)  # faces were seen, but none was usable for a template
        duplicates: tuple[IndexMatch, ...] = ()
        if template is not None and self.index is not None and len(self.index):
            duplicates = tuple(m for m in self.index.search(
                template, 3, self.analyzer.thresholds.review) if m.subject_id != identity_id)
        checks = [len(turns) / max(1, len(directions)), float(speech is not None and spoke)]
        if spoken.status is not SpokenDigitsStatus.NOT_CONFIGURED:
            checks.append(float(spoken.status is SpokenDigitsStatus.HEARD))
        return VerificationOutcome(
            passed=not reasons, reasons=tuple(dict.fromkeys(reasons)), template=template,
            quality=self._quality(usable), liveness=sum(checks) / len(checks),
            turns_seen=tuple(turns), speech_seconds=speech or 0.0,
            unchecked=tuple(unchecked), duplicates=duplicates,
            reference_face=_png(best.crop) if best is not None and best.crop is not None
            else None, voice=voice, stage_seconds=tuple(stages.items()))

    def _speech(self, media: bytes, digits: str, reasons: list[str], unchecked: list[str],
                stages: dict[str, float]) -> tuple[SpokenDigitsResult, FaceTemplate | None]:
        """The spoken digits (reason codes) and the voice template (None: unchecked)."""
        with _timed(stages, "digits"):
            spoken = self.digits.check(media, digits)
        if spoken.status is SpokenDigitsStatus.NOT_CONFIGURED:
            unchecked.append(SPOKEN_DIGITS)
            reasons.append(SPOKEN_DIGITS_UNCHECKED)
        elif spoken.status is SpokenDigitsStatus.NOT_HEARD:
            reasons.append(SPOKEN_DIGITS_MISMATCH)
        elif spoken.status is SpokenDigitsStatus.NO_SPEECH and NO_AUDIO not in reasons:
            reasons.append(NO_SPEECH)
        voice = None
        if self.voice is not None and self.voice.configured:
            with _timed(stages, "voice"):
                voice = self.voice.enrol(media)
        if voice is None:
            unchecked.append(VOICE)
        return spoken, voice

    # -- faces -------------------------------------------------------------------------
    def _faces(self, media: bytes) -> list[_Sample]:
        samples = []
        # Detect smaller than the pass mark, so that a small face fails as "too small"
        # rather than as "no face".
        floor = max(40, self.settings.min_face_px // 2)
        for i, (seconds, image) in enumerate(sample_frames(media, self.settings.sample_fps)):
            found = self.analyzer.detect(image, floor)
            main = found[0] if found else None
            crowded = any(other.size >= 0.5 * found[0].size and other.score >= 0.5
                          for other in found[1:])
            sample = _Sample(seconds, main, crowded)
            if main is not None and i % self.settings.embed_every == 0:
                sample.template = self.analyzer.embed(image, [main])[0]
                sample.crop = self._crop(image, main)
            samples.append(sample)
        return samples

    def _one_person(self, embedded: list[FaceTemplate]) -> bool:
        """Means of consecutive runs of frames must all match each other. Not each frame
        against the overall mean: the mean of two people lies between them, close to both.
        Not frame against frame: one person's single frames differ by up to ~0.65 (dlib) on
        real footage, while means of three frames stayed under 0.47 and keep two people's
        ~0.65+ apart."""
        run = self.settings.run_frames
        runs = [FaceTemplate.mean(embedded[i:i + run]) for i in range(0, len(embedded), run)]
        limit = self.analyzer.thresholds.match
        return all(a.distance(b) <= limit for i, a in enumerate(runs) for b in runs[i + 1:])

    def _crop(self, image: np.ndarray, face: DetectedFace) -> np.ndarray | None:
        """A square around the face, `reference_scale` boxes wide, clipped to the frame
        and scaled down to `reference_max_px`."""
        frame = np.asarray(image)
        box = face.box
        half = self.settings.reference_scale * max(box.width, box.height) / 2
        cx, cy = (box.left + box.right) / 2, (box.top + box.bottom) / 2
        top, bottom = max(0, round(cy - half)), min(frame.shape[0], round(cy + half))
        left, right = max(0, round(cx - half)), min(frame.shape[1], round(cx + half))
        if bottom - top < 2 or right - left < 2:
            return None
        crop = frame[top:bottom, left:right]
        largest = max(crop.shape[:2])
        if largest > self.settings.reference_max_px:
            factor = self.settings.reference_max_px / largest
            crop = cv2.resize(crop, (max(1, round(crop.shape[1] * factor)),
                                     max(1, round(crop.shape[0] * factor))),
                              interpolation=cv2.INTER_AREA)
        return np.ascontiguousarray(crop)

    def _template(self, usable: list[_Sample]) -> tuple[FaceTemplate | None, _Sample | None]:
        """Mean embedding of the best frames (sharpest and most frontal first), and the
        best of them, whose face becomes the reference image."""
        embedded = [s for s in usable if s.template is not None and s.face is not None]
        if not embedded:
            return None, None
        def goodness(sample: _Sample) -> float:
            assert sample.face is not None
            frontal = 1.0 / (1.0 + 5.0 * abs(sample.face.landmarks.yaw))
            return frontal * min(sample.face.sharpness, 1000.0) * min(sample.face.size, 200.0)
        best = sorted(embedded, key=goodness, reverse=True)[: self.settings.best_frames]
        return FaceTemplate.mean([s.template for s in best if s.template is not None]), best[0]

    def _turns(self, faces: list[_Sample], directions: Sequence[str]) -> list[str]:
        """The challenged directions seen, in the challenged order, each relative to the
        person's median pose (which the two short turns barely move)."""
        poses = [(s.face.landmarks.yaw, s.face.landmarks.pitch) for s in faces if s.face]
        if not poses:
            return []
        base_yaw = median(p[0] for p in poses)
        base_pitch = median(p[1] for p in poses)
        # Unmirrored, a person turning to their own left shows the nose moving towards the
        # image's right edge, which is positive yaw.
        sign = -1.0 if self.settings.mirrored else 1.0
        wanted = {
            "left": lambda y, p: sign * (y - base_yaw) >= self.settings.turn_yaw,
            "right": lambda y, p: sign * (base_yaw - y) >= self.settings.turn_yaw,
            "up": lambda y, p: base_pitch - p >= self.settings.turn_pitch,
            "down": lambda y, p: p - base_pitch >= self.settings.turn_pitch,
        }
        seen: list[str] = []
        for yaw, pitch in poses:
            if len(seen) == len(directions):
                break
            test = wanted.get(directions[len(seen)])
            if test is not None and test(yaw, pitch):
                seen.append(directions[len(seen)])
        return seen

    @staticmethod
    def _quality(usable: list[_Sample]) -> float:
        if not usable:
            return 0.0
        sharp = median(s.face.sharpness for s in usable if s.face) / 300.0
        size = median(s.face.size for s in usable if s.face) / 160.0
        return round(min(1.0, sharp) * min(1.0, size), 3)


@contextmanager
def _timed(stages: dict[str, float], name: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        stages[name] = stages.get(name, 0.0) + time.perf_counter() - started


def _png(image: np.ndarray) -> bytes | None:
    ok, encoded = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    return bytes(encoded) if ok else None
