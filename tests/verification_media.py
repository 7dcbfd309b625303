"""Verification videos of a real face: a photo that ships with an installed package, with
head turns approximated by warps (a horizontal shear plus a shift of the nose region for
left/right, a vertical stretch about the eye line for up/down), and either the challenge
digits read by espeak-ng (synthetic speech) or speech-like noise bursts."""

from __future__ import annotations

import cv2
import numpy as np

from domain.faces import FaceAnalyzer
from tests import face_media, speech_media

AUDIO_RATE = 16_000
FPS = 6


def speech(seconds: float, seed: int = 0) -> np.ndarray:
    """Noise bursts at a syllable rate of four a second with pauses between them: the level
    rises and falls as speech does."""
    t = np.arange(int(seconds * AUDIO_RATE)) / AUDIO_RATE
    bursts = (np.sin(2 * np.pi * 4 * t) > 0).astype(np.float32)
    noise = np.random.default_rng(seed).uniform(-1, 1, t.size).astype(np.float32)
    return 0.3 * bursts * noise


def turned(photo: np.ndarray, analyzer: FaceAnalyzer, direction: str,
           amount: float = 1.0) -> np.ndarray:
    """The photo with the head "turned": for left/right the part below the eyes is sheared
    and the nose region shifted sideways (the nose moves against the eyes, which is what
    `Landmarks.yaw` measures); for up/down the face is squeezed or stretched vertically
    about the eye line (`Landmarks.pitch`). Left is the person's own left, which moves
    their nose towards the image's right edge in an unmirrored recording."""
    face = analyzer.detect(photo)[0]
    marks = face.landmarks
    eye_distance = abs(marks.eye_right[0] - marks.eye_left[0])
    eye_y = (marks.eye_left[1] + marks.eye_right[1]) / 2
    nose_x, nose_y = marks.nose
    height, width = photo.shape[:2]
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    map_x, map_y = xs.copy(), ys.copy()
    if direction in ("left", "right"):
        sign = amount * (1.0 if direction == "left" else -1.0)
        sigma = 0.6 * eye_distance
        nose_region = np.exp(-((xs - nose_x) ** 2 + (ys - nose_y) ** 2) / (2 * sigma ** 2))
        map_x = xs - sign * (0.16 * (ys - eye_y) + 0.3 * eye_distance * nose_region)
    elif direction in ("up", "down"):
        stretch = 1.0 - 0.25 * amount if direction == "up" else 1.0 + 0.45 * amount
        map_y = eye_y + (ys - eye_y) / stretch
    else:
        raise ValueError(direction)
    return cv2.remap(photo, map_x.astype(np.float32), map_y.astype(np.float32),
                     cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def verification_video(photo: np.ndarray, analyzer: FaceAnalyzer,
                       directions: list[str] | tuple[str, ...], *, digits: str | None = None,
                       voice: str = "en-us", frames: int = 24, seed: int = 0) -> bytes:
    """An MP4 of the face looking ahead, turning as challenged (each turn held for four
    frames, a quarter of a second either side); its audio is `digits` read by the
    espeak-ng `voice`, or speech-like noise without `digits`. `seed` varies the pixels
    and the audio so that two videos of one face differ in their digest."""
    rng = np.random.default_rng(seed)
    jitter = rng.integers(-2, 3, size=photo.shape, dtype=np.int16)
    base = np.clip(photo.astype(np.int16) + jitter, 0, 255).astype(np.uint8)
    shots = [base] * frames
    first, second = frames // 4, frames // 4 * 2 + 2
    for start, direction in ((first, directions[0]), (second, directions[1])):
        pose = [turned(base, analyzer, direction, amount) for amount in (0.9, 1.0, 1.0, 0.9)]
        shots[start:start + 4] = pose
    if digits is None:
        return face_media.clip(shots, fps=FPS, crf=20, audio=speech(frames / FPS, seed))
    audio, rate = speech_media.reading(digits, voice, seconds=frames / FPS)
    audio = audio + rng.normal(0, 0.001, audio.size).astype(np.float32)
    return face_media.clip(shots, fps=FPS, crf=20, audio=audio, audio_rate=rate)


def placeholder_video(seed: str) -> bytes:
    """A real, tiny MP4 with no face (it passes the media intake, not the checks): for tests
    that record the verification outcome themselves. `seed` makes its digest unique."""
    rng = np.random.default_rng(list(seed.encode()))
    frames = rng.integers(0, 256, size=(3, 32, 32, 3), dtype=np.uint8)
    return face_media.clip(list(frames), fps=6, crf=30)
