"""Receiving an uploaded file without holding it all in the event loop's hands: the body is
streamed to a private temporary file, hashed as it arrives and cut off past its limit; the
media intake's sandbox reads it from there."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from litestar.concurrency import sync_to_thread

from api.deps import Req
from domain.errors import MediaTooLargeError, ValidationError


@dataclass(frozen=True)
class Upload:
    path: Path
    digest: str  # SHA-256 of the body, hex
    size: int

    def read(self) -> bytes:
        return self.path.read_bytes()


@asynccontextmanager
async def received(request: Req, max_bytes: int) -> AsyncIterator[Upload]:
    """The request body as a temporary file (deleted on exit); 413 `media-too-large` past
    `max_bytes`, 422 when empty."""
    handle, name = tempfile.mkstemp(prefix="consentry-upload-")
    path, sha, size = Path(name), hashlib.sha256(), 0
    try:
        with os.fdopen(handle, "wb") as out:
            async for chunk in request.stream():
                size += len(chunk)
                if size > max_bytes:
                    raise MediaTooLargeError(f"the upload is larger than {max_bytes} bytes",
                                             limit=max_bytes)
                sha.update(chunk)
                await sync_to_thread(out.write, chunk)
        if size == 0:
            raise ValidationError("send the file as the request body")
        yield Upload(path, sha.hexdigest(), size)
    finally:
        path.unlink(missing_ok=True)
