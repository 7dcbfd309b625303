"""The rights holders' reference media as this process's match indexes: rebuilt from the
log at start (`Work.ReferenceAdded`, `Work.Withdrawn`), then caught up from the last
position it read, which costs one topic-filtered query when nothing changed. Also builds
the media-scan ports for the composition root."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.utils import get_topic

from adapters.settings import Settings
from domain.blobs import BlobStore
from domain.media_scan import (
    NotConfiguredReferenceEmbedder,
    NotConfiguredSafetyClassifier,
    ReferenceEmbedder,
    ReferenceHasher,
    SafetyClassifier,
    WorkScanner,
)
from domain.services import Consentry
from domain.work import Work

if TYPE_CHECKING:
    from inference.clip_models import ClipWorkMatcher
    from inference.perceptual import PdqReferenceIndex

log = logging.getLogger(__name__)

REFERENCE_TOPICS = [get_topic(Work.ReferenceAdded), get_topic(Work.Withdrawn)]


class ReferenceIndexFollower:
    """Feeds the PDQ index (and the embedding matcher, when configured) from the events.
    Thread-safe: the scan of one job and the catch-up of another may overlap."""

    def __init__(self, app: Consentry, pdq: PdqReferenceIndex, blobs: BlobStore,
                 embeddings: ClipWorkMatcher | None = None, batch: int = 1000) -> None:
        self.app = app
        self.pdq = pdq
        self.blobs = blobs
        self.embeddings = embeddings
        self.batch = batch
        self.position = 0
        self._lock = threading.Lock()

    def _events(self) -> Iterable[Any]:
        for position, event in self.app.events_since(self.position, REFERENCE_TOPICS,
                                                     self.batch):
            yield event
            self.position = position

    def rebuild(self) -> int:
        """Replaces the indexes' content with the live references in the log; returns how
        many there are."""
        with self._lock:
            self.position = 0
            live: dict[tuple[UUID, str], Any] = {}
            for event in self._events():
                if isinstance(event, Work.Withdrawn):
                    live = {k: v for k, v in live.items() if k[0] != event.originator_id}
                else:
                    live[(event.originator_id, event.digest)] = event
            self.pdq.rebuild((w, d, e.hashes) for (w, d), e in live.items())
            if self.embeddings is not None:
                self.embeddings.rebuild((w, d, blob) for (w, d), e in live.items()
                                        if (blob := self._embedding(e)) is not None)
            return len(live)

    def catch_up(self) -> int:
        """Applies the reference events recorded since the last call; returns how many."""
        with self._lock:
            applied = 0
            for event in self._events():
                applied += 1
                if isinstance(event, Work.Withdrawn):
                    self.pdq.remove_work(event.originator_id)
                    if self.embeddings is not None:
                        self.embeddings.remove_work(event.originator_id)
                    continue
                self.pdq.add(event.originator_id, event.digest, event.hashes)
                blob = self._embedding(event) if self.embeddings is not None else None
                if self.embeddings is not None and blob is not None:
                    self.embeddings.add(event.originator_id, event.digest, blob)
            return applied

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
    file. No checkpoint, or a missing file: the not-configured ports, which say so (the
    work scan lists "embedding" as unchecked, safety answers `review`)."""
    from inference.perceptual import PdqReferenceHasher, PdqReferenceIndex
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
        safety = OpenClipSafetyClassifier(model)
    else:
        reason = f"open_clip checkpoint {checkpoint} does not exist" if checkpoint \
            else "no open_clip checkpoint is configured (CONSENTRY_CLIP_CHECKPOINT)"
        if checkpoint:
            log.warning("%s: image embeddings and safety labels are not configured", reason)
        embedder = NotConfiguredReferenceEmbedder(reason)
        safety = NotConfiguredSafetyClassifier(reason)
    follower = ReferenceIndexFollower(app, pdq, blobs, matcher)
    follower.rebuild()
    works = FrameWorkScanner(pdq, matcher, refresh=follower.catch_up)
    return MediaScan(PdqReferenceHasher(), embedder, works, safety, follower)
