"""The embedded speech models as the composition root builds them: the spoken-digits
checker and the speaker embedder, each loaded on first use (they share one Silero VAD), or
a not-configured stand-in carrying the reason when its pinned model cannot load."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from domain.faces import Metric, SpokenDigitsChecker, SpokenDigitsResult
from domain.voice import (
    NotConfiguredSpeakerEmbedder,
    SpeakerEmbedder,
    SpeechSegment,
    VoiceTemplate,
    VoiceThresholds,
)
from inference.pinned import ModelUnavailableError

log = logging.getLogger(__name__)
_LOAD_ERRORS = (ModelUnavailableError, ImportError, OSError, RuntimeError)


class _Once:
    """Builds a value at the first call, once, under a lock; a failure is kept as the
    stand-in `fallback(reason)` for good (a model does not appear while running)."""

    def __init__(self, name: str, load: Callable[[], Any],
                 fallback: Callable[[str], Any]) -> None:
        self._name, self._load, self._fallback = name, load, fallback
        self._value: Any = None
        self._lock = threading.Lock()

    def __call__(self) -> Any:
        with self._lock:
            if self._value is None:
                try:
                    self._value = self._load()
                except _LOAD_ERRORS as exc:
                    log.error("the %s model is not available: %s", self._name, exc)
                    self._value = self._fallback(f"{self._name}: {exc}")
            return self._value


class _Unavailable:
    """`SpokenDigitsChecker` whose recogniser could not load: it says not configured."""

    configured = False

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def check(self, media: bytes, digits: str) -> SpokenDigitsResult:
        from domain.faces import SpokenDigitsStatus

        return SpokenDigitsResult(SpokenDigitsStatus.NOT_CONFIGURED, self.reason)


class LazySpokenDigitsChecker:
    """`SpokenDigitsChecker` that loads PocketSphinx and Silero VAD at its first check."""

    def __init__(self, load: Callable[[], SpokenDigitsChecker]) -> None:
        self._checker = _Once("spoken digits", load, _Unavailable)

    @property
    def configured(self) -> bool:
        return bool(self._checker().configured)

    def check(self, media: bytes, digits: str) -> SpokenDigitsResult:
        result: SpokenDigitsResult = self._checker().check(media, digits)
        return result


class LazySpeakerEmbedder:
    """`SpeakerEmbedder` that loads Resemblyzer at its first use. Its identity (model id,
    metric, thresholds) is known without loading, so a voice index can be built at
    start, as the face index is."""

    def __init__(self, load: Callable[[], SpeakerEmbedder], model_id: str,
                 thresholds: VoiceThresholds) -> None:
        self.model_id = model_id
        self.metric = Metric.COSINE
        self.thresholds = thresholds
        self._embedder = _Once("speaker", load, lambda reason: NotConfiguredSpeakerEmbedder(
            reason, model_id))

    @property
    def configured(self) -> bool:
        return bool(self._embedder().configured)

    def enrol(self, media: bytes) -> VoiceTemplate | None:
        template: VoiceTemplate | None = self._embedder().enrol(media)
        return template

    def segments(self, media: bytes) -> list[SpeechSegment]:
        found: list[SpeechSegment] = self._embedder().segments(media)
        return found


def embedded_speech() -> tuple[LazySpokenDigitsChecker, LazySpeakerEmbedder]:
    """PocketSphinx digits and Resemblyzer voices from their wheels, sharing one VAD."""
    from inference.voice import DEFAULT_THRESHOLDS, MODEL_ID

    def detector() -> Any:
        from inference.speech import SileroSpeechDetector

        return SileroSpeechDetector()

    shared = _Once("voice activity", detector, lambda reason: None)

    def digits() -> SpokenDigitsChecker:
        from inference.speech import PocketsphinxDigitsChecker

        vad = shared()
        if vad is None:
            raise ModelUnavailableError("the voice-activity detector did not load")
        return PocketsphinxDigitsChecker(vad)

    def speaker() -> SpeakerEmbedder:
        from inference.voice import ResemblyzerSpeakerEmbedder

        vad = shared()
        if vad is None:
            raise ModelUnavailableError("the voice-activity detector did not load")
        return ResemblyzerSpeakerEmbedder(vad)

    return (LazySpokenDigitsChecker(digits),
            LazySpeakerEmbedder(speaker, MODEL_ID, DEFAULT_THRESHOLDS))
