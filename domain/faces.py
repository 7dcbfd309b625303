"""Ports and value objects for faces: detection, landmarks and embeddings (`FaceAnalyzer`),
1:N search (`FaceIndex`), per-identity data keys (`KeyStore`) and the spoken-digits check.
Templates carry their model id and metric; templates of different models never compare."""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol
from uuid import UUID

# Images cross these ports as array-likes so that the domain stays free of numpy: shape
# (height, width, 3), dtype uint8, RGB channel order.
FrameImage = Any

_TEMPLATE_MAGIC = b"FT1"


class Metric(StrEnum):
    """How two embeddings of one model are compared; lower is always more alike."""

    L2 = "l2"  # Euclidean distance between raw vectors (dlib's ResNet)
    COSINE = "cosine"  # 1 - cosine similarity (ArcFace models)


class IncomparableTemplatesError(ValueError):
    """Two templates from different models (or metrics) were about to be compared."""


class FaceModelUnavailableError(RuntimeError):
    """A face model's weights are missing or incomplete where the configuration says they
    are. Raised at start-up; nothing is ever downloaded in its place."""


class FaceAnalyzerNotConfiguredError(RuntimeError):
    """A face analyzer without real weights was asked to analyse; callers fail closed."""


@dataclass(frozen=True)
class FaceTemplate:
    """One embedding with the identity of the model that produced it. Vectors are kept and
    serialised as float32, which is the precision every face model here computes in."""

    model_id: str
    metric: Metric
    vector: tuple[float, ...]

    def distance(self, other: FaceTemplate) -> float:
        if (self.model_id, self.metric) != (other.model_id, other.metric):
            raise IncomparableTemplatesError(
                f"cannot compare a {self.model_id!r} template with a {other.model_id!r} one")
        if len(self.vector) != len(other.vector):
            raise IncomparableTemplatesError("templates differ in dimension")
        if self.metric is Metric.L2:
            return math.dist(self.vector, other.vector)
        dot = sum(a * b for a, b in zip(self.vector, other.vector, strict=True))
        norms = math.hypot(*self.vector) * math.hypot(*other.vector)
        return 1.0 - dot / norms if norms else 1.0

    @classmethod
    def mean(cls, templates: Sequence[FaceTemplate]) -> FaceTemplate:
        """The centroid of several embeddings of one person, e.g. the best frames of a
        verification video; unit length again for cosine models, whose scale is arbitrary."""
        if not templates:
            raise ValueError("no templates to average")
        first = templates[0]
        for other in templates[1:]:
            if (other.model_id, other.metric) != (first.model_id, first.metric):
                raise IncomparableTemplatesError("templates of different models")
        count = len(templates)
        centroid = [sum(column) / count for column in zip(*(t.vector for t in templates),
                                                            strict=True)]
        if first.metric is Metric.COSINE:
            norm = math.hypot(*centroid) or 1.0
            centroid = [value / norm for value in centroid]
        return cls(first.model_id, first.metric, tuple(centroid))

    def to_bytes(self) -> bytes:
        model = self.model_id.encode()
        metric = self.metric.value.encode()
        header = struct.pack("<3sBB H", _TEMPLATE_MAGIC, len(metric), len(model),
                             len(self.vector))
        return header + metric + model + struct.pack(f"<{len(self.vector)}f", *self.vector)

    @classmethod
    def from_bytes(cls, data: bytes) -> FaceTemplate:
        head = struct.calcsize("<3sBB H")
        magic, metric_len, model_len, dim = struct.unpack_from("<3sBB H", data)
        if magic != _TEMPLATE_MAGIC or len(data) != head + metric_len + model_len + 4 * dim:
            raise ValueError("not a serialised face template")
        metric = data[head:head + metric_len].decode()
        model = data[head + metric_len:head + metric_len + model_len].decode()
        vector = struct.unpack_from(f"<{dim}f", data, head + metric_len + model_len)
        return cls(model, Metric(metric), tuple(vector))


