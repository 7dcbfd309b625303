"""Hamming search of 256-bit PDQ hashes at bank scale (10^6 and more), by multi-index hashing
(Norouzi, Punjani and Fleet, "Fast search in Hamming space with multi-index hashing", 2012):
each hash is cut into 16 chunks of 16 bits, and each chunk position has a table from chunk
value to the hashes holding it (CSR: one sorted array of hash numbers, one offsets array).
Two hashes within distance r have some chunk within floor(r / 16) bits of each other, so
probing every chunk value within `nflip` bits of the query's finds every hash within
16 * (nflip + 1) - 1 bits: with nflip=1, all within 31 (PDQ's match distance) exactly.
Hashes farther off (the review band, up to 45) are found when some chunk is within one bit,
which is most of them; `benchmarks.hash_bank` measures how many against a linear scan.

faiss was measured first (it is a dependency): `IndexBinaryFlat` is the linear scan (35 ms
for a 20-frame clip against 10^6 on one core), and `IndexBinaryMultiHash` kept 335 bytes a
hash and answered slower than this table at nflip=1; see docs/takedowns.md.

Memory: 32 bytes of hash, 16 table entries of 3 bytes (4 beyond 2^24 hashes), a key per run
of one key's hashes, and 16 x 65,537 x 4 bytes of offsets (4 MB in all): about 85 bytes a
hash at 10^6. New hashes go to a small tail that is scanned linearly and merged into the
tables once it grows (`merge_at`)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

import numpy as np

from domain.faces import MatchDecision
from domain.hash_bank import HashMatch
from domain.media_scan import FrameVotePolicy

CHUNKS = 16
CHUNK_VALUES = 1 << 16
MATCH = 31  # PDQ's recommended match distance
REVIEW = 45


def words_of(hexes: Sequence[str]) -> np.ndarray:
    """Hex PDQ hashes as an (N, 4) uint64 matrix (the byte order of the hex form)."""
    raw = b"".join(bytes.fromhex(h) for h in hexes)
    return np.frombuffer(raw, dtype=np.uint64).reshape(-1, 4).copy()


def _flips(nflip: int) -> np.ndarray:
    masks = [0]
    if nflip >= 1:
        masks += [1 << i for i in range(16)]
    if nflip >= 2:
        masks += [(1 << i) | (1 << j) for i in range(16) for j in range(i + 1, 16)]
    return np.array(masks, np.uint16)


@dataclass(frozen=True)
class _Tables:
    columns: np.ndarray  # (4, N) uint64: the hashes word by word (for the verification)
    # per chunk, hash numbers by chunk value: 3 bytes each (uint8, padded) up to 2^24
    # hashes, else uint32
    order: np.ndarray
    offsets: np.ndarray  # (16 * 65537,) uint32: where each chunk value starts in order
    run_starts: np.ndarray  # (R,) first hash number of each run of one key's hashes
    run_keys: np.ndarray  # (R,) uint32 key number of each run

    @property
    def size(self) -> int:
        return int(self.columns.shape[1])

    @classmethod
    def build(cls, codes: np.ndarray, run_starts: np.ndarray, run_keys: np.ndarray
              ) -> _Tables:
        n = len(codes)
        chunks = codes.view(np.uint16).reshape(n, CHUNKS)
        order = np.empty(CHUNKS * n, "<u4")
        offsets = np.empty(CHUNKS * (CHUNK_VALUES + 1), np.int64)
        for c in range(CHUNKS):
            column = chunks[:, c]
            order[c * n:(c + 1) * n] = np.argsort(column, kind="stable")
            counts = np.bincount(column, minlength=CHUNK_VALUES)
            block = offsets[c * (CHUNK_VALUES + 1):(c + 1) * (CHUNK_VALUES + 1)]
            block[0] = c * n
            np.cumsum(counts, out=block[1:])
            block[1:] += c * n
        if n > 1 << 24:
            packed = order
        else:  # 3 bytes each, and one byte of padding so the last reads 4
            packed = np.zeros(CHUNKS * n * 3 + 1, np.uint8)
            packed[:-1] = order.view(np.uint8).reshape(-1, 4)[:, :3].ravel()
        return cls(np.ascontiguousarray(codes.T), packed, offsets.astype(np.uint32),
                   run_starts, run_keys)

    @property
    def nbytes(self) -> int:
        return int(self.columns.nbytes + self.order.nbytes + self.offsets.nbytes
                   + self.run_starts.nbytes + self.run_keys.nbytes)

    def _ids_at(self, positions: np.ndarray) -> np.ndarray:
        if self.order.dtype != np.uint8:
            return self.order[positions].astype(np.intp)
        # little-endian uint32 read every 3 bytes, the top byte masked off
        words = np.ndarray((self.size * CHUNKS,), "<u4", self.order.data, 0, (3,))
        return (words[positions] & 0xFFFFFF).astype(np.intp)

    def owner_of(self, ids: np.ndarray) -> np.ndarray:
        return self.run_keys[np.searchsorted(self.run_starts, ids, side="right") - 1]

    def candidates(self, queries: np.ndarray, flips: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
        """(query row, hash number) of every hash sharing a chunk within the flips."""
        q = len(queries)
        if not self.size or not q:
            return np.zeros(0, np.intp), np.zeros(0, np.intp)
        chunks = queries.view(np.uint16).reshape(q, CHUNKS)
        keys = (chunks[:, :, None] ^ flips[None, None, :]).astype(np.int64)
        keys += (np.arange(CHUNKS, dtype=np.int64) * (CHUNK_VALUES + 1))[None, :, None]
        lo = self.offsets[keys].ravel().astype(np.int64)
        count = self.offsets[keys + 1].ravel().astype(np.int64) - lo
        total = int(count.sum())
        if not total:
            return np.zeros(0, np.intp), np.zeros(0, np.intp)
        starts = np.cumsum(count) - count
        positions = np.repeat(lo - starts, count) + np.arange(total)
        rows = np.repeat(np.repeat(np.arange(q), CHUNKS * len(flips)), count)
        return rows, self._ids_at(positions)

    def distances(self, queries: np.ndarray, rows: np.ndarray, ids: np.ndarray) -> np.ndarray:
        total = np.bitwise_count(self.columns[0][ids] ^ queries[rows, 0]).astype(np.uint16)
        for k in range(1, 4):
            total += np.bitwise_count(self.columns[k][ids] ^ queries[rows, k])
        return total


_NO_TABLES = _Tables.build(np.zeros((0, 4), np.uint64), np.zeros(0, np.int64),
                           np.zeros(0, np.uint32))


class PdqMultiIndex:
    """PDQ hashes grouped by key (a bank entry, a generation), searched by Hamming
    distance; keys can be switched off (a disabled entry, a video taken down) and on again.
    Thread-safe: writers take a lock; a search reads an immutable snapshot."""

    def __init__(self, nflip: int = 1, merge_at: int = 50_000,
                 votes: FrameVotePolicy | None = None) -> None:
        self.flips = _flips(nflip)
        self.merge_at = merge_at
        self.votes = votes or FrameVotePolicy()
        self._lock = threading.Lock()
        self._keys: list[UUID] = []
        self._number: dict[UUID, int] = {}
        self._active = np.zeros(0, bool)
        self._counts: list[int] = []  # hashes per key number
        self._tables = _NO_TABLES
        self._tail: list[tuple[int, np.ndarray]] = []  # (key number, (n, 4) words)
        self._tail_snapshot: tuple[np.ndarray, np.ndarray] | None = None

    def __len__(self) -> int:
        return self._tables.size + sum(len(w) for _, w in self._tail)

    @property
    def nbytes(self) -> int:
        return self._tables.nbytes

    def add(self, key: UUID, hexes: Sequence[str], active: bool = True) -> None:
        words = words_of(hexes) if hexes else np.zeros((0, 4), np.uint64)
        with self._lock:
            number = self._number.get(key)
            if number is None:
                number = self._number[key] = len(self._keys)
                self._keys.append(key)
                self._counts.append(0)
                self._active = np.append(self._active, active)
            self._active[number] = active
            self._counts[number] += len(words)
            if len(words):
                self._tail.append((number, words))
                self._tail_snapshot = None
            if sum(len(w) for _, w in self._tail) >= self.merge_at:
                self._merge()

    def add_many(self, items: Sequence[tuple[UUID, np.ndarray]]) -> None:
        """Bulk load of (key, (n, 4) words), then one table build (a follower's first
        catch-up, a benchmark)."""
        with self._lock:
            for key, words in items:
                number = self._number.get(key)
                if number is None:
                    number = self._number[key] = len(self._keys)
                    self._keys.append(key)
                    self._counts.append(0)
                self._counts[number] += len(words)
                self._tail.append((number, words))
            self._active = np.append(self._active, np.ones(len(self._keys) - len(self._active),
                                                           bool))
            self._merge()

    def set_active(self, key: UUID, active: bool) -> None:
        with self._lock:
            number = self._number.get(key)
            if number is not None:
                active_now = self._active.copy()
                active_now[number] = active
                self._active = active_now  # a search holds the array it started with

    def _merge(self) -> None:
        if not self._tail:
            return
        old = self._tables
        sizes = np.array([len(w) for _, w in self._tail], np.int64)
        starts = old.size + np.cumsum(sizes) - sizes
        self._tables = _Tables.build(
            np.concatenate([old.columns.T, *(w for _, w in self._tail)]),
            np.concatenate([old.run_starts, starts]),
            np.concatenate([old.run_keys, np.array([n for n, _ in self._tail], np.uint32)]))
        self._tail = []
        self._tail_snapshot = None

    def _snapshot(self) -> tuple[_Tables, np.ndarray, np.ndarray, np.ndarray, list[UUID]]:
        with self._lock:
            if self._tail_snapshot is None:
                self._tail_snapshot = (
                    np.concatenate([w for _, w in self._tail]) if self._tail
                    else np.zeros((0, 4), np.uint64),
                    np.concatenate([np.full(len(w), n, np.uint32) for n, w in self._tail])
                    if self._tail else np.zeros(0, np.uint32))
            tail, tail_owner = self._tail_snapshot
            return self._tables, tail, tail_owner, self._active, self._keys

    def search(self, hexes: Sequence[str], radius: int = REVIEW
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[UUID]]:
        """(query row, key number, distance) of every active hash within `radius` of a
        query (see the module's note for which ones are certain to be found), and the keys
        by number."""
        rows, numbers, distance, keys, _ = self._search(hexes, radius)
        return rows, numbers, distance, keys

    def _search(self, hexes: Sequence[str], radius: int
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[UUID], np.ndarray]:
        tables, tail, tail_owner, active, keys = self._snapshot()
        queries = words_of(hexes) if hexes else np.zeros((0, 4), np.uint64)
        rows, ids = tables.candidates(queries, self.flips)
        distance = tables.distances(queries, rows, ids)
        near = distance <= radius
        rows, ids, distance = rows[near], ids[near], distance[near]
        found = tables.owner_of(ids)
        if len(tail):  # the recent additions, linearly
            t_rows = np.repeat(np.arange(len(queries)), len(tail))
            t_ids = np.tile(np.arange(len(tail)), len(queries))
            t_dist = np.bitwise_count(tail[t_ids] ^ queries[t_rows]).sum(axis=1)
            keep = t_dist <= radius
            rows = np.concatenate([rows, t_rows[keep]])
            ids = np.concatenate([ids, t_ids[keep] + tables.size])
            found = np.concatenate([found, tail_owner[t_ids[keep]]])
            distance = np.concatenate([distance, t_dist[keep].astype(np.uint16)])
        live = active[found] if len(found) else np.zeros(0, bool)
        return rows[live], found[live].astype(np.intp), distance[live], keys, ids[live]

    def showing(self, hexes: Sequence[str]) -> list[HashMatch]:
        """The other way round: keys (videos) whose own frames show one of `hexes` (a
        reference's hashes), judged the vPDQ way over each key's frames."""
        _, numbers, distance, keys, ids = self._search(hexes, REVIEW)
        found: list[HashMatch] = []
        for number in np.unique(numbers):
            mine = numbers == number
            order = np.lexsort((distance[mine], ids[mine]))
            hids, dist = ids[mine][order], distance[mine][order]
            first = np.r_[True, hids[1:] != hids[:-1]]
            best = dist[first]  # each of the key's hashes at its best
            matched = int((best <= MATCH).sum())
            near = int(((best > MATCH) & (best <= REVIEW)).sum())
            frames = int(self._counts[int(number)])
            found.append(HashMatch(keys[int(number)], self.votes.decide(matched, near, frames),
                                   matched, near, int(best.min())))
        return sorted(found, key=lambda m: (m.decision != MatchDecision.MATCH, m.distance))

    def matches(self, frame_hashes: Sequence[str]) -> list[HashMatch]:
        """One decision per key whose hashes came within the review distance of some frame:
        per frame its best distance to the key, then the vPDQ vote over the usable
        frames."""
        rows, numbers, distance, keys = self.search(frame_hashes)
        if not len(rows):
            return []
        frames = len(frame_hashes)
        found: list[HashMatch] = []
        for number in np.unique(numbers):
            mine = numbers == number
            best = np.full(frames, 257, np.int64)
            np.minimum.at(best, rows[mine], distance[mine].astype(np.int64))
            matched = int((best <= MATCH).sum())
            near = int(((best > MATCH) & (best <= REVIEW)).sum())
            decision = self.votes.decide(matched, near, frames)
            found.append(HashMatch(keys[int(number)], decision, matched, near,
                                   int(best.min())))
        return sorted(found, key=lambda m: (m.decision != MatchDecision.MATCH, m.distance))
