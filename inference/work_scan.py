"""The protected-work scan of a generated video's sampled frames: PDQ against every live
reference, plus image-embedding similarity when an embedding model is configured."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from domain.media_scan import EMBEDDING, PDQ, Frames, WorkMatch, WorkScanReport
from inference.perceptual import PdqReferenceIndex, hash_frames

log = logging.getLogger(__name__)


class EmbeddingMatcher(Protocol):
    def match(self, frames: Sequence[tuple[float, Any]]) -> list[WorkMatch]: ...


class FrameWorkScanner:
    """`WorkScanner` over a `PdqReferenceIndex` and an optional embedding matcher. Without
    one the report lists "embedding" in `unchecked`: PDQ alone misses a work redrawn in
    another style, and the policy must know that nobody looked for it.

    `refresh` runs before every scan (the reference-index follower's `catch_up`), so a
    worker process sees references added through another process without restarting."""

    def __init__(self, pdq: PdqReferenceIndex, embeddings: EmbeddingMatcher | None = None,
                 refresh: Callable[[], object] | None = None) -> None:
        self.pdq = pdq
        self.embeddings = embeddings
        self.refresh = refresh

    @property
    def configured(self) -> Mapping[str, bool]:
        return {PDQ: True, EMBEDDING: self.embeddings is not None}

    def scan(self, frames: Frames) -> WorkScanReport:
        if self.refresh is not None:
            self.refresh()
        frames = list(frames)
        hashed = hash_frames(frames)
        matches = self.pdq.match(hashed)
        unchecked: tuple[str, ...] = (EMBEDDING,)
        if self.embeddings is not None:
            matches += self.embeddings.match(frames)
            unchecked = ()
        return WorkScanReport(tuple(matches), unchecked, hashed.sampled, hashed.usable,
                              hashed.frame_hex)
