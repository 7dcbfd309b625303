"""1:N face search over every enrolled template of one model: an exact numpy scan while the
index is small, a faiss inverted-file index (IVF) once a full scan would be too slow."""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable

import faiss
import numpy as np

from domain.faces import FaceTemplate, IncomparableTemplatesError, IndexMatch, Metric

DEFAULT_EXACT_LIMIT = 50_000
# k-means needs several points per cell; below this many templates IVF makes no sense.
_MIN_IVF_SIZE = 256
_TRAINING_PER_LIST = 32


class TieredFaceIndex:
    """Exact search up to `exact_limit` templates, faiss `IndexIVFFlat` above.

    Why two tiers: below a few tens of thousands of templates one matrix product finds the
    true nearest neighbour in well under a millisecond, with no training and no recall
    loss. Above, an IVF index (faiss: maintained, CPU and GPU builds, exact distances within
    the probed lists) scans only `nprobe` of its k-means cells. IVF rather than HNSW
    because erasure must really remove a template: IVF deletes ids in place, HNSW only
    masks them. The IVF tier is trained when the index is rebuilt (at start-up, from the
    events) with about 2*sqrt(N) cells; templates added later join the nearest cell.

    Cosine models store unit vectors, so squared L2 gives 2*(1 - cos) and one faiss metric
    serves both. The numpy matrix stays the source of truth; faiss holds a copy."""

    def __init__(self, model_id: str, metric: Metric, *,
                 exact_limit: int = DEFAULT_EXACT_LIMIT, nprobe: int = 64) -> None:
        self.model_id = model_id
        self.metric = metric
        self.exact_limit = exact_limit
        self.nprobe = nprobe
        self._lock = threading.RLock()
        self._vectors = np.zeros((0, 0), dtype=np.float32)
        self._norms = np.zeros(0, dtype=np.float32)
        self._subjects: list[str] = []
        self._row: dict[str, int] = {}
        self._ivf: faiss.IndexIVFFlat | None = None

    def __len__(self) -> int:
        return len(self._subjects)

    def __contains__(self, subject_id: object) -> bool:
        return subject_id in self._row

    @property
    def approximate(self) -> bool:
        """True once searches go through the IVF tier (recall just below 1)."""
        return self._ivf is not None

    def add(self, subject_id: str, template: FaceTemplate) -> None:
        vector = self._vector(template)
        with self._lock:
            self._remove(subject_id)
            row = len(self._subjects)
            self._ensure_capacity(row + 1, vector.shape[0])
            self._vectors[row] = vector
            self._norms[row] = float(vector @ vector)
            self._subjects.append(subject_id)
            self._row[subject_id] = row
            if self._ivf is not None:
                self._ivf.add_with_ids(vector[None, :], np.array([row], dtype=np.int64))
            elif self._wants_ivf():
                self._train()

    def remove(self, subject_id: str) -> bool:
        with self._lock:
            return self._remove(subject_id)

    def rebuild(self, entries: Iterable[tuple[str, FaceTemplate]]) -> None:
        latest: dict[str, np.ndarray] = {}
        for subject_id, template in entries:
            latest[subject_id] = self._vector(template)
        dim = next(iter(latest.values())).shape[0] if latest else 0
        vectors = np.stack(list(latest.values())) if latest else np.zeros((0, dim), np.float32)
        self.load(list(latest), vectors)

    def load(self, subject_ids: list[str], vectors: np.ndarray) -> None:
        """Replace the content with one row per subject, already in this model's space (a
        snapshot, or a bulk load); cosine rows are normalised here."""
        if len(subject_ids) != vectors.shape[0] or len(set(subject_ids)) != len(subject_ids):
            raise ValueError("one row per distinct subject is needed")
        # A private copy: removal overwrites rows, which must not touch the caller's array.
        matrix = np.array(vectors, dtype=np.float32, order="C", copy=True)
        if self.metric is Metric.COSINE and matrix.size:
            matrix = matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
        with self._lock:
            self._subjects = list(subject_ids)
            self._row = {subject: row for row, subject in enumerate(self._subjects)}
            self._vectors = matrix if matrix.size else np.zeros((0, 0), dtype=np.float32)
            self._norms = np.einsum("ij,ij->i", self._vectors, self._vectors)
            self._ivf = None
            if self._wants_ivf():
                self._train()

    def search(self, template: FaceTemplate, k: int = 5,
               max_distance: float | None = None) -> list[IndexMatch]:
        query = self._vector(template)
        with self._lock:
            count = len(self._subjects)
            if count == 0 or k <= 0:
                return []
            if query.shape[0] != self._vectors.shape[1]:
                raise IncomparableTemplatesError("template dimension differs from the index")
            if self._ivf is not None:
                found, labels = self._ivf.search(query[None, :], k)
                pairs = [(int(label), float(d2)) for label, d2 in zip(labels[0], found[0],
                                                                      strict=True)
                         if label >= 0]
            else:
                squared = self._norms[:count] - 2.0 * (self._vectors[:count] @ query) \
                    + float(query @ query)
                take = min(k, count)
                nearest = np.argpartition(squared, take - 1)[:take]
                nearest = nearest[np.argsort(squared[nearest])]
                pairs = [(int(row), float(squared[row])) for row in nearest]
            matches = [IndexMatch(self._subjects[row], self._distance(d2)) for row, d2 in pairs]
        if max_distance is not None:
            matches = [m for m in matches if m.distance <= max_distance]
        return matches

    # -- internals ---------------------------------------------------------------------
    def _vector(self, template: FaceTemplate) -> np.ndarray:
        if (template.model_id, template.metric) != (self.model_id, self.metric):
            raise IncomparableTemplatesError(
                f"index of {self.model_id!r} cannot hold or search a {template.model_id!r} "
                "template")
        vector = np.asarray(template.vector, dtype=np.float32)
        if self.metric is Metric.COSINE:
            vector = vector / (float(np.linalg.norm(vector)) or 1.0)
        return vector

    def _distance(self, squared: float) -> float:
        squared = max(0.0, squared)
        return squared / 2.0 if self.metric is Metric.COSINE else math.sqrt(squared)

    def _ensure_capacity(self, rows: int, dim: int) -> None:
        if self._vectors.shape[1] == 0:
            self._vectors = np.zeros((16, dim), dtype=np.float32)
            self._norms = np.zeros(16, dtype=np.float32)
        elif dim != self._vectors.shape[1]:
            raise IncomparableTemplatesError("template dimension differs from the index")
        if rows > self._vectors.shape[0]:
            grown = max(rows, self._vectors.shape[0] * 2)
            vectors = np.zeros((grown, dim), dtype=np.float32)
            vectors[: self._vectors.shape[0]] = self._vectors
            norms = np.zeros(grown, dtype=np.float32)
            norms[: self._norms.shape[0]] = self._norms
            self._vectors, self._norms = vectors, norms

    def _remove(self, subject_id: str) -> bool:
        row = self._row.pop(subject_id, None)
        if row is None:
            return False
        last = len(self._subjects) - 1
        if self._ivf is not None:
            # Rows are the faiss ids, so moving the last row into the hole renames it too.
            doomed = np.array([row, last] if row != last else [row], dtype=np.int64)
            self._ivf.remove_ids(faiss.IDSelectorArray(doomed.size, faiss.swig_ptr(doomed)))
        if row != last:
            moved = self._subjects[last]
            self._vectors[row] = self._vectors[last]
            self._norms[row] = self._norms[last]
            self._subjects[row] = moved
            self._row[moved] = row
            if self._ivf is not None:
                self._ivf.add_with_ids(self._vectors[row][None, :],
                                       np.array([row], dtype=np.int64))
        # Overwrite the freed row so that no copy of an erased template stays in memory.
        self._vectors[last] = 0.0
        self._norms[last] = 0.0
        self._subjects.pop()
        return True

    def _wants_ivf(self) -> bool:
        return len(self._subjects) > max(self.exact_limit, _MIN_IVF_SIZE)

    def _train(self) -> None:
        count = len(self._subjects)
        data = self._vectors[:count]
        dim = data.shape[1]
        lists = max(16, int(2 * math.sqrt(count)))
        sample_size = min(count, lists * _TRAINING_PER_LIST)
        sample = data[np.random.default_rng(0).choice(count, sample_size, replace=False)]
        quantizer = faiss.IndexFlatL2(dim)
        ivf = faiss.IndexIVFFlat(quantizer, dim, lists, faiss.METRIC_L2)
        # Ten k-means rounds on ~32 points per cell place the cells well enough for search
        # and keep a rebuild of a million templates to seconds.
        ivf.cp.niter = 10
        ivf.cp.min_points_per_centroid = 1
        ivf.train(sample)
        # A hash-table direct map makes removal by id proportional to one list, not to N.
        ivf.set_direct_map_type(faiss.DirectMap.Hashtable)  # type: ignore[attr-defined]
        ivf.add_with_ids(data, np.arange(count, dtype=np.int64))
        ivf.nprobe = min(self.nprobe, lists)
        self._ivf = ivf
