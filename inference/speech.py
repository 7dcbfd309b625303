"""Speech in a verification video: its audio track decoded to 16 kHz mono (PyAV), the speech
found by Silero VAD (ONNX, from the silero-vad wheel), and the challenge digits read by
PocketSphinx (en-US model from its wheel) restricted to a grammar of digit words."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from domain.faces import SpokenDigitsResult, SpokenDigitsStatus
from inference.face_scan import SCAN_LIMITS
from inference.media_reader import audio_samples
from inference.pinned import pinned_file, pinned_folder

__all__ = ["AUDIO_RATE", "PocketsphinxDigitsChecker", "SileroSpeechDetector", "decode_audio",
           "speech_seconds"]

AUDIO_RATE = 16_000
SILERO_VERSION = "6.2.3"
SILERO_SHA256 = "1a153a22f4509e292a94e67d6f9b85e8deb25b4988682b7e174c65279d8788e3"
POCKETSPHINX_VERSION = "5.1.1"
# folder_digest of pocketsphinx/model/en-us/en-us (the acoustic model) and the dictionary.
ACOUSTIC_MODEL_DIGEST = "ed38e711379ea7b431e0a03c1a97629c633068c64524d4fcc9bdadcf4b08d5f3"
DICTIONARY_SHA256 = "20b5c293e1f311fb375fe067e500ec5636f4fc7af5594967263696def9b23bfe"
DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def decode_audio(media: bytes, rate: int = AUDIO_RATE) -> np.ndarray | None:
    """The first audio stream as float32 mono samples in [-1, 1] at `rate`; None when the
    container has no audio stream. Through the bounded reader: a file past the scan's
    limits raises its errors (domain.errors) instead of decoding on."""
    return audio_samples(media, None, SCAN_LIMITS, rate)


class SileroSpeechDetector:
    """Speech segments (sample offsets at 16 kHz) by Silero VAD 6.2.3: its ONNX model from
    the wheel through onnxruntime, and the package's own `get_speech_timestamps` (the
    thresholds and minimum durations its authors tuned). Thread-safe (one lock)."""

    def __init__(self, threshold: float = 0.5, min_speech_ms: int = 150,
                 min_silence_ms: int = 100) -> None:
        path = pinned_file("silero-vad", SILERO_VERSION, "silero_vad",
                           "data/silero_vad.onnx", SILERO_SHA256)
        # Importing silero_vad sets torch's thread count to 1 for the whole process;
        # put back whatever the process had chosen.
        threads = torch.get_num_threads()
        from silero_vad.utils_vad import OnnxWrapper, get_speech_timestamps

        torch.set_num_threads(threads)
        self._model: Any = OnnxWrapper(str(path), force_onnx_cpu=True)
        self._timestamps = get_speech_timestamps
        self.model_id = f"silero-vad-{SILERO_VERSION}@sha256:{SILERO_SHA256[:12]}"
        self.threshold = threshold
        self.min_speech_ms = min_speech_ms
        self.min_silence_ms = min_silence_ms
        self._lock = threading.Lock()

    def segments(self, audio: np.ndarray) -> list[tuple[int, int]]:
        """(start, end) sample offsets of each stretch of speech, in order."""
        if audio.size < 512:
            return []
        with self._lock:
            found = self._timestamps(
                torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32)),
                self._model, sampling_rate=AUDIO_RATE, threshold=self.threshold,
                min_speech_duration_ms=self.min_speech_ms,
                min_silence_duration_ms=self.min_silence_ms)
        return [(int(s["start"]), int(s["end"])) for s in found]


@dataclass(frozen=True)
class DigitsSettings:
    """`min_speech_seconds`: less speech than this is `no_speech`; `pad_seconds`: audio
    kept either side of the speech the detector found. `silence_probability` and
    `phone_insertion_penalty` were tuned on espeak-ng voices in MP4 (AAC) round trips:
    with PocketSphinx's defaults (silprob 0.005) the grammar search explained "six",
    "seven" and "eight" as silence and heard nothing; with silence made very unlikely
    (1e-20) any padding around the speech was read as digits; 1e-4 with 0.15 s of
    padding was the steadiest while tuning. `benchmarks/verification.py` measures it."""

    min_speech_seconds: float = 0.5
    pad_seconds: float = 0.15
    silence_probability: float = 1e-4
    phone_insertion_penalty: float = 0.5
    # The challenge is heard when it is among this many distinct best hypotheses: the
    # acoustic model confuses "seven" and "two" on synthetic voices, and a random
    # challenge that another reading happens to produce among 3 of 1,000 sequences is
    # still a 0.3% chance.
    candidates: int = 3


class PocketsphinxDigitsChecker:
    """`SpokenDigitsChecker`: after the detector finds speech, PocketSphinx decodes it
    with a grammar of exactly as many digit words as the challenge has ("oh" counts as
    zero); the challenge must be one of the `candidates` best readings, in its order.
    A decoder is not thread-safe, so each is used under a lock."""

    configured = True

    def __init__(self, detector: SileroSpeechDetector | None = None,
                 settings: DigitsSettings | None = None) -> None:
        from pocketsphinx import Decoder

        self._folder = pinned_folder("pocketsphinx", POCKETSPHINX_VERSION, "pocketsphinx",
                                     "model/en-us/en-us", ACOUSTIC_MODEL_DIGEST)
        self._dictionary = pinned_file("pocketsphinx", POCKETSPHINX_VERSION, "pocketsphinx",
                                       "model/en-us/cmudict-en-us.dict", DICTIONARY_SHA256)
        self._decoder_type = Decoder
        self.detector = detector or SileroSpeechDetector()
        self.settings = settings or DigitsSettings()
        self.model_id = (f"pocketsphinx-{POCKETSPHINX_VERSION}/en-us@"
                         f"{ACOUSTIC_MODEL_DIGEST[:12]}+{self.detector.model_id}")
        self._decoders: dict[int, Any] = {}
        self._lock = threading.Lock()

    def check(self, media: bytes, digits: str) -> SpokenDigitsResult:
        audio = decode_audio(media)
        if audio is None:
            return SpokenDigitsResult(SpokenDigitsStatus.NO_SPEECH, "the video has no audio")
        segments = self.detector.segments(audio)
        speech = sum(end - start for start, end in segments) / AUDIO_RATE
        if speech < self.settings.min_speech_seconds:
            return SpokenDigitsResult(SpokenDigitsStatus.NO_SPEECH,
                                      f"{speech:.2f} s of speech found", "", speech)
        pad = int(self.settings.pad_seconds * AUDIO_RATE)
        region = audio[max(0, segments[0][0] - pad):segments[-1][1] + pad]
        readings = self.readings(region, len(digits))
        heard = readings[0] if readings else ""
        status = SpokenDigitsStatus.HEARD if digits in readings else \
            SpokenDigitsStatus.NOT_HEARD
        spoken = " ".join(heard) or "nothing"
        return SpokenDigitsResult(status, f"heard {spoken}", heard, speech)

    def transcribe(self, audio: np.ndarray, count: int) -> str:
        """The best reading of `count` digits in `audio` (16 kHz float); "" when none."""
        readings = self.readings(audio, count)
        return readings[0] if readings else ""

    def readings(self, audio: np.ndarray, count: int) -> list[str]:
        """Up to `candidates` distinct full readings of `count` digits, best first."""
        pcm = (np.clip(audio, -1.0, 1.0) * 32767).astype("<i2").tobytes()
        found: dict[str, None] = {}
        with self._lock:
            decoder = self._decoder(count)
            decoder.start_utt()
            decoder.process_raw(pcm, full_utt=True)
            decoder.end_utt()
            best = decoder.hyp()
            texts = [best.hypstr] if best is not None else []
            for rank, hypothesis in enumerate(decoder.nbest()):
                if rank >= 10 * self.settings.candidates:
                    break
                texts.append(hypothesis.hypstr)
        for text in texts:
            words = [w for w in text.split() if w == "oh" or w in DIGIT_WORDS]
            if len(words) == count:
                found["".join(str(DIGIT_WORDS.index("zero" if w == "oh" else w))
                              for w in words)] = None
            if len(found) == self.settings.candidates:
                break
        return list(found)

    def _decoder(self, count: int) -> Any:
        decoder = self._decoders.get(count)
        if decoder is None:
            alternatives = " | ".join((*DIGIT_WORDS, "oh"))
            grammar = (f"#JSGF V1.0;\ngrammar digits;\npublic <digits> = "
                       f"{' '.join(['<digit>'] * count)};\n<digit> = {alternatives};\n")
            decoder = self._decoder_type(
                hmm=str(self._folder), dict=str(self._dictionary), samprate=AUDIO_RATE,
                silprob=self.settings.silence_probability,
                pip=self.settings.phone_insertion_penalty, dither=True, seed=1,
                loglevel="FATAL",
                logfn=os.devnull)
            decoder.add_jsgf_string("digits", grammar)
            decoder.activate_search("digits")
            self._decoders[count] = decoder
        return decoder


def speech_seconds(media: bytes, speech_dbfs: float = -35.0,
                   min_spread_db: float = 10.0) -> float | None:
    """Seconds of 30 ms windows louder than `speech_dbfs` in the first audio stream (None
    when there is none), or 0 when the level hardly varies: speech rises and falls by
    tens of dB between syllables, while a hum, a tone or steady noise does not."""
    samples = decode_audio(media)
    if samples is None:
        return None
    if samples.size == 0:
        return 0.0
    signal = samples.astype(np.float64)
    window = 480  # 30 ms at 16 kHz
    usable = signal[: len(signal) // window * window].reshape(-1, window)
    if usable.shape[0] == 0:
        return 0.0
    rms = np.sqrt(np.mean(usable * usable, axis=1))
    level = 20.0 * np.log10(np.maximum(rms, 1e-9))
    spread = float(np.percentile(level, 90) - np.percentile(level, 10))
    if spread < min_spread_db:
        return 0.0
    return float(np.count_nonzero(level > speech_dbfs)) * window / 16_000
