"""The generator port: turns an allowed generation request into a short H.264 clip. The
composite generator (embedded default), a diffusers text-to-video adapter (production, GPU)
and test generators implement it in `inference/`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class GeneratorNotConfiguredError(RuntimeError):
    """The generator's weights are missing where the configuration says they are; raised at
    start-up, never answered with a download or random weights."""


@dataclass(frozen=True)
class CameoReference:
    """A cameo owner's reference face for one job: an encoded image (PNG) decrypted in
    memory for this job only, never written to disk in the clear (empty: a reference that
    lends only a voice). Best a crop around the face with some margin (the face about half
    its height): the compositing generators show its centre at about 70% of the frame
    height."""

    owner_id: str
    handle: str
    face_png: bytes
    # The owner's free-text instructions ("never show me eating meat"): a generator that
    # can steer by text takes them as things to avoid.
    instructions: str = ""
    # A recording of the person speaking (a 16-bit PCM WAV file), which a compositing
    # generator plays back in its audio track. The platform keeps no recording (a
    # verification keeps only a sealed voice template), so the worker never sets it: only
    # test generators do, to make videos that speak in someone's voice.
    voice_wav: bytes = b""


@dataclass(frozen=True)
class RenderRequest:
    generation_id: str
    prompt: str
    seconds: float
    width: int
    height: int
    fps: int
    cameos: tuple[CameoReference, ...] = ()
    seed: int = 0


@dataclass(frozen=True)
class RenderedClip:
    """An MP4 (H.264, yuv420p) in memory with what the generator knows of it."""

    mp4: bytes
    frames: int
    seconds: float
    width: int
    height: int
    generator: str


class Generator(Protocol):
    @property
    def name(self) -> str:
        """Names the generator honestly in events and evidence (e.g. `composite-v1`)."""
        ...

    def render(self, request: RenderRequest) -> RenderedClip: ...
