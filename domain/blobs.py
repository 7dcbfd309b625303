"""The blob store port: content-addressed bytes (reference media, verification uploads,
artifacts) kept outside the event log, which records only their SHA-256 digests."""

from __future__ import annotations

import re
from typing import Protocol

from domain.errors import NotFoundError, ValidationError

_DIGEST = re.compile(r"[0-9a-f]{64}")


class BlobNotFoundError(NotFoundError):
    code = "blob-not-found"


def check_digest(digest: str) -> str:
    """A blob's name is its lowercase SHA-256 hex digest; anything else (a path, a shorter
    name) is refused before it reaches a file system or a bucket."""
    if not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
        raise ValidationError("a blob digest is 64 lowercase hex characters (SHA-256)")
    return digest


class BlobStore(Protocol):
    """Content-addressed storage: the same bytes always get the same name, so `put` is
    idempotent and a digest in an event is enough to find (and verify) the content.
    `media_type` is a hint for stores that keep one (an object store's Content-Type); the
    event that references a blob records its media type either way."""

    def put(self, data: bytes, media_type: str) -> str:
        """Stores `data`; returns its SHA-256 hex digest."""
        ...

    def get(self, digest: str) -> bytes:
        """The bytes stored under `digest`; BlobNotFoundError if there are none."""
        ...

    def exists(self, digest: str) -> bool: ...

    def delete(self, digest: str) -> bool:
        """Removes the blob; False if there was none (deleting twice is harmless)."""
        ...
