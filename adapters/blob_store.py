"""Blobs as files under the data directory, named by their SHA-256 digest (the embedded
default's blob store; production uses an S3-compatible bucket, adapters/blob_store_s3.py)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path

from adapters.settings import Settings
from domain.blobs import BlobNotFoundError, BlobStore, check_digest


class LocalFileBlobStore:
    """`root/ab/cdef...`: the first two hex characters name a directory, so no directory
    grows past 1/256 of the blobs. A write goes to a temporary file in the target directory,
    is flushed to disk, then renamed into place: readers see the whole blob or none of it,
    and two processes writing the same content race harmlessly (same bytes, same name)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._tmp: tempfile.TemporaryDirectory[str] | None = None

    @classmethod
    def temporary(cls) -> LocalFileBlobStore:
        """A store in a fresh temporary directory, removed when the store is garbage
        collected or the process exits (for `store=memory`, where nothing outlives it)."""
        tmp = tempfile.TemporaryDirectory(prefix="consentry-blobs-")
        store = cls(Path(tmp.name))
        store._tmp = tmp
        return store

    def path(self, digest: str) -> Path:
        check_digest(digest)
        return self.root / digest[:2] / digest[2:]

    def put(self, data: bytes, media_type: str = "application/octet-stream") -> str:
        digest = hashlib.sha256(data).hexdigest()
        target = self.path(digest)
        if target.exists():
            return digest
        target.parent.mkdir(exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(temp, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
            raise
        return digest

    def get(self, digest: str) -> bytes:
        try:
            return self.path(digest).read_bytes()
        except FileNotFoundError:
            raise BlobNotFoundError("blob not found", digest=digest) from None

    def exists(self, digest: str) -> bool:
        return self.path(digest).is_file()

    def delete(self, digest: str) -> bool:
        try:
            self.path(digest).unlink()
        except FileNotFoundError:
            return False
        return True


def build_blob_store(settings: Settings) -> BlobStore:
    """The store the settings choose: an S3-compatible bucket (checked at start), else files
    under the data directory (a temporary one for `store=memory`, where nothing outlives it)."""
    location = settings.s3_location()
    if location is not None:
        from adapters.blob_store_s3 import S3BlobStore

        bucket, prefix = location
        return S3BlobStore(bucket, prefix=prefix, endpoint_url=settings.s3_endpoint or None,
                           region=settings.s3_region or None)
    if settings.store == "memory":
        return LocalFileBlobStore.temporary()
    return LocalFileBlobStore(settings.data_dir / "blobs")
