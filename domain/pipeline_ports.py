"""The generation worker's ports, besides those it shares with the rest of the domain
(generator, blob store, watermarker, signer): the cameo owners' enrolled faces, the scans of
sampled frames, the voices in the audio, video tools and the visible mark."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

from domain.blobs import BlobStore
from domain.faces import FaceScanReport, FaceTemplate
from domain.generator import Generator
from domain.provenance import ProvenanceSigner, Watermarker
from domain.verification import TemplateSealer
from domain.voice import VoiceScanReport

Frames = Any  # sampled frames: a list of (seconds, H x W x 3 uint8 RGB)


class CameoFaces(Protocol):
    """A cameo owner's enrolled face, opened with their data key for this job only."""

    def template(self, member_id: UUID) -> FaceTemplate | None: ...

    def reference(self, member_id: UUID) -> bytes | None:
        """The reference face image (PNG), decrypted in memory; None once erased."""
        ...


class FaceScanner(Protocol):
    @property
    def configured(self) -> bool: ...

    def scan_frames(self, frames: Frames, cameos: Mapping[str, FaceTemplate]
                    ) -> FaceScanReport: ...


class FrameScanner(Protocol):
    """The protected-work scan and the safety classifier: sampled frames in, a report out
    that `as_findings()` turns into the plain data recorded in `Generation.Scanned`."""

    def scan(self, frames: Frames) -> Any: ...


class VoiceScanner(Protocol):
    """VOICE-NOT-OTHERS on a rendered video: its speech against the enrolled voices
    (`consenting`: identity ids of the generation's consenting cameos)."""

    def scan(self, media: bytes, consenting: frozenset[str]) -> VoiceScanReport: ...


class VideoTools(Protocol):
    def sample(self, mp4: bytes, fps: float) -> Frames: ...

    def decode(self, mp4: bytes) -> tuple[Any, float]:
        """All frames as one (N, H, W, 3) uint8 batch, and the frame rate."""
        ...

    def decode_luma(self, mp4: bytes) -> Any:
        """All frames' luma planes, (N, H, W) uint8: what the watermark detector reads."""
        ...

    def encode(self, frames: Any, fps: float, audio_from: bytes | None = None) -> bytes:
        """H.264 yuv420p MP4 with faststart, for publication, with the audio track of
        `audio_from` (the rendered file) copied in unchanged: the sound that was scanned
        is the sound that is published."""
        ...

    def jpeg(self, frame: Any) -> bytes: ...


class VisibleMarker(Protocol):
    def apply(self, frames: Any, handle: str, fps: float) -> Any: ...


@dataclass
class PipelinePorts:
    generator: Generator
    blobs: BlobStore
    cameo_faces: CameoFaces
    faces: FaceScanner
    works: FrameScanner
    safety: FrameScanner
    video: VideoTools
    watermarker: Watermarker
    signer: ProvenanceSigner
    marker: VisibleMarker | None = None
    # None: no voice scan was wired in; the rule then holds every video (not configured).
    voices: VoiceScanner | None = None
    # Seals each face track's template under the video's key (domain.faces.generation_key)
    # for the retroactive scan of people who verify later; None: nothing is kept, and those
    # scans count the video as unchecked.
    sealer: TemplateSealer | None = None
