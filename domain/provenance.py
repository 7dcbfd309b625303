"""Ports and value objects for provenance: an invisible watermark carried by the pixels of a
published video, and a signed C2PA manifest carried by its container. Implementations live
in `inference/` (watermark) and `adapters/` (signing)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

# Frames cross this port as an array-like batch, so that the domain stays free of numpy:
# shape (frames, height, width, 3), dtype uint8, RGB channel order, one video's frames in
# display order. Implementations may also accept (frames, height, width) uint8 luma planes.
FrameBatch = Any

DIGITAL_SOURCE_TYPE = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
# The invisible watermark's identifier in the C2PA soft-binding assertion and the Soft Binding
# Resolution API (reverse-domain, as the C2PA soft-binding algorithm list asks; not listed).
SOFT_BINDING_ALGORITHM = "com.consentry.watermark.dct-ss.v2"


class WatermarkError(ValueError):
    """A payload or a frame batch the watermarker cannot work with."""


@dataclass(frozen=True)
class WatermarkReading:
    """What a detector read from a video.

    `payload` is None unless the evidence clears the detector's false-positive threshold.
    `confidence` is the fraction of the codeword's symbols read as the best decoded payload
    says (1.0 for a pristine mark; an unmarked video reads a few by chance, 0.0 when nothing
    decoded at all), and `false_positive_probability` bounds the chance that an unmarked
    video yields a payload supported at least this well (see the implementation).
    """

    payload: bytes | None
    confidence: float
    false_positive_probability: float
    frames_examined: int = 0

    @property
    def found(self) -> bool:
        return self.payload is not None


class Watermarker(Protocol):
    """Embeds a fixed-size payload into a batch of frames and reads it back after the video
    went through re-encoding, scaling, cropping and colour changes."""

    @property
    def payload_bytes(self) -> int:
        """Size of the payload this watermarker carries, in bytes."""
        ...

    def embed(self, frames: FrameBatch, payload: bytes) -> FrameBatch:
        """Return a marked copy of `frames` (same shape and dtype) carrying `payload`."""
        ...

    def detect(self, frames: FrameBatch) -> WatermarkReading:
        """Read the payload from `frames`, or report that none is there."""
        ...


@dataclass(frozen=True)
class ProvenanceClaim:
    """What the platform asserts about a published video in its signed manifest: the
    generation, its watermark serial, when it was made and by which system (the signer
    adds the provider and the platform's version)."""

    generation_id: str
    watermark_payload: bytes
    title: str = "generated video"
    generator: str = "consentry"
    created_at: datetime | None = None  # None: the moment of signing
    system: str = ""  # the model that rendered it (the generator port's name)
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Disclosure:
    """The AI-generation disclosure a manifest carries (what EU AI Act Art. 50 and the
    California AI Transparency Act ask a marking to say): who provides the system, which
    system and version made the video, when, and a unique identifier (the manifest's)."""

    provider: str
    system_name: str
    system_version: str
    created_at: str  # ISO 8601, UTC
    manifest_id: str
    digital_source_type: str


@dataclass(frozen=True)
class ProvenanceRecord:
    """A manifest read back from a file. `valid` is False when the signature or the hash
    binding to the media bytes does not verify; `trusted` is False when the signing chain
    does not lead to a configured trust anchor (a development chain never does)."""

    generation_id: str | None
    watermark_payload: bytes | None
    valid: bool
    trusted: bool
    digital_source_type: str | None
    issues: tuple[str, ...] = ()
    disclosure: Disclosure | None = None


@dataclass(frozen=True)
class VisibleMarkSighting:
    """Whether a copy still shows the visible mark: `state` is "readable" (as drawn),
    "mirrored" (the text reads backwards; the "AI" badge reads the same), "badge" (only the
    badge is seen) or "missing" (not seen: removed, covered, cropped out, or distorted
    beyond what the finder searches; on a copy the invisible watermark names as ours, a
    sign of tampering); with the finder's scores."""

    state: str
    upright: float
    mirrored: float
    badge: float


class VisibleMarkFinder(Protocol):
    """Looks for a generation's visible mark (with its creator's handle) in luma frames."""

    def sight(self, luma: FrameBatch, handle: str) -> VisibleMarkSighting: ...


class ProvenanceError(RuntimeError):
    """Signing failed, or a file carries no readable manifest."""


class ProvenanceSigner(Protocol):
    """Attaches a signed provenance manifest to an MP4 and reads it back."""

    def sign_file(self, source: Path, destination: Path, claim: ProvenanceClaim) -> None:
        """Write `source` with a signed manifest describing `claim` to `destination`."""
        ...

    def sign_bytes(self, mp4: bytes, claim: ProvenanceClaim) -> bytes:
        """Return `mp4` with a signed manifest describing `claim` embedded."""
        ...

    def read_file(self, path: Path) -> ProvenanceRecord:
        """Read and verify the manifest of `path`; raise ProvenanceError if it has none."""
        ...

    def read_bytes(self, mp4: bytes) -> ProvenanceRecord:
        """Read and verify the manifest embedded in `mp4`."""
        ...