@dataclass(frozen=True)
class Box:
    """An axis-aligned face box in pixels of the analysed image."""

    left: float
    top: float
    right: float
    bottom: float

    @property
    def width(self) -> float:
        return self.right - self.left

    @property
    def height(self) -> float:
        return self.bottom - self.top

    @property
    def size(self) -> float:
        """The shorter side: what decides whether a face has enough pixels to recognise."""
        return max(0.0, min(self.width, self.height))

    def iou(self, other: Box) -> float:
        inter_w = min(self.right, other.right) - max(self.left, other.left)
        inter_h = min(self.bottom, other.bottom) - max(self.top, other.top)
        if inter_w <= 0 or inter_h <= 0:
            return 0.0
        inter = inter_w * inter_h
        union = self.width * self.height + other.width * other.height - inter
        return inter / union if union > 0 else 0.0


Point = tuple[float, float]


@dataclass(frozen=True)
class Landmarks:
    """The model's own landmark points plus the three that every model provides, named by
    their side in the image (not the person's side): the eye centres and the nose."""

    points: tuple[Point, ...]
    eye_left: Point
    eye_right: Point
    nose: Point

    def _nose_offset(self) -> tuple[float, float]:
        # Measured in the frame of the eye line and in units of the eye distance, so that
        # roll, scale and position of the face drop out.
        ex, ey = self.eye_right[0] - self.eye_left[0], self.eye_right[1] - self.eye_left[1]
        span = math.hypot(ex, ey) or 1.0
        ux, uy = ex / span, ey / span
        mx = (self.eye_left[0] + self.eye_right[0]) / 2
        my = (self.eye_left[1] + self.eye_right[1]) / 2
        nx, ny = self.nose[0] - mx, self.nose[1] - my
        return (nx * ux + ny * uy) / span, (-nx * uy + ny * ux) / span

    @property
    def yaw(self) -> float:
        """Horizontal nose offset from the eye midpoint, per eye distance: about 0 for a
        frontal face, positive when the nose points towards the image's right edge."""
        return self._nose_offset()[0]

    @property
    def pitch(self) -> float:
        """Vertical nose offset below the eye line, per eye distance: it shrinks when the
        head tilts up and grows when it tilts down. Its frontal value differs between
        models (nose tip versus nose base), so compare it with the same face's baseline."""
        return self._nose_offset()[1]


@dataclass(frozen=True)
class DetectedFace:
    """A face found in one image: where it is, its landmarks and how usable it is.
    `sharpness` is the variance of the Laplacian of the face rescaled to 64 px (so that
    it does not depend on the face's size); `score` is the detector's own confidence."""

    box: Box
    landmarks: Landmarks
    score: float
    sharpness: float

    @property
    def size(self) -> float:
        return self.box.size


class MatchDecision(StrEnum):
    MATCH = "match"
    REVIEW = "review"
    NO_MATCH = "no_match"


@dataclass(frozen=True)
class FaceThresholds:
    """Decision distances of one model: `match` and below is the same person; up to
    `review` a person must look; `min_face_px` is the smallest face judged at all."""

    model_id: str
    match: float
    review: float
    min_face_px: int = 40

    def __post_init__(self) -> None:
        if not 0 <= self.match <= self.review:
            raise ValueError("thresholds need 0 <= match <= review")

    def decide(self, distance: float) -> MatchDecision:
        if distance <= self.match:
            return MatchDecision.MATCH
        if distance <= self.review:
            return MatchDecision.REVIEW
        return MatchDecision.NO_MATCH


