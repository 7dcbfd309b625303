"""Description vectors kept on disk (SQLite), keyed by model and text digest, so that a
process starting on 100,000 works embeds only the descriptions it has not seen before
(MiniLM embeds ~150 a second on one core: minutes for the whole catalogue)."""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = ["SqliteVectorCache"]


class SqliteVectorCache:
    """float32 vectors by (model id, SHA-256 of the text). Holds no personal data: work
    descriptions are public catalogue text. Thread-safe (one connection, one lock)."""

    def __init__(self, path: Path | str) -> None:
        self._db = sqlite3.connect(str(path), check_same_thread=False)
        self._db.execute("CREATE TABLE IF NOT EXISTS vectors (model TEXT NOT NULL, "
                         "digest BLOB NOT NULL, vector BLOB NOT NULL, "
                         "PRIMARY KEY (model, digest))")
        self._db.commit()
        self._lock = threading.Lock()

    @staticmethod
    def _digest(text: str) -> bytes:
        return hashlib.sha256(text.encode()).digest()

    def get_many(self, model: str, texts: Sequence[str]) -> list[np.ndarray | None]:
        digests = [self._digest(t) for t in texts]
        found: dict[bytes, np.ndarray] = {}
        with self._lock:
            for start in range(0, len(digests), 500):
                chunk = digests[start:start + 500]
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(
                    f"SELECT digest, vector FROM vectors WHERE model = ? "  # noqa: S608
                    f"AND digest IN ({marks})", (model, *chunk))
                found.update((d, np.frombuffer(v, dtype=np.float32)) for d, v in rows)
        return [found.get(d) for d in digests]

    def put_many(self, model: str, texts: Sequence[str], vectors: np.ndarray) -> None:
        rows = [(model, self._digest(t), np.asarray(v, dtype=np.float32).tobytes())
                for t, v in zip(texts, vectors, strict=True)]
        with self._lock:
            self._db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)", rows)
            self._db.commit()

    def close(self) -> None:
        self._db.close()
