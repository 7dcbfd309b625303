"""Verification videos of a real face for the tests (the synthesis lives in api.demo_media,
which `consentry demo` uses too), and a faceless placeholder video."""

from __future__ import annotations

import numpy as np

from api import demo_media
from domain.faces import FaceAnalyzer
from tests import face_media, speech_media

FPS = demo_media.FPS
speech = demo_media.speech_noise
turned = demo_media.turned


def verification_video(photo: np.ndarray, analyzer: FaceAnalyzer,
                       directions: list[str] | tuple[str, ...], *, digits: str | None = None,
                       voice: str = "en-us", frames: int = 24, seed: int = 0) -> bytes:
    """api.demo_media.verification_video; a missing espeak-ng skips the test (fails it
    under CI=true) when digits are to be read."""
    if digits is not None:
        speech_media.espeak()
    return demo_media.verification_video(photo, analyzer, directions, digits=digits,
                                         voice=voice, frames=frames, seed=seed)


def placeholder_video(seed: str) -> bytes:
    """A real, tiny MP4 with no face (it passes the media intake, not the checks): for tests
    that record the verification outcome themselves. `seed` makes its digest unique."""
    rng = np.random.default_rng(list(seed.encode()))
    frames = rng.integers(0, 256, size=(3, 32, 32, 3), dtype=np.uint8)
    return face_media.clip(list(frames), fps=6, crf=30)
