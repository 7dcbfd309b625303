"""Real synthesized speech for tests and benchmarks: Debian's espeak-ng (a formant
synthesiser, so every voice is synthetic). Missing espeak-ng skips a test locally and fails
it under CI=true, where `.ci/services.sh start` installs it like PostgreSQL."""

from __future__ import annotations

import io
import os
import shutil
import wave

import numpy as np
import pytest

from api import demo_media
from api.demo_media import DIGIT_WORDS, digits_text

__all__ = ["DIGIT_WORDS", "SENTENCES", "VOICES", "digits_text", "espeak", "reading", "spoken",
           "wav"]

# Speakers as espeak-ng voice+variant: different synthetic timbres of a few accents.
VOICES = ("en-us", "en-us+m3", "en-us+f3", "en+m1", "en-gb-x-rp+m7", "en+f2",
          "en-us+klatt", "en+f4", "en-gb-scotland+m5", "en-029+m2", "en-us+f5", "en+m6")
SENTENCES = (
    "My name is on this account and I agree to the terms of the cameo.",
    "The quick brown fox jumps over the lazy dog near the river bank.",
    "We walked along the beach at sunset and watched the boats come home.",
    "Please record this message clearly so that it can be checked later.",
    "A light rain fell over the city while the market stalls were closing.",
    "Every morning she reads the news and drinks a cup of strong coffee.",
)


def espeak() -> str:
    """The espeak-ng executable; skips (locally) or fails (CI=true) when it is missing."""
    found = shutil.which("espeak-ng")
    if found is None:
        message = ("espeak-ng is not installed: run the tests through `.ci/test` (which "
                   "installs it) or `apt-get install espeak-ng`")
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return found


def spoken(text: str, voice: str = "en-us", words_per_minute: int = 130
           ) -> tuple[np.ndarray, int]:
    """`text` spoken by espeak-ng (see api.demo_media.spoken)."""
    espeak()
    return demo_media.spoken(text, voice, words_per_minute)


def reading(digits: str, voice: str = "en-us", seconds: float = 4.0,
            lead: float = 0.5) -> tuple[np.ndarray, int]:
    """A verification's audio track (see api.demo_media.reading)."""
    espeak()
    return demo_media.reading(digits, voice, seconds, lead)


def wav(audio: np.ndarray, rate: int) -> bytes:
    """Float samples in [-1, 1] as a 16-bit PCM mono WAV file (what a generator plays)."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as sound:
        sound.setnchannels(1)
        sound.setsampwidth(2)
        sound.setframerate(rate)
        sound.writeframes((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes())
    return buffer.getvalue()
