"""The rights holders' reference media as this process's match indexes, following the log
(`Work.ReferenceAdded`) from its start; a catch-up costs one query when nothing changed.
Also builds the media-scan ports for the composition root."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eventsourcing.utils import get_topic

from adapters.settings import Settings
from domain.blobs import BlobStore
from domain.media_scan import (
    NotConfiguredReferenceEmbedder,
    ReferenceEmbedder,
    ReferenceHasher,
    SafetyClassifier,
    WorkScanner,
)
from domain.services import Consentry
from domain.services.log_follower import LogFollower, Positioned
from domain.work import Work

if TYPE_CHECKING:
    from inference.clip_models import ClipWorkMatcher
    from inference.perceptual import PdqReferenceIndex

log = logging.getLogger(__name__)

class ReferenceIndexFollower:
    """Feeds the PDQ index (and the embedding matcher, when configured) from
    `Work.ReferenceAdded` through a `LogFollower`: the whole log on the first catch-up,
    then what is new. A withdrawn work's references stay: frames showing it must still
    match, so that WORK-VISUAL rejects them (nothing licenses a withdrawn work)."""

    topics = (get_topic(Work.ReferenceAdded),)

    def __init__(self, app: Consentry, pdq: PdqReferenceIndex, blobs: BlobStore,
                 embeddings: ClipWorkMatcher | None = None, batch: int = 1000) -> None:
        self.pdq = pdq
        self.blobs = blobs
        self.embeddings = embeddings
        self.references = 0
        self.follower = LogFollower(app, self, batch=batch)

    def catch_up(self) -> int:
        """Applies the references recorded since the last call; returns how many."""
        return self.follower.catch_up()

    def apply(self, events: Iterable[Positioned]) -> None:
        for _, event in events:
            self.pdq.add(event.originator_id, event.digest, event.hashes)
            blob = self._embedding(event) if self.embeddings is not None else None
            if self.embeddings is not None and blob is not None:
                self.embeddings.add(event.originator_id, event.digest, blob)
            self.references += 1

    def _embedding(self, event: Any) -> bytes | None:
        if self.embeddings is None or not event.embedding_ref:
            return None
        try:
            return self.blobs.get(event.embedding_ref)
        except Exception:  # a lost blob must not stop the other references loading
            log.exception("embedding %s of work %s is unreadable", event.embedding_ref,
                          event.originator_id)
            return None


@dataclass
class MediaScan:
    """The media-scan ports of one process, built together because they share one model."""

    hasher: ReferenceHasher
    embedder: ReferenceEmbedder
    works: WorkScanner
    safety: SafetyClassifier
    follower: ReferenceIndexFollower


def build_media_scan(settings: Settings, app: Consentry, blobs: BlobStore) -> MediaScan:
    """PDQ always; open_clip embeddings and safety labels only from a configured checkpoint
    file. No checkpoint, or a missing file: the not-configured embedder, which says so (the
    work scan lists "embedding" as unchecked). Safety composes what is installed per
    category (`embedded_safety`: NudeNet for "sexual" with the `nudity` extra, the
    open_clip labels with a checkpoint); every category left without a model holds the
    video for review, and with none at all safety reports itself not configured."""
    from inference.perceptual import PdqReferenceHasher, PdqReferenceIndex
    from inference.safety_composite import embedded_safety
    from inference.work_scan import FrameWorkScanner

    pdq = PdqReferenceIndex()
    checkpoint = settings.clip_checkpoint
    embedder: ReferenceEmbedder
    safety: SafetyClassifier
    matcher: ClipWorkMatcher | None = None
    if checkpoint and Path(checkpoint).is_file():
        from inference.clip_models import (
            ClipWorkMatcher,
            OpenClipModel,
            OpenClipReferenceEmbedder,
            OpenClipSafetyClassifier,
        )

        model = OpenClipModel(settings.clip_model, checkpoint)
        embedder = OpenClipReferenceEmbedder(model)
        matcher = ClipWorkMatcher(model)
        safety = embedded_safety(OpenClipSafetyClassifier(model))
    else:
        reason = f"open_clip checkpoint {checkpoint} does not exist" if checkpoint \
            else "no open_clip checkpoint is configured (CONSENTRY_CLIP_CHECKPOINT)"
        if checkpoint:
            log.warning("%s: image embeddings and safety labels are not configured", reason)
        embedder = NotConfiguredReferenceEmbedder(reason)
        safety = embedded_safety(missing=(reason,))
    follower = ReferenceIndexFollower(app, pdq, blobs, matcher)
    follower.catch_up()
    works = FrameWorkScanner(pdq, matcher, refresh=follower.catch_up)
    return MediaScan(PdqReferenceHasher(), embedder, works, safety, follower)
