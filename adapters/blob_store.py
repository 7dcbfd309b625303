"""Blobs as files under the data directory, named by their SHA-256 digest (the embedded
default's blob store; production can put an object store behind the same port)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path

from domain.blobs import BlobNotFoundError, check_digest


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
