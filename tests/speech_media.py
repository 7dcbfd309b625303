"""Real synthesized speech for tests and benchmarks: Debian's espeak-ng (a formant
synthesiser, so every voice is synthetic). Missing espeak-ng skips a test locally and fails
it under CI=true, where `.ci/services.sh start` installs it like PostgreSQL."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tempfile
import wave
from pathlib import Path

import numpy as np
import pytest

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
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
    """`text` spoken by espeak-ng: float32 mono samples in [-1, 1] and their rate."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "speech.wav"
        subprocess.run([espeak(), "-v", voice, "-s", str(words_per_minute), "-w", str(path),
                        text], check=True, capture_output=True)
        with wave.open(str(path)) as sound:
            rate = sound.getframerate()
            pcm = np.frombuffer(sound.readframes(sound.getnframes()), dtype="<i2")
    return (pcm.astype(np.float32) / 32768.0), rate


def digits_text(digits: str) -> str:
    """How a member reads the challenge: each digit as a word, with a pause after it."""
    return ". ".join(DIGIT_WORDS[int(d)] for d in digits) + "."


def reading(digits: str, voice: str = "en-us", seconds: float = 4.0,
            lead: float = 0.5) -> tuple[np.ndarray, int]:
    """A verification's audio track: `lead` seconds of quiet room noise, the digits read
    by `voice`, then more noise up to `seconds` (longer speech is kept whole)."""
    speech, rate = spoken(digits_text(digits), voice)
    total = max(int(seconds * rate), int(lead * rate) + speech.size + rate // 4)
    noise = np.random.default_rng(int(digits or "0")).normal(0, 0.002, total)
    audio = noise.astype(np.float32)
    start = int(lead * rate)
    audio[start:start + speech.size] += speech
    return audio, rate


def wav(audio: np.ndarray, rate: int) -> bytes:
    """Float samples in [-1, 1] as a 16-bit PCM mono WAV file (what a generator plays)."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as sound:
        sound.setnchannels(1)
        sound.setsampwidth(2)
        sound.setframerate(rate)
        sound.writeframes((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes())
    return buffer.getvalue()
