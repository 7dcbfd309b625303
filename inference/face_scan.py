"""Face scan of a generated video: sample frames at a fixed rate, detect and embed faces,
follow each person across frames as a track, and match every track against the request's
cameos and the 1:N index of enrolled identities, with per-track scores and verdicts."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median

import numpy as np

from domain.faces import (
    DetectedFace,
    FaceAnalyzer,
    FaceAnalyzerNotConfiguredError,
    FaceIndex,
    FaceScanReport,
    FaceTemplate,
    FaceTrackFinding,
    IncomparableTemplatesError,
    MatchDecision,
    SubjectMatch,
    TrackVerdict,
)
from inference.media_reader import MediaLimits, read_frames

Frame = tuple[float, np.ndarray]


@dataclass(frozen=True)
class ScanSettings:
    """`sample_fps`: frames examined per second of video. `min_face_px`: the smallest face
    judged (default: the model's). A detection joins a track when it is the same person
    (embedding distance within the review band) and either overlaps the track's last box
    (`link_iou`) or is a clear match, seen again within `max_gap_seconds`."""

    sample_fps: float = 2.0
    min_face_px: int | None = None
    link_iou: float = 0.3
    max_gap_seconds: float = 2.0
    index_candidates: int = 3


# Frames handed to the scanners: the bounded reader's limits, at most 1080 lines.
SCAN_LIMITS = MediaLimits(fit_lines=1080)


def sample_frames(source: bytes | Path | str, fps: float,
                  limits: MediaLimits = SCAN_LIMITS) -> Iterator[Frame]:
    """RGB frames at about `fps` per second, with their time in seconds, through the
    bounded reader (every frame decoded and checked; only the sampled ones converted)."""
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    yield from read_frames(data, None, limits, fps=fps)


@dataclass
class _Track:
    track_id: int
    times: list[float] = field(default_factory=list)
    faces: list[DetectedFace] = field(default_factory=list)
    templates: list[FaceTemplate] = field(default_factory=list)

    def recent_mean(self, count: int = 5) -> FaceTemplate:
        return FaceTemplate.mean(self.templates[-count:])

    def add(self, seconds: float, face: DetectedFace, template: FaceTemplate) -> None:
        self.times.append(seconds)
        self.faces.append(face)
        self.templates.append(template)


class FaceScanService:
    """Runs a `FaceAnalyzer` over sampled frames and aggregates per person.

    Why tracks rather than frames: a verdict from the mean embedding of several frames of
    one person is steadier than any single frame (pose, blur and compression vary), and the
    reviewer sees one finding per person instead of one per frame. Linking needs both the
    embedding and the box overlap, so two people crossing paths are not merged."""

    def __init__(self, analyzer: FaceAnalyzer, index: FaceIndex | None = None,
                 settings: ScanSettings | None = None) -> None:
        self.analyzer = analyzer
        self.index = index
        self.settings = settings or ScanSettings()

    @property
    def configured(self) -> bool:
        return self.analyzer.configured

    def scan_video(self, source: bytes | Path | str,
                   cameos: Mapping[str, FaceTemplate] | None = None) -> FaceScanReport:
        frames = sample_frames(source, self.settings.sample_fps)
        return self.scan_frames(frames, cameos)

    def scan_frames(self, frames: Iterable[Frame],
                    cameos: Mapping[str, FaceTemplate] | None = None) -> FaceScanReport:
        if not self.analyzer.configured:
            raise FaceAnalyzerNotConfiguredError("no face model is configured")
        cameos = dict(cameos or {})
        for subject, template in cameos.items():
            if template.model_id != self.analyzer.model_id:
                raise IncomparableTemplatesError(
                    f"cameo {subject} was enrolled with {template.model_id}, the scan uses "
                    f"{self.analyzer.model_id}")
        clock = {"decode": 0.0, "detect": 0.0, "embed": 0.0, "track": 0.0}
        tracks: list[_Track] = []
        sampled = 0
        iterator = iter(frames)
        while True:
            started = time.perf_counter()
            item = next(iterator, None)
            clock["decode"] += time.perf_counter() - started
            if item is None:
                break
            seconds, image = item
            sampled += 1
            started = time.perf_counter()
            faces = self.analyzer.detect(image, self.settings.min_face_px)
            clock["detect"] += time.perf_counter() - started
            started = time.perf_counter()
            templates = self.analyzer.embed(image, faces)
            clock["embed"] += time.perf_counter() - started
            started = time.perf_counter()
            self._link(tracks, seconds, faces, templates)
            clock["track"] += time.perf_counter() - started
        started = time.perf_counter()
        findings = tuple(self._finding(track, cameos) for track in tracks)
        clock["track"] += time.perf_counter() - started
        return FaceScanReport(self.analyzer.model_id, sampled, findings,
                              tuple(clock.items()))

    # -- tracking ----------------------------------------------------------------------
    def _link(self, tracks: list[_Track], seconds: float, faces: list[DetectedFace],
              templates: list[FaceTemplate]) -> None:
        thresholds = self.analyzer.thresholds
        active = [t for t in tracks if seconds - t.times[-1] <= self.settings.max_gap_seconds]
        options = []
        for i, (face, template) in enumerate(zip(faces, templates, strict=True)):
            for track in active:
                # The track's recent mean is steadier than its last frame across pose
                # changes and camera cuts; the last frame wins when the face just changed.
                distance = min(template.distance(track.templates[-1]),
                               template.distance(track.recent_mean()))
                overlap = face.box.iou(track.faces[-1].box)
                if distance <= thresholds.review and (
                        overlap >= self.settings.link_iou or distance <= thresholds.match):
                    options.append((distance, i, track))
        options.sort(key=lambda option: option[0])
        placed: set[int] = set()
        taken: set[int] = set()
        for _, i, track in options:
            if i in placed or track.track_id in taken:
                continue
            track.add(seconds, faces[i], templates[i])
            placed.add(i)
            taken.add(track.track_id)
        for i, (face, template) in enumerate(zip(faces, templates, strict=True)):
            if i not in placed:
                track = _Track(len(tracks))
                track.add(seconds, face, template)
                tracks.append(track)

    # -- matching ----------------------------------------------------------------------
    def _finding(self, track: _Track, cameos: Mapping[str, FaceTemplate]) -> FaceTrackFinding:
        thresholds = self.analyzer.thresholds
        centroid = FaceTemplate.mean(track.templates)
        candidates = []
        for subject, template in cameos.items():
            distance = centroid.distance(template)
            hits = sum(t.distance(template) <= thresholds.match for t in track.templates)
            candidates.append(SubjectMatch(subject, distance, thresholds.decide(distance),
                                           hits, is_cameo=True))
        if self.index is not None and len(self.index):
            frame_hits: dict[str, int] = {}
            for template in track.templates:
                for match in self.index.search(template, self.settings.index_candidates,
                                               thresholds.match):
                    frame_hits[match.subject_id] = frame_hits.get(match.subject_id, 0) + 1
            for match in self.index.search(centroid, self.settings.index_candidates,
                                           thresholds.review):
                if match.subject_id in cameos:
                    continue
                candidates.append(SubjectMatch(
                    match.subject_id, match.distance, thresholds.decide(match.distance),
                    frame_hits.get(match.subject_id, 0), is_cameo=False))
        candidates.sort(key=lambda c: c.distance)
        return FaceTrackFinding(
            track_id=track.track_id,
            first_seconds=track.times[0],
            last_seconds=track.times[-1],
            frames=len(track.times),
            largest_face_px=max(face.size for face in track.faces),
            median_sharpness=median(face.sharpness for face in track.faces),
            candidates=tuple(candidates),
            verdict=_verdict(candidates),
            template=centroid)


def _verdict(candidates: list[SubjectMatch]) -> TrackVerdict:
    near = [c for c in candidates if c.decision is not MatchDecision.NO_MATCH]
    if not near:
        return TrackVerdict.UNKNOWN
    best = near[0]
    if best.decision is MatchDecision.REVIEW:
        return TrackVerdict.REVIEW
    if not best.is_cameo:
        return TrackVerdict.OTHER_IDENTITY
    # The nearest is a cameo, but someone who did not consent is close as well: a person
    # decides rather than the order of two nearly equal distances.
    rivals = [c for c in near[1:] if not c.is_cameo and c.decision is MatchDecision.MATCH]
    return TrackVerdict.REVIEW if rivals else TrackVerdict.CAMEO
