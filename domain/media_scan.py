"""Ports and value objects for the frame scans after generation: protected works seen in the
frames (perceptual hashes, image embeddings) and safety labels. Frames cross these ports as
`Frames`: a sequence of (seconds, HxWx3 uint8 RGB array) pairs, so the domain needs no numpy."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol
from uuid import UUID

from domain.faces import MatchDecision

Frames = Any

PDQ = "pdq"
EMBEDDING = "embedding"
WORK_SCAN_METHODS = (PDQ, EMBEDDING)


class ScanModelUnavailableError(RuntimeError):
    """A scan model's checkpoint is configured but cannot be loaded as that model."""


@dataclass(frozen=True)
class FrameVotePolicy:
    """Turns per-frame evidence into one decision for a work. A single matching frame is
    held for a person (a flash of something similar happens by chance); `min_frames`
    matching frames, or `min_fraction` of the usable frames (short clips), is a match."""

    min_frames: int = 2
    min_fraction: float = 0.5

    def decide(self, matched: int, near: int, usable: int) -> MatchDecision:
        if matched and (matched >= self.min_frames or matched >= self.min_fraction * usable):
            return MatchDecision.MATCH
        if matched or near:
            return MatchDecision.REVIEW
        return MatchDecision.NO_MATCH


_RANK = {MatchDecision.MATCH: 2, MatchDecision.REVIEW: 1, MatchDecision.NO_MATCH: 0}


@dataclass(frozen=True)
class WorkMatch:
    """One work seen (or nearly seen) in a video by one method. `score` is a similarity in
    [0, 1], higher is closer: 1 - hamming/256 for PDQ (31 bits = 0.879), the cosine
    similarity for embeddings. `seconds`: the sampled frames at or near the threshold."""

    work_id: UUID
    reference: str  # digest of the reference that came closest
    method: str  # "pdq" | "embedding"
    score: float
    decision: MatchDecision
    frames_matched: int
    frames_near: int = 0
    seconds: tuple[float, ...] = ()

    def as_findings(self) -> dict[str, Any]:
        return {"work_id": str(self.work_id), "reference": self.reference,
                "method": self.method, "score": round(self.score, 4),
                "decision": str(self.decision), "frames_matched": self.frames_matched,
                "frames_near": self.frames_near, "seconds": [round(s, 2) for s in self.seconds]}


@dataclass(frozen=True)
class WorkScanReport:
    """What the protected-work scan saw. `unchecked` names the methods that could not look
    (no model configured); weighing that is the policy's job (rule WORK-VISUAL)."""

    matches: tuple[WorkMatch, ...]
    unchecked: tuple[str, ...] = ()
    frames_sampled: int = 0
    frames_usable: int = 0  # frames with enough detail to hash (PDQ quality >= 50)

    @property
    def configured(self) -> bool:
        return any(method not in self.unchecked for method in WORK_SCAN_METHODS)

    @property
    def decision(self) -> MatchDecision:
        """The strongest decision of any match, NO_MATCH when nothing came near."""
        return max((m.decision for m in self.matches), key=_RANK.__getitem__,
                   default=MatchDecision.NO_MATCH)

    def as_findings(self) -> dict[str, Any]:
        return {"configured": self.configured, "unchecked": list(self.unchecked),
                "frames_sampled": self.frames_sampled, "frames_usable": self.frames_usable,
                "matches": [m.as_findings() for m in self.matches]}


class SafetyDecision(StrEnum):
    ALLOW = "allow"
    REVIEW = "review"
    BLOCK = "block"


@dataclass(frozen=True)
class SafetyReport:
    """Safety labels of a video: each label with its highest score over the sampled frames,
    in the classifier's label order. Not configured means nobody looked: `review`."""

    labels: tuple[tuple[str, float], ...]
    decision: SafetyDecision
    configured: bool
    model_id: str = ""
    reason: str = ""

    def as_findings(self) -> dict[str, Any]:
        findings: dict[str, Any] = {
            "configured": self.configured, "decision": str(self.decision),
            "labels": {label: round(score, 4) for label, score in self.labels},
            "model_id": self.model_id}
        if self.reason:
            findings["reason"] = self.reason
        return findings


class ReferenceHasher(Protocol):
    """Perceptual hashes of a rights holder's reference image or clip, as recorded in
    `Work.ReferenceAdded.hashes` (key: method/frame/variant, value: the hash in hex). A
    reference without enough detail to hash gives an empty dict."""

    def hash_reference(self, media: bytes, media_type: str) -> dict[str, str]: ...


class ReferenceEmbedder(Protocol):
    """Image embeddings of a reference, serialised for the blob store (the event records the
    blob's digest as `embedding_ref`). Not configured: `embed_reference` returns None."""

    @property
    def configured(self) -> bool: ...

    def embed_reference(self, media: bytes, media_type: str) -> bytes | None: ...


class WorkScanner(Protocol):
    """Matches a video's sampled frames against every live work's references."""

    @property
    def configured(self) -> Mapping[str, bool]:
        """Per method ("pdq", "embedding"): whether it can look."""
        ...

    def scan(self, frames: Frames) -> WorkScanReport: ...


class CategorySafetyClassifier(Protocol):
    """A safety model for some categories only (`categories`); its report labels those.
    `SafetyClassifier`s are composed from these, one or more per category."""

    @property
    def categories(self) -> tuple[str, ...]: ...

    @property
    def configured(self) -> bool: ...

    def scan(self, frames: Frames) -> SafetyReport: ...


class SafetyClassifier(Protocol):
    @property
    def configured(self) -> bool: ...

    def scan(self, frames: Frames) -> SafetyReport: ...


@dataclass(frozen=True)
class NotConfiguredReferenceEmbedder:
    """No embedding model: references are kept with hashes only."""

    reason: str = "no image-embedding checkpoint is configured"
    configured: bool = False

    def embed_reference(self, media: bytes, media_type: str) -> bytes | None:
        return None


@dataclass(frozen=True)
class NotConfiguredSafetyClassifier:
    """No safety model: every video is reported unlabelled and held for review (fail
    closed), never allowed."""

    reason: str = "no safety classifier is configured"
    configured: bool = False

    def scan(self, frames: Frames) -> SafetyReport:
        return SafetyReport((), SafetyDecision.REVIEW, configured=False, reason=self.reason)
