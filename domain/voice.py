"""Voice, the other half of a cameo (SPEC §8): a speaker-embedding port mirroring the face
port, its thresholds, and the pure judgement of speech in generated audio against the
enrolled voices (VOICE-NOT-OTHERS). Voice templates are `FaceTemplate`s of a voice model:
an embedding with its model id and metric, sealed and compared the same way."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from domain.faces import FaceIndex, FaceTemplate, MatchDecision, Metric

VoiceTemplate = FaceTemplate
VOICE = "voice"  # named in a verification's `unchecked` when no speaker model runs


class SpeakerModelNotConfiguredError(RuntimeError):
    """A speaker embedder without real weights was asked to embed; callers fail closed."""


@dataclass(frozen=True)
class VoiceThresholds:
    """Cosine distances (1 - similarity) of one speaker model: up to `match` the same
    voice; up to `review` a person must listen; `min_speech_seconds`: less speech than
    this is not judged at all (too little to tell voices apart)."""

    model_id: str
    match: float
    review: float
    min_speech_seconds: float = 1.0

    def __post_init__(self) -> None:
        if not 0 <= self.match <= self.review:
            raise ValueError("thresholds need 0 <= match <= review")

    def decide(self, distance: float) -> MatchDecision:
        if distance <= self.match:
            return MatchDecision.MATCH
        if distance <= self.review:
            return MatchDecision.REVIEW
        return MatchDecision.NO_MATCH


@dataclass(frozen=True)
class SpeechSegment:
    """One stretch of speech in a video's audio and the voice embedded from it."""

    start_seconds: float
    end_seconds: float
    template: VoiceTemplate


class SpeakerEmbedder(Protocol):
    """Finds speech in a video's audio and embeds voices. `configured` is False without
    real weights: such an embedder raises `SpeakerModelNotConfiguredError`."""

    @property
    def model_id(self) -> str: ...

    @property
    def metric(self) -> Metric: ...

    @property
    def configured(self) -> bool: ...

    @property
    def thresholds(self) -> VoiceThresholds: ...

    def enrol(self, media: bytes) -> VoiceTemplate | None:
        """One template from all the speech in the video (a verification); None when
        there is less speech than `thresholds.min_speech_seconds`."""
        ...

    def segments(self, media: bytes) -> list[SpeechSegment]:
        """A template per stretch of speech long enough to judge (generated audio)."""
        ...


@dataclass(frozen=True)
class NotConfiguredSpeakerEmbedder:
    """Stands in where no speaker model could be loaded: the verification records voice
    as unchecked, and the gate holds generated speech for review instead of passing it."""

    reason: str
    model_id: str = "none"
    metric: Metric = Metric.COSINE
    configured: bool = False

    @property
    def thresholds(self) -> VoiceThresholds:
        return VoiceThresholds(self.model_id, 0.0, 0.0)

    def enrol(self, media: bytes) -> VoiceTemplate | None:
        raise SpeakerModelNotConfiguredError(self.reason)

    def segments(self, media: bytes) -> list[SpeechSegment]:
        raise SpeakerModelNotConfiguredError(self.reason)


class VoiceVerdict(StrEnum):
    CONSENTED = "consented"  # a consenting cameo's own voice
    OTHER_IDENTITY = "other_identity"  # an enrolled person who is not a consenting cameo
    REVIEW = "review"  # near the threshold, or near a cameo and someone else at once
    UNKNOWN = "unknown"  # nobody enrolled (a synthetic voice)


@dataclass(frozen=True)
class VoiceFinding:
    start_seconds: float
    end_seconds: float
    subject_id: str | None
    distance: float | None
    verdict: VoiceVerdict


@dataclass(frozen=True)
class VoiceScanReport:
    """What VOICE-NOT-OTHERS decides on: `outcome` is "pass", "review" or "fail"; not
    configured (no speaker model) is always "review": nobody listened."""

    model_id: str
    findings: tuple[VoiceFinding, ...]
    configured: bool = True
    reason: str = ""

    @property
    def outcome(self) -> str:
        if not self.configured:
            return "review"
        verdicts = {f.verdict for f in self.findings}
        if VoiceVerdict.OTHER_IDENTITY in verdicts:
            return "fail"
        return "review" if VoiceVerdict.REVIEW in verdicts else "pass"

    def as_findings(self) -> dict[str, Any]:
        """Plain data for `Generation.Scanned` (the shape the other scans record)."""
        return {"configured": self.configured, "model_id": self.model_id,
                "outcome": self.outcome, "reason": self.reason,
                "segments": [{"start": f.start_seconds, "end": f.end_seconds,
                              "subject_id": f.subject_id, "distance": f.distance,
                              "verdict": str(f.verdict)} for f in self.findings]}


def judge_voices(segments: list[SpeechSegment], index: FaceIndex,
                 thresholds: VoiceThresholds, consenting: frozenset[str],
                 candidates: int = 3) -> VoiceScanReport:
    """Each stretch of speech against the 1:N index of enrolled voices (subject ids are
    identity ids; `consenting`: those of this generation's consenting cameos). A
    consenting cameo's voice is allowed as their face is; another person's is not; a
    stretch within review distance of both, or only within review distance, asks a
    person."""
    findings = []
    for segment in segments:
        near = index.search(segment.template, candidates, thresholds.review)
        if not near:
            findings.append(VoiceFinding(segment.start_seconds, segment.end_seconds, None,
                                         None, VoiceVerdict.UNKNOWN))
            continue
        best = near[0]
        others = [m for m in near if m.subject_id not in consenting]
        decision = thresholds.decide(best.distance)
        if best.subject_id in consenting and decision is MatchDecision.MATCH and not others:
            verdict = VoiceVerdict.CONSENTED
        elif best.subject_id not in consenting and decision is MatchDecision.MATCH:
            verdict = VoiceVerdict.OTHER_IDENTITY
        else:
            verdict = VoiceVerdict.REVIEW
        findings.append(VoiceFinding(segment.start_seconds, segment.end_seconds,
                                     best.subject_id, round(best.distance, 4), verdict))
    return VoiceScanReport(thresholds.model_id, tuple(findings))


def scan_voices(embedder: SpeakerEmbedder, media: bytes, index: FaceIndex,
                consenting: frozenset[str]) -> VoiceScanReport:
    """VOICE-NOT-OTHERS for one rendered video: its speech against the enrolled voices.
    An embedder that is not configured yields a not-configured report (review)."""
    if not embedder.configured:
        return VoiceScanReport(embedder.model_id, (), configured=False,
                               reason="no speaker model is configured")
    return judge_voices(embedder.segments(media), index, embedder.thresholds, consenting)
