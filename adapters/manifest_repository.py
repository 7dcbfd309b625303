"""The manifest repository behind the C2PA Soft Binding Resolution API and the lookup's
disclosure: each published generation's signed manifest, read from its published file (the
only copy kept, so a manifest is served exactly as it was signed). Blocking; run in a thread."""

from __future__ import annotations

from typing import Any, Protocol
from uuid import UUID

from adapters.c2pa_signing import manifest_store
from domain.errors import NotFoundError
from domain.generation import Generation
from domain.provenance import Disclosure, ProvenanceError, ProvenanceSigner


class AggregateReader(Protocol):
    def get(self, cls: type[Any], aggregate_id: UUID, what: str | None = None) -> Any: ...


class BlobReader(Protocol):
    def get(self, digest: str) -> bytes: ...


class ManifestRepository:
    """Manifests of published generations: a taken-down video keeps its manifest (it still
    says where the video came from); a deleted one has no file and so no manifest."""

    def __init__(self, app: AggregateReader, blobs: BlobReader,
                 signer: ProvenanceSigner) -> None:
        self.app = app
        self.blobs = blobs
        self.signer = signer

    def published_file(self, generation_id: UUID) -> bytes | None:
        try:
            generation = self.app.get(Generation, generation_id)
            if not generation.published_digest or generation.state == "deleted":
                return None
            data: bytes = self.blobs.get(generation.published_digest)
        except NotFoundError:  # no such generation, or its file is gone (BlobNotFoundError)
            return None
        return data

    def store(self, generation_id: UUID) -> bytes | None:
        """The manifest store (application/c2pa) embedded in the published file."""
        published = self.published_file(generation_id)
        return manifest_store(published) if published is not None else None

    def disclosure(self, generation_id: UUID) -> Disclosure | None:
        """What the published file's verified manifest discloses."""
        published = self.published_file(generation_id)
        if published is None:
            return None
        try:
            record = self.signer.read_bytes(published)
        except ProvenanceError:
            return None
        return record.disclosure if record.valid else None
