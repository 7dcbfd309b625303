"""The speech models on real (synthesized) speech from espeak-ng: Silero VAD finds it,
PocketSphinx hears the challenge digits in order and not others, Resemblyzer tells one
synthetic voice from another; every model is the pinned file from its wheel."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest

from domain.faces import FaceTemplate, Metric, SpokenDigitsStatus
from domain.voice import VoiceVerdict, judge_voices
from inference.face_index import TieredFaceIndex
from inference.pinned import ModelUnavailableError, pinned_file
from inference.speech import (
    AUDIO_RATE,
    PocketsphinxDigitsChecker,
    SileroSpeechDetector,
    decode_audio,
)
from inference.speech_loading import LazySpeakerEmbedder, LazySpokenDigitsChecker
from inference.voice import ResemblyzerSpeakerEmbedder
from tests import face_media
from tests.speech_media import SENTENCES, reading, spoken

pytestmark = pytest.mark.integration


@cache
def vad() -> SileroSpeechDetector:
    return SileroSpeechDetector()


@cache
def digits_checker() -> PocketsphinxDigitsChecker:
    return PocketsphinxDigitsChecker(vad())


@cache
def speaker() -> ResemblyzerSpeakerEmbedder:
    return ResemblyzerSpeakerEmbedder(vad())


def video(audio: np.ndarray | None, rate: int = AUDIO_RATE) -> bytes:
    frames = [np.full((64, 64, 3), 90, np.uint8)] * 8
    return face_media.clip(frames, fps=2, audio=audio, audio_rate=rate)


@pytest.mark.parametrize("digits,voice", [("472", "en-us"), ("905", "en-us+m3"),
                                          ("318", "en-us+f3")])
def test_the_challenge_digits_read_aloud_are_heard_in_order(digits: str, voice: str):
    result = digits_checker().check(video(*reading(digits, voice)), digits)
    assert result.status is SpokenDigitsStatus.HEARD, result.detail
    assert result.heard == digits and result.speech_seconds > 0.5


def test_other_digits_or_the_right_ones_in_another_order_are_a_mismatch():
    media = video(*reading("472"))
    for challenge in ("274", "473", "123"):
        result = digits_checker().check(media, challenge)
        assert result.status is SpokenDigitsStatus.NOT_HEARD and result.heard == "472"


def test_silence_a_tone_or_no_audio_track_is_no_speech():
    seconds = np.arange(3 * AUDIO_RATE) / AUDIO_RATE
    tone = (0.3 * np.sin(2 * np.pi * 220 * seconds)).astype(np.float32)
    for media in (video(np.zeros(3 * AUDIO_RATE, np.float32)), video(tone), video(None)):
        assert digits_checker().check(media, "472").status is SpokenDigitsStatus.NO_SPEECH


def test_the_detector_finds_the_speech_and_not_the_quiet_around_it():
    audio, rate = reading("123", seconds=4.0, lead=1.0)
    decoded = decode_audio(video(audio, rate))
    assert decoded is not None
    found = vad().segments(decoded)
    assert found and found[0][0] > 0.8 * AUDIO_RATE
    assert vad().segments(np.zeros(2 * AUDIO_RATE, np.float32)) == []


def test_one_synthetic_voice_is_closer_to_itself_than_to_another():
    own = speaker().enrol(video(*spoken(SENTENCES[0], "en-us")))
    again = speaker().enrol(video(*spoken(SENTENCES[1], "en-us")))
    other = speaker().enrol(video(*spoken(SENTENCES[1], "en+f2")))
    assert own is not None and again is not None and other is not None
    assert own.model_id == speaker().model_id and len(own.vector) == 256
    thresholds = speaker().thresholds
    assert own.distance(again) < own.distance(other)
    assert own.distance(again) <= thresholds.review and own.distance(other) > thresholds.match


def test_generated_speech_in_an_enrolled_voice_is_another_persons_unless_she_consented():
    index = TieredFaceIndex(speaker().model_id, Metric.COSINE)
    for identity, voice in (("ada", "en-us"), ("bob", "en+f2")):
        template = speaker().enrol(video(*spoken(SENTENCES[0], voice)))
        assert template is not None
        index.add(identity, template)
    segments = speaker().segments(video(*spoken(SENTENCES[2], "en-us")))
    assert segments and all(s.end_seconds > s.start_seconds for s in segments)
    thresholds = speaker().thresholds
    assert judge_voices(segments, index, thresholds, frozenset()).outcome == "fail"
    consented = judge_voices(segments, index, thresholds, frozenset({"ada"}))
    assert {f.verdict for f in consented.findings} == {VoiceVerdict.CONSENTED}


def test_too_little_speech_enrols_no_voice():
    assert speaker().enrol(video(np.zeros(3 * AUDIO_RATE, np.float32))) is None


def test_a_model_file_with_another_digest_is_refused():
    with pytest.raises(ModelUnavailableError, match="not the pinned"):
        pinned_file("silero-vad", "6.2.3", "silero_vad", "data/silero_vad.onnx", "0" * 64)
    with pytest.raises(ModelUnavailableError, match="is pinned"):
        pinned_file("silero-vad", "0.0.1", "silero_vad", "data/silero_vad.onnx", "0" * 64)


def test_a_model_that_cannot_load_is_not_configured_and_never_hears_anything():
    def broken() -> PocketsphinxDigitsChecker:
        raise ModelUnavailableError("pretend the wheel is missing")

    checker = LazySpokenDigitsChecker(broken)
    assert not checker.configured
    assert checker.check(b"any", "123").status is SpokenDigitsStatus.NOT_CONFIGURED
    embedder = LazySpeakerEmbedder(broken, "resemblyzer", speaker().thresholds)  # type: ignore[arg-type]
    assert not embedder.configured and embedder.model_id == "resemblyzer"


def test_voice_templates_are_unit_vectors_of_the_pinned_model():
    template = speaker().enrol(video(*spoken(SENTENCES[3], "en+m1")))
    assert isinstance(template, FaceTemplate) and template.metric is Metric.COSINE
    assert abs(float(np.linalg.norm(template.vector)) - 1.0) < 1e-3