class FaceAnalyzer(Protocol):
    """Finds faces with their landmarks and turns each into a template of one model.
    `configured` is False when no real weights are loaded: such an analyzer raises
    `FaceAnalyzerNotConfiguredError` instead of answering."""

    @property
    def model_id(self) -> str: ...

    @property
    def metric(self) -> Metric: ...

    @property
    def configured(self) -> bool: ...

    @property
    def thresholds(self) -> FaceThresholds: ...

    def detect(self, image: FrameImage, min_face_px: int | None = None) -> list[DetectedFace]:
        """Faces of at least `min_face_px` (default: the thresholds'), largest first."""
        ...

    def embed(self, image: FrameImage, faces: Sequence[DetectedFace]) -> list[FaceTemplate]:
        """One template per face, in the order given."""
        ...


@dataclass(frozen=True)
class UnconfiguredFaceAnalyzer:
    """Stands in where no face model could be loaded, so that every scanner that needs one
    reports *not configured* and the gate holds content for review instead of passing it."""

    reason: str
    model_id: str = "none"
    metric: Metric = Metric.L2
    configured: bool = False

    @property
    def thresholds(self) -> FaceThresholds:
        return FaceThresholds(self.model_id, 0.0, 0.0)

    def detect(self, image: FrameImage, min_face_px: int | None = None) -> list[DetectedFace]:
        raise FaceAnalyzerNotConfiguredError(self.reason)

    def embed(self, image: FrameImage, faces: Sequence[DetectedFace]) -> list[FaceTemplate]:
        raise FaceAnalyzerNotConfiguredError(self.reason)


@dataclass(frozen=True)
class IndexMatch:
    subject_id: str
    distance: float


class FaceIndex(Protocol):
    """1:N search over the enrolled templates of one model. A subject (an identity, or a
    public figure's likeness) has at most one template; adding again replaces it, and a
    removed subject is never returned again."""

    @property
    def model_id(self) -> str: ...

    def __len__(self) -> int: ...

    def __contains__(self, subject_id: object) -> bool: ...

    def add(self, subject_id: str, template: FaceTemplate) -> None: ...

    def remove(self, subject_id: str) -> bool:
        """Forget the subject; False if it was not there."""
        ...

    def search(self, template: FaceTemplate, k: int = 5,
               max_distance: float | None = None) -> list[IndexMatch]:
        """The `k` nearest subjects, nearest first, optionally only those within reach."""
        ...

    def rebuild(self, entries: Iterable[tuple[str, FaceTemplate]]) -> None:
        """Replace the whole content, e.g. with the templates replayed from events."""
        ...


class KeyStore(Protocol):
    """Per-identity data keys, kept apart from the event store so that destroying a key
    makes every copy of the template encrypted under it unreadable (crypto-shredding)."""

    def create(self, identity_id: str) -> bytes:
        """A new random key for the identity, or its existing one."""
        ...

    def get(self, identity_id: str) -> bytes | None:
        """The identity's key, or None once destroyed (or never created)."""
        ...

    def destroy(self, identity_id: str) -> None:
        """Delete the key so that no copy of it stays readable in the store's files."""
        ...


class SpokenDigitsStatus(StrEnum):
    HEARD = "heard"
    NOT_HEARD = "not_heard"  # speech, but not the challenge digits in their order
    NO_SPEECH = "no_speech"  # no audio, or too little speech to read anything from
    NOT_CONFIGURED = "not_configured"


@dataclass(frozen=True)
class SpokenDigitsResult:
    """`heard`: the digits the recogniser heard, in order; `speech_seconds`: how much
    speech the voice-activity detector found."""

    status: SpokenDigitsStatus
    detail: str = ""
    heard: str = ""
    speech_seconds: float = 0.0


class SpokenDigitsChecker(Protocol):
    """Decides whether the challenge digits are spoken in a verification video's audio.
    An implementation without a speech model says `configured = False` and answers
    `NOT_CONFIGURED`, never `HEARD`."""

    @property
    def configured(self) -> bool: ...

    def check(self, media: bytes, digits: str) -> SpokenDigitsResult: ...


