"""`SemanticWorkMatcher` on MiniLM sentence embeddings: the prompt against every registered
work's description (exact scan, faiss IVF past 20,000 works), plus misspelt aliases
(`inference/fuzzy_aliases.py`). Scores near the threshold say review."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

import numpy as np

from domain.faces import FaceTemplate, Metric
from domain.prompts import AliasHit
from inference.face_index import TieredFaceIndex
from inference.fuzzy_aliases import FuzzyAliasMatcher
from inference.vector_cache import SqliteVectorCache

__all__ = ["DescriptionThresholds", "EmbeddingWorkMatcher", "TextEmbedder"]


class TextEmbedder(Protocol):
    """What the matcher needs of a sentence model: unit vectors, cosine = dot product."""

    model_id: str
    dimension: int

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray: ...

    def embed(self, text: str) -> np.ndarray: ...


@dataclass(frozen=True)
class DescriptionThresholds:
    """Cosine similarity of the prompt to a work's description: `match` and above, the
    prompt describes the work; from `review` up to `match` a person decides. Chosen on
    benchmarks/data/prompt_screening_*.json (see docs/models.md for the figures)."""

    match: float = 0.70
    review: float = 0.60

    def __post_init__(self) -> None:
        if not 0 < self.review <= self.match <= 1:
            raise ValueError("thresholds need 0 < review <= match <= 1")


class EmbeddingWorkMatcher:
    """Fed from the log like the alias index (`add`, `remove`, `bulk_load` at start). The
    description index is the face index's tiered store (`TieredFaceIndex`, cosine): one
    row per work, exact below `exact_limit` rows and an IVF index above, which deletes
    in place. Aliases go to the misspelling matcher; a description hit names the work's
    first alias (its title) and spans the whole prompt, which is what was compared."""

    configured = True

    def __init__(self, embedder: TextEmbedder, *,
                 thresholds: DescriptionThresholds | None = None,
                 fuzzy: FuzzyAliasMatcher | None = None, exact_limit: int = 20_000,
                 candidates: int = 3, cache: SqliteVectorCache | None = None) -> None:
        self.embedder = embedder
        self.model_id = embedder.model_id
        self.thresholds = thresholds or DescriptionThresholds()
        self.fuzzy = fuzzy if fuzzy is not None else FuzzyAliasMatcher()
        self._index = TieredFaceIndex(self.model_id, Metric.COSINE, exact_limit=exact_limit)
        self._titles: dict[str, str] = {}
        self._candidates = candidates
        self._cache = cache
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._titles)

    def add(self, work_id: UUID, aliases: tuple[str, ...], description: str) -> None:
        vector = self._vectors([description])[0] if description.strip() else None
        subject = str(work_id)
        with self._lock:
            self._titles[subject] = aliases[0] if aliases else ""
            self._index.remove(subject)
            if vector is not None:
                self._index.add(subject, self._template(vector))
        self.fuzzy.add(work_id, aliases)

    def remove(self, work_id: UUID) -> None:
        subject = str(work_id)
        with self._lock:
            self._titles.pop(subject, None)
            self._index.remove(subject)
        self.fuzzy.remove(work_id)

    def bulk_load(self, works: Iterable[tuple[UUID, tuple[str, ...], str]],
                  vectors: np.ndarray | None = None) -> None:
        """Replace the content with these works (start-up). `vectors`: their description
        embeddings when already computed (one row per work, in order)."""
        items = list(works)
        described = [i for i, (_, _, text) in enumerate(items) if text.strip()]
        if vectors is None:
            vectors = self._vectors([items[i][2] for i in described])
        else:
            vectors = vectors[described]
        with self._lock:
            self._titles = {str(w): (a[0] if a else "") for w, a, _ in items}
            self._index.load([str(items[i][0]) for i in described], vectors)
        self.fuzzy.bulk_load((w, a) for w, a, _ in items)

    def find(self, prompt: str) -> list[AliasHit]:
        hits = self.fuzzy.find(prompt)
        if not prompt.strip():
            return hits
        query = self._template(self.embedder.embed(prompt))
        with self._lock:
            matches = self._index.search(query, self._candidates,
                                         max_distance=1.0 - self.thresholds.review)
            titles = [self._titles.get(m.subject_id, "") for m in matches]
        for match, title in zip(matches, titles, strict=True):
            score = 1.0 - match.distance
            hits.append(AliasHit(
                work_id=UUID(match.subject_id), alias=title, start=0, end=len(prompt),
                method="semantic", score=round(score, 3), model_id=self.model_id,
                decision="match" if score >= self.thresholds.match else "review"))
        return hits

    def _vectors(self, texts: list[str]) -> np.ndarray:
        """Embeddings of descriptions, from the cache where it has them."""
        if self._cache is None:
            return self.embedder.encode(texts)
        known = self._cache.get_many(self.model_id, texts)
        missing = [i for i, v in enumerate(known) if v is None]
        fresh = self.embedder.encode([texts[i] for i in missing])
        if missing:
            self._cache.put_many(self.model_id, [texts[i] for i in missing], fresh)
        out = np.zeros((len(texts), self.embedder.dimension), dtype=np.float32)
        for i, vector in enumerate(known):
            if vector is not None:
                out[i] = vector
        for row, i in enumerate(missing):
            out[i] = fresh[row]
        return out

    def _template(self, vector: np.ndarray) -> FaceTemplate:
        return FaceTemplate(self.model_id, Metric.COSINE, tuple(vector.tolist()))
