"""The face-track templates that videos' scans kept, following the log (docs/followers.md):
what the retroactive scan of a newly verified member compares with (`PublishedFaces`).

Each template stays sealed in memory under its video's key (domain.faces.generation_key)
and is opened only for a comparison; a video deleted or rejected drops out here, and the
face index follower destroys its key, which shreds every copy of its templates."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic

from domain.faces import FaceTemplate, FaceThresholds, generation_key
from domain.generation import Generation
from domain.retroactive import ALREADY_COMPARED
from domain.services.log_follower import LogFollower, Positioned
from domain.verification import TemplateSealer


class PublishedFaceTracks:
    topics = tuple(get_topic(c) for c in (Generation.Scanned, Generation.Deleted,
                                          Generation.Rejected))

    def __init__(self, app: Any, sealer: TemplateSealer, thresholds: FaceThresholds) -> None:
        self.sealer = sealer
        self.thresholds = thresholds
        # generation -> (the face model, its tracks' sealed templates); only scans that ran
        # the face model and kept a template for every track they found
        self.kept: dict[UUID, tuple[str, tuple[bytes, ...]]] = {}
        self.scanned_at: dict[UUID, int] = {}  # generation -> log position of its scan
        self.follower = LogFollower(app, self)

    def apply(self, events: Iterable[Positioned]) -> None:
        for position, event in events:
            if isinstance(event, Generation.Scanned):
                self.scanned_at[event.originator_id] = position
                faces = event.findings.get("faces", {})
                tracks = faces.get("tracks", [])
                if faces.get("configured") and not faces.get("error") \
                        and len(event.sealed_tracks) == len(tracks):
                    self.kept[event.originator_id] = (faces.get("model_id", ""),
                                                      tuple(event.sealed_tracks))
            else:
                self.kept.pop(event.originator_id, None)
                self.scanned_at.pop(event.originator_id, None)

    def compare(self, identity_id: str, sealed_template: bytes,
                generation_ids: Sequence[UUID],
                scanned_between: tuple[int, int] | None = None) -> dict[UUID, str | None]:
        self.follower.catch_up()
        try:
            probe = self.sealer.open(identity_id, sealed_template)
        except ValueError:  # not a template this vault sealed: nothing can be compared
            return {}
        if probe is None:  # erased
            return {}
        decided = {}
        after, up_to = scanned_between or (-1, 2**63)
        for gid in generation_ids:
            time.sleep(0)  # hands the interpreter to a waiting request (the scan is a thread)
            at = self.scanned_at.get(gid)
            decided[gid] = ALREADY_COMPARED if at is not None and not after < at <= up_to \
                else self._decide(probe, gid)
        return decided

    def _decide(self, probe: FaceTemplate, generation_id: UUID) -> str | None:
        kept = self.kept.get(generation_id)
        if kept is None or kept[0] != probe.model_id \
                or probe.model_id != self.thresholds.model_id:
            return None
        templates = []
        for sealed in kept[1]:
            try:
                template = self.sealer.open(generation_key(generation_id), sealed)
            except ValueError:  # tampered, or sealed by another vault: not comparable
                return None
            if template is None:  # its key destroyed: the video is gone
                return None
            templates.append(template)
        if not templates:
            return "no_match"  # the scan found no face in it
        return str(self.thresholds.decide(min(t.distance(probe) for t in templates)))