class TrackVerdict(StrEnum):
    """What one face track in a generated video means for the consent gate."""

    CAMEO = "cameo"  # a requested cameo's owner, and nobody else comes close
    OTHER_IDENTITY = "other_identity"  # an enrolled person who is not a requested cameo
    REVIEW = "review"  # near a threshold, or close to a cameo and to someone else at once
    UNKNOWN = "unknown"  # matches nobody enrolled (e.g. a synthetic person)
    # A public figure's registered likeness that a grant (or their own cameo) covers.
    LICENSED_LIKENESS = "licensed_likeness"


# Subjects of the 1:N face index: an identity's id, or one reference face of a public
# figure's likeness work, `work:<work id>:<reference digest prefix>`; the work's faces are
# sealed under the key `work:<work id>`, destroyed when the work is withdrawn.
LIKENESS_PREFIX = "work:"


def likeness_key(work_id: UUID) -> str:
    return f"{LIKENESS_PREFIX}{work_id}"


def generation_key(generation_id: UUID) -> str:
    """The key the face-track templates a video's scan kept are sealed under (the
    retroactive scan of a newly verified person opens them); destroyed with the video."""
    return f"generation:{generation_id}"


def likeness_subject(work_id: UUID, reference_digest: str) -> str:
    return f"{likeness_key(work_id)}:{reference_digest[:16]}"


def likeness_work_of(subject_id: str) -> UUID:
    """The work a likeness subject belongs to (ValueError for any other subject)."""
    if not subject_id.startswith(LIKENESS_PREFIX):
        raise ValueError(f"{subject_id!r} is not a likeness subject")
    return UUID(subject_id.removeprefix(LIKENESS_PREFIX).partition(":")[0])


def members_seen(findings: dict[str, Any]) -> set[UUID]:
    """Members whose faces the scan matched (or nearly matched) in a recorded video."""
    seen: set[UUID] = set()
    for track in findings.get("faces", {}).get("tracks", []):
        for candidate in track.get("candidates", []):
            if candidate.get("member_id") and candidate.get("decision") in (
                    MatchDecision.MATCH, MatchDecision.REVIEW):
                seen.add(UUID(str(candidate["member_id"])))
    return seen


def likeness_work(track: dict[str, Any]) -> UUID | None:
    """The likeness work a recorded face track (findings shape) shows, if its closest
    candidate is a public figure's reference face and it is not a requested cameo."""
    if track.get("verdict") not in (TrackVerdict.OTHER_IDENTITY, TrackVerdict.REVIEW):
        return None
    best = (track.get("candidates") or [{}])[0]
    try:
        return likeness_work_of(str(best.get("subject_id", "")))
    except ValueError:
        return None


@dataclass(frozen=True)
class SubjectMatch:
    """A candidate for one track: its distance from the track's mean template and how many
    of the track's frames match it on their own."""

    subject_id: str
    distance: float
    decision: MatchDecision
    frames_matching: int
    is_cameo: bool


@dataclass(frozen=True)
class FaceTrackFinding:
    """One person's appearance in a video, followed across the sampled frames."""

    track_id: int
    first_seconds: float
    last_seconds: float
    frames: int
    largest_face_px: float
    median_sharpness: float
    candidates: tuple[SubjectMatch, ...]
    verdict: TrackVerdict
    # The track's mean template: kept sealed by the worker (domain.faces.generation_key),
    # never recorded in plain.
    template: FaceTemplate | None = None

    @property
    def best(self) -> SubjectMatch | None:
        return self.candidates[0] if self.candidates else None


@dataclass(frozen=True)
class FaceScanReport:
    """Everything the face scan of one video found, with the model that judged it. Faces
    smaller than the model's `min_face_px` are not detected, hence never judged."""

    model_id: str
    frames_sampled: int
    tracks: tuple[FaceTrackFinding, ...]
    stage_seconds: tuple[tuple[str, float], ...] = ()

    def with_verdict(self, verdict: TrackVerdict) -> tuple[FaceTrackFinding, ...]:
        return tuple(track for track in self.tracks if track.verdict is verdict)
