"""The semantic matcher's description index past its exact tier (faiss IVF), with a
deterministic stand-in embedder: adds, replacements and removals stay exact."""

from __future__ import annotations

import hashlib
from uuid import UUID, uuid4

import numpy as np
import pytest

from inference.semantic import EmbeddingWorkMatcher

pytestmark = pytest.mark.unit


class HashEmbedder:
    """Each distinct text gets its own random unit vector: equal texts are similarity 1."""

    model_id = "hash-embedder"
    dimension = 256

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        return np.stack([self.embed(t) for t in texts]) if texts else np.zeros((0, 256))

    def embed(self, text: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
        vector = np.random.default_rng(seed).normal(size=self.dimension).astype(np.float32)
        return vector / np.linalg.norm(vector)


def test_thousands_of_works_past_the_exact_tier_are_found_added_and_removed():
    matcher = EmbeddingWorkMatcher(HashEmbedder(), exact_limit=500)
    works = [(uuid4(), (f"Work {i:04d} name",), f"description {i}") for i in range(2000)]
    matcher.bulk_load(works)
    target: UUID = works[1234][0]
    [hit] = matcher.find("description 1234")
    assert hit.work_id == target and hit.decision == "match" and hit.score > 0.99
    late = uuid4()
    matcher.add(late, ("Latecomer",), "description late")
    assert [h.work_id for h in matcher.find("description late")] == [late]
    matcher.add(target, ("Work 1234 name",), "a new description")
    assert matcher.find("description 1234") == []
    matcher.remove(late)
    assert matcher.find("description late") == [] and len(matcher) == 2000


class CountingEmbedder(HashEmbedder):
    def __init__(self) -> None:
        self.encoded = 0

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        self.encoded += len(texts)
        return super().encode(texts, batch_size)


def test_a_restart_embeds_only_descriptions_it_has_not_seen(tmp_path):
    from inference.vector_cache import SqliteVectorCache

    works = [(uuid4(), (f"Work {i}",), f"description {i}") for i in range(50)]
    first = CountingEmbedder()
    EmbeddingWorkMatcher(first, cache=SqliteVectorCache(tmp_path / "v.sqlite3")).bulk_load(
        works)
    again = CountingEmbedder()
    matcher = EmbeddingWorkMatcher(again, cache=SqliteVectorCache(tmp_path / "v.sqlite3"))
    matcher.bulk_load([*works, (uuid4(), ("New",), "a new description")])
    assert (first.encoded, again.encoded) == (50, 1)
    [hit] = matcher.find("description 7")
    assert hit.work_id == works[7][0] and hit.score > 0.99
