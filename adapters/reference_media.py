"""Indexing a rights holder's reference upload: perceptual hashes, an embedding when a model
is configured and, for a public figure's likeness work, the template of the largest face in
it, sealed under the work's key, which the 1:N face index enrols from the event. CPU-bound:
callers run it off the event loop."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from domain.faces import likeness_key
from domain.work import Work

if TYPE_CHECKING:
    from adapters.bootstrap import Container

EMBEDDING_MEDIA_TYPE = "application/x-consentry-embeddings"
FACE_SEARCH_FRAMES = 10  # of a clip: the first sampled frames searched for a face


@dataclass(frozen=True)
class IndexedReference:
    hashes: dict[str, str]
    embedding_ref: str  # the stored embedding's digest; "" without a model
    face_template: bytes = b""  # sealed; only for a likeness work with a face in it
    face_model_id: str = ""


def index_reference(c: Container, work: Work, body: bytes, media_type: str
                    ) -> IndexedReference:
    hashes = c.reference_hasher.hash_reference(body, media_type) if c.reference_hasher else {}
    embedding = c.reference_embedder.embed_reference(body, media_type) \
        if c.reference_embedder is not None and c.reference_embedder.configured else None
    embedding_ref = c.blobs.put(embedding, EMBEDDING_MEDIA_TYPE) if embedding else ""
    if work.kind != "likeness" or not c.face_analyzer.configured:
        return IndexedReference(hashes, embedding_ref)
    from inference.perceptual import reference_frames

    analyzer = c.face_analyzer
    for index, (_, frame) in enumerate(reference_frames(body, media_type)):
        if index >= FACE_SEARCH_FRAMES:
            break
        faces = analyzer.detect(frame)  # largest first
        if faces:
            template = analyzer.embed(frame, faces[:1])[0]
            return IndexedReference(hashes, embedding_ref,
                                    c.vault.seal(likeness_key(work.id), template),
                                    analyzer.model_id)
    return IndexedReference(hashes, embedding_ref)
