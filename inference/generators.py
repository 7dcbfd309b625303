"""The composite generator (the embedded default, no model) and the leaky test generator
(SPEC journey 3). Both are named for what they are in every event and piece of evidence."""

from __future__ import annotations

import io
import math
import wave
from collections.abc import Iterator, Mapping
from dataclasses import replace

import av
import numpy as np

from domain.generator import CameoReference, Generator, RenderedClip, RenderRequest
from inference.cameo_composite import cameo_faces
from inference.composite_scene import ProceduralScene
from inference.video_encode import encode_h264


def frame_count(request: RenderRequest) -> int:
    """Frames of a clip: the requested seconds at the requested rate, at least one."""
    if request.seconds <= 0 or request.fps <= 0 or request.width < 2 or request.height < 2:
        raise ValueError("a render needs positive seconds, fps and size")
    return max(1, math.floor(request.seconds * request.fps + 0.5))


def even_size(request: RenderRequest) -> tuple[int, int]:
    """H.264 yuv420p needs even sides: an odd one loses its last pixel."""
    return request.width & ~1, request.height & ~1


AUDIO_RATE = 16_000
VOICE_START_SECONDS = 0.25


def wav_samples(wav: bytes, rate: int = AUDIO_RATE) -> np.ndarray:
    """A 16-bit PCM WAV file as float32 mono samples at `rate` (channels averaged,
    resampled by FFmpeg's resampler through PyAV)."""
    try:
        with wave.open(io.BytesIO(wav)) as sound:
            if sound.getsampwidth() != 2:
                raise ValueError("a voice recording must be 16-bit PCM")
            source_rate, channels = sound.getframerate(), sound.getnchannels()
            pcm = np.frombuffer(sound.readframes(sound.getnframes()), dtype="<i2")
    except (wave.Error, EOFError) as exc:
        raise ValueError(f"the voice recording is not a WAV file: {exc}") from None
    mono = pcm.reshape(-1, channels).mean(axis=1, dtype=np.float32) / 32768.0
    frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(mono)[None, :], format="flt",
                                       layout="mono")
    frame.sample_rate = source_rate
    resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
    out = [*resampler.resample(frame), *resampler.resample(None)]
    return np.concatenate([f.to_ndarray().reshape(-1) for f in out]) if out \
        else np.zeros(0, np.float32)


class CompositeGenerator:
    """Not a generative model: a procedural scene picked and coloured by the prompt and the
    seed, a caption with the prompt's first words, and the cameo owners' reference faces
    pasted in, one per cameo side by side. It lets the embedded deployment and the tests
    run the whole gate (face, work, safety and voice scans, watermark, C2PA) on real video
    with real faces, offline and in seconds. Deterministic: one request, one byte-identical
    MP4.

    The audio track (AAC, 16 kHz mono) is silence, except where a reference carries a
    recording of its person (`CameoReference.voice_wav`) or `voices` holds one for a
    cameo owner (by owner id: a test asking for a video in the cameo's own voice): those
    are played one after the other from 0.25 s, cut at the clip's end. It has no voice
    model, so without a recording it never speaks."""

    name = "composite-v1"

    def __init__(self, *, crf: int = 18, preset: str = "veryfast",
                 voices: Mapping[str, bytes] | None = None) -> None:
        self._crf = crf
        self._preset = preset
        self._voices = dict(voices or {})

    def soundtrack(self, request: RenderRequest, seconds: float) -> np.ndarray:
        """The clip's audio: silence with the recordings the cameos lend, in order."""
        audio = np.zeros(max(1, round(seconds * AUDIO_RATE)), np.float32)
        at = round(VOICE_START_SECONDS * AUDIO_RATE)
        for cameo in request.cameos:
            wav = cameo.voice_wav or self._voices.get(cameo.owner_id, b"")
            if not wav or at >= audio.size:
                continue
            voice = wav_samples(wav)[:audio.size - at]
            audio[at:at + voice.size] += voice
            at += voice.size
        return np.clip(audio, -1.0, 1.0)

    def render(self, request: RenderRequest) -> RenderedClip:
        count = frame_count(request)
        width, height = even_size(request)
        scene = ProceduralScene(request.prompt, request.seed, width, height)
        faces = cameo_faces(request.cameos, width, height, request.seed)

        def frames() -> Iterator[np.ndarray]:
            for index in range(count):
                t = index / request.fps
                frame = scene.frame(t)
                for face in faces:
                    face.draw(frame, t)
                scene.caption(frame)
                yield frame

        mp4, encoded = encode_h264(frames(), width=width, height=height, fps=request.fps,
                                   crf=self._crf, preset=self._preset,
                                   audio=self.soundtrack(request, count / request.fps),
                                   audio_rate=AUDIO_RATE)
        return RenderedClip(mp4=mp4, frames=encoded, seconds=encoded / request.fps,
                            width=width, height=height, generator=self.name)


class LeakyGenerator:
    """A test generator that misbehaves the way SPEC journey 3 fears: it shows a face the
    request never named (an unconsented, verified person) beside the requested cameos,
    or speaks in their recorded voice (`leaked_voice_wav`), or both. It hands the wrapped
    generator one extra cameo, so the wrapped one must composite cameo references (the
    composite and the diffusers generators do; only the composite one plays voices)."""

    name = "leaky-test"

    def __init__(self, inner: Generator, leaked_face_png: bytes = b"", *,
                 leaked_voice_wav: bytes = b"", leaked_handle: str = "unconsented") -> None:
        if not leaked_face_png and not leaked_voice_wav:
            raise ValueError("a leaky generator leaks a face, a voice or both")
        self._inner = inner
        self._leaked = CameoReference(owner_id="", handle=leaked_handle,
                                      face_png=leaked_face_png, voice_wav=leaked_voice_wav)

    def render(self, request: RenderRequest) -> RenderedClip:
        leaky = replace(request, cameos=(*request.cameos, self._leaked))
        return replace(self._inner.render(leaky), generator=self.name)

