"""`SpeakerEmbedder` on Resemblyzer's GE2E voice encoder (256-d, `pretrained.pt` from the
Resemblyzer 0.1.4 wheel, SHA-256 pinned), fed with the speech Silero VAD finds."""

from __future__ import annotations

import threading
import warnings
from typing import Any

import numpy as np

from domain.faces import Metric
from domain.voice import SpeechSegment, VoiceTemplate, VoiceThresholds
from inference.pinned import pinned_file
from inference.speech import AUDIO_RATE, SileroSpeechDetector, decode_audio

__all__ = ["RESEMBLYZER_SHA256", "ResemblyzerSpeakerEmbedder"]

RESEMBLYZER_VERSION = "0.1.4"
RESEMBLYZER_SHA256 = "39373b86598fa3da9fcddee6142382efe09777e8d37dc9c0561f41f0070f134e"
MODEL_ID = f"resemblyzer-{RESEMBLYZER_VERSION}@sha256:{RESEMBLYZER_SHA256[:12]}"
# Cosine distances measured by benchmarks/voice.py (espeak-ng voices; see docs/models.md).
DEFAULT_THRESHOLDS = VoiceThresholds(MODEL_ID, match=0.10, review=0.15,
                                     min_speech_seconds=1.0)


class ResemblyzerSpeakerEmbedder:
    """Speech is found by Silero VAD; `enrol` embeds all of it at once (Resemblyzer
    averages 1.6 s windows), `segments` embeds each stretch of speech (stretches closer
    than `join_seconds` are joined, longer ones cut at `window_seconds`). Volume is
    normalised the way Resemblyzer's own preprocessing does; its webrtcvad trimming is
    not used, the VAD already cut the silences. Thread-safe (one lock on the model)."""

    metric = Metric.COSINE
    configured = True

    def __init__(self, detector: SileroSpeechDetector | None = None,
                 thresholds: VoiceThresholds = DEFAULT_THRESHOLDS,
                 join_seconds: float = 0.6, window_seconds: float = 6.0) -> None:
        weights = pinned_file("Resemblyzer", RESEMBLYZER_VERSION, "resemblyzer",
                              "pretrained.pt", RESEMBLYZER_SHA256)
        with warnings.catch_warnings():  # its scipy.ndimage.morphology import is deprecated
            warnings.simplefilter("ignore", DeprecationWarning)
            from resemblyzer import VoiceEncoder
            from resemblyzer.audio import normalize_volume

        self._encoder: Any = VoiceEncoder(device="cpu", verbose=False, weights_fpath=weights)
        self._normalise = normalize_volume
        self.detector = detector or SileroSpeechDetector()
        self.model_id = MODEL_ID
        self.thresholds = thresholds
        self.join_seconds = join_seconds
        self.window_seconds = window_seconds
        self._lock = threading.Lock()
        # librosa builds its mel filters and caches on the first call (seconds): pay now.
        self._embed(np.random.default_rng(0).normal(0, 0.1, AUDIO_RATE).astype(np.float32))

    def enrol(self, media: bytes) -> VoiceTemplate | None:
        audio = decode_audio(media)
        if audio is None:
            return None
        spans = self.detector.segments(audio)
        speech = np.concatenate([audio[s:e] for s, e in spans]) if spans else audio[:0]
        if speech.size < self.thresholds.min_speech_seconds * AUDIO_RATE:
            return None
        return self._template(self._embed(speech))

    def segments(self, media: bytes) -> list[SpeechSegment]:
        audio = decode_audio(media)
        if audio is None:
            return []
        out = []
        for start, end in self._stretches(self.detector.segments(audio)):
            if end - start >= self.thresholds.min_speech_seconds * AUDIO_RATE:
                out.append(SpeechSegment(start / AUDIO_RATE, end / AUDIO_RATE,
                                         self._template(self._embed(audio[start:end]))))
        return out

    def embed_samples(self, samples: np.ndarray) -> VoiceTemplate:
        """The voice of 16 kHz mono float samples that are all speech (benchmarks)."""
        return self._template(self._embed(samples))

    def _stretches(self, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
        joined: list[tuple[int, int]] = []
        for start, end in spans:
            if joined and start - joined[-1][1] <= self.join_seconds * AUDIO_RATE:
                joined[-1] = (joined[-1][0], end)
            else:
                joined.append((start, end))
        window = int(self.window_seconds * AUDIO_RATE)
        return [(s, min(end, s + window)) for start, end in joined
                for s in range(start, end, window)]

    def _embed(self, samples: np.ndarray) -> np.ndarray:
        wav = np.asarray(samples, dtype=np.float32)
        if float(np.max(np.abs(wav), initial=0.0)) > 0:  # digital silence stays as it is
            wav = self._normalise(wav, -30, increase_only=True)
        with self._lock:
            return np.asarray(self._encoder.embed_utterance(wav), dtype=np.float32)

    def _template(self, vector: np.ndarray) -> VoiceTemplate:
        return VoiceTemplate(self.model_id, Metric.COSINE, tuple(vector.tolist()))
